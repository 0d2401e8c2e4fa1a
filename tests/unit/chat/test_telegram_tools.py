"""Reply packing of the bot's coordinator tools: whole lines only, within Telegram's limit
counted in UTF-16 code units after entity parsing, with a count of what was left out."""

from __future__ import annotations

import pytest

from bot.delivery.telegram.format import MAX_LEN, tg_len
from bot.chat.telegram_tools import fit, report_messages, split_plain
from support.fakebotapi import check_message


@pytest.mark.parametrize("line", [
    '• <a href="https://x.org/a?b=1&amp;c=2">Ναυάγιο &lt;1&gt; &amp; 🚤</a> — PICUM, 3 Nov',
    "• وفاة مهاجرين على الحدود 🆘 " * 3,
    "<code>det-broad</code> 25% " + "😀" * 40,
])
@pytest.mark.parametrize("count", [1, 10, 400])
def test_fit_keeps_whole_lines_within_the_limit(line, count):
    lines = ["<b>Header</b>"] + [f"{i}. {line}" for i in range(count)]
    text = fit(lines)
    assert check_message(text, "HTML") is None          # the fake Bot API's own checks
    assert tg_len(text) <= MAX_LEN
    kept = text.split("\n")
    assert kept[0] == "<b>Header</b>"
    if tg_len("\n".join(lines)) <= MAX_LEN:
        assert kept == lines
    else:
        shown = len(kept) - 2
        assert kept[-1] == f"<i>… and {count - shown} more</i>"
        assert kept[1:-1] == lines[1:1 + shown]
        assert tg_len(text + "\n" + lines[1 + shown]) > MAX_LEN - 30   # nearly full, not cut early


def test_fit_small_limit_and_keep():
    lines = ["head", "second", "a" * 50, "b" * 50]
    assert fit(lines, 40, keep=2) == "head\nsecond\n<i>… and 2 more</i>"


def test_split_plain_and_report_messages():
    text = "\n".join(f"  rule-{i:04d} (detention): {i} hits <&>" for i in range(600)) + "\n"
    parts = split_plain(text, 4096)
    assert len(parts) > 1 and all(len(p.encode("utf-16-le")) // 2 <= 4096 for p in parts)
    assert "\n".join(parts) == text.rstrip("\n")
    wide = "ids: " + ", ".join(f"src-{i}-🚤" for i in range(1500))
    parts = split_plain(wide)
    assert len(parts) > 1 and all(len(p.encode("utf-16-le")) // 2 <= 4096 for p in parts)
    assert " ".join(" ".join(parts).split()) == wide
    for msg in report_messages(text):
        assert msg.startswith("<pre>") and check_message(msg, "HTML") is None
