"""The /missed conversation's pure parts (bot.chat.missed): buttons, theme check, the reply."""

from __future__ import annotations

from bot.chat import missed
from bot.delivery.telegram.format import tg_len
from bot.match import Matcher, RuleDef, ThemeDef, compile_query
from bot.match.why import verdict
from bot.model import Item
from support.fakebotapi import check_message


def test_decision_buttons() -> None:
    assert missed.parse_callback(missed.callback_data(42, True)) == (42, True)
    assert missed.parse_callback(missed.callback_data(42, False)) == (42, False)
    for other in ("fb:42:+", "rm:x:a", "rm:1:z", None, ""):
        assert missed.parse_callback(other) is None
    assert len(missed.callback_data(10**17, True).encode()) <= 64


def test_theme_check_suggests_the_closest() -> None:
    slugs = ["sea-rescue", "detention", "pushbacks"]
    assert missed.theme_problem("detention", slugs) is None
    assert "Did you mean <code>sea-rescue</code>?" in missed.theme_problem("searescue", slugs)
    text = missed.theme_problem("<b>zzz</b>", slugs)
    assert "&lt;b&gt;" in text and "Did you mean" not in text and check_message(text, "HTML") is None


def test_reply_is_escaped_and_short() -> None:
    m = Matcher([ThemeDef("sea-rescue", "high", (RuleDef("sr", compile_query("shipwreck* NEAR/3 migrant*")),))])
    it = Item(source_id="reported", guid="u", url="https://x.example/a?b=1&c=2", title="Shipwreck <off> Lampedusa & more",
              summary="A shipwreck. " + "Words in between. " * 5 + "Migrants missing.", language="en")
    lines = missed.explain_reply(it, verdict(m, it, "sea-rescue"), "sea-rescue", {"sea-rescue": "Sea & rescue"})
    text = "\n".join(lines)
    assert check_message(text, "HTML") is None and tg_len(text) < 1000
    assert "Shipwreck &lt;off&gt; Lampedusa &amp; more" in text and "Sea &amp; rescue" in text
    assert "words apart" in text


def test_reply_when_the_rules_do_match() -> None:
    m = Matcher([ThemeDef("sea-rescue", "high", (RuleDef("sr", compile_query("shipwreck* NEAR/3 migrant*")),)),
                 ThemeDef("labour", "normal", (RuleDef("lb", compile_query("workers")),))])
    it = Item(source_id="reported", guid="u", url="https://x.example/a", title="Shipwreck: migrants missing, workers help",
              language="en")
    asked = "\n".join(missed.explain_reply(it, verdict(m, it, "sea-rescue"), "sea-rescue", {}))
    assert "The rules do match it for <b>sea-rescue</b>" in asked and "not monitored" in asked
    unasked = "\n".join(missed.explain_reply(it, verdict(m, it), None, {"labour": "Labour"}))
    assert "The rules match it for: sea-rescue, Labour." in unasked
