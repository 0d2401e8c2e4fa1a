"""`newsbot demo` runs offline with the shipped rules and shows a digest with hits."""

from __future__ import annotations

import re
from datetime import datetime, timezone

import feedparser
import pytest
from click.testing import CliRunner

from bot.cli import cli
from bot.runtime.demo import FEEDS, render_feed
from support.paths import REPO


def test_demo_prints_a_digest_with_hits_and_writes_the_email(tmp_path):
    preview = tmp_path / "preview.html"
    result = CliRunner().invoke(cli, ["--config-dir", str(REPO), "demo", "--email-preview", str(preview)],
                                catch_exceptions=False)
    out = result.output
    assert result.exit_code == 0, out
    m = re.search(r"Polled (\d+) sources: (\d+) new items, (\d+) hits", out)
    assert m, out
    assert (int(m.group(1)), int(m.group(2))) == (5, 24)
    assert int(m.group(3)) >= 10
    assert "Failures" not in out
    assert "Digest ·" in out
    # Hits from several languages made it into the digest.
    for title in ("Salvataggio in mare: la nostra nave soccorre 62 persone",          # it
                  "Centre de rétention de Mesnil-Amelot",                             # fr
                  "Devoluciones en caliente en Melilla",                              # es
                  "Zurückweisungen an der polnischen Grenze"):                        # de
        assert title in out, title
    # Items written not to match stay out.
    for noise in ("Stadtfest in Leipzig", "El Cádiz gana el derbi", "marché de Noël"):
        assert noise not in out
    html = preview.read_text(encoding="utf-8")
    assert "<html" in html.lower() and "Mesnil-Amelot" in html
    assert preview.with_suffix(".txt").is_file()
    assert "newsbot check" in out and "TELEGRAM_BOT_TOKEN" in out and "make run" in out


@pytest.mark.parametrize("path", sorted(FEEDS.glob("*.xml")), ids=lambda p: p.name)
def test_sample_feeds_are_well_formed_and_fresh(path):
    now = datetime.now(timezone.utc)
    parsed = feedparser.parse(render_feed(path, now))
    assert not parsed.bozo, parsed.get("bozo_exception")
    assert 4 <= len(parsed.entries) <= 6
    for entry in parsed.entries:
        published = datetime(*entry.published_parsed[:6], tzinfo=timezone.utc)
        assert 0 <= (now - published).total_seconds() <= 4 * 86400, entry.title
