"""`newsbot explain URL|TEXT`: a loopback page fetched like a source (private-network guard,
size cap), read, matched against the shipped packs, and explained; through the real CLI."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli import cli
from support.paths import REPO

PAGE = """<html lang="en"><head><title>Site</title>
<meta property="og:title" content="Shipwreck off Lampedusa: at least 41 people missing after boat capsized">
<meta property="og:description" content="Survivors told rescuers the boat left Sfax two days earlier."></head>
<body><p>Cookie banner text that is long enough to count as a paragraph, but the page has a description.</p></body></html>"""
QUIET = """<html><head><title>Town council approves new bicycle lanes</title></head>
<body><article><p>The council voted on Tuesday to add twelve kilometres of bicycle lanes in the centre.</p></article></body></html>"""


@pytest.fixture
def config_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    shutil.copytree(REPO / "rules", tmp_path / "rules")
    (tmp_path / "sources.yaml").write_text("defaults:\n  max_size: 2KB\nsources: []\n", encoding="utf-8")
    monkeypatch.setenv("NEWSBOT_ALLOW_PRIVATE_NETWORKS", "1")
    return tmp_path


def run(config_dir: Path, *args: str):  # noqa: ANN201
    return CliRunner().invoke(cli, ["--config-dir", str(config_dir), "explain", *args])


def test_a_page_that_matches(config_dir: Path, feedserver) -> None:
    url = feedserver.add("/news/shipwreck", PAGE, content_type="text/html; charset=utf-8")
    r = run(config_dir, url)
    assert r.exit_code == 0, r.output
    assert r.stdout.startswith(f"url: {url}\ntitle: Shipwreck off Lampedusa")
    assert "language: en" in r.stdout and "matches theme sea-rescue (high)" in r.stdout
    out = json.loads(run(config_dir, url, "--format", "json").stdout)
    assert out["title"].startswith("Shipwreck off Lampedusa") and out["text"].startswith("Survivors told")
    assert "sea-rescue" in out["themes"] and out["language"] == "en"


def test_a_page_that_does_not_match_gets_its_near_misses(config_dir: Path, feedserver) -> None:
    url = feedserver.add("/quiet", QUIET, content_type="text/html")
    out = json.loads(run(config_dir, url, "--theme", "detention", "--format", "json").stdout)
    assert out["themes"] == [] and out["theme"] == "detention" and out["theme_matched"] is False
    assert [m["theme"] for m in out["near_misses"]] == ["detention"]
    assert "theme detention" in run(config_dir, url, "--theme", "detention").stdout
    r = run(config_dir, url, "--theme", "detension")
    assert r.exit_code == 2 and "did you mean 'detention'?" in r.output


def test_a_text_is_explained_without_fetching(config_dir: Path) -> None:
    r = run(config_dir, "Shipwreck off Lampedusa: at least 41 people missing after boat capsized")
    assert r.exit_code == 0 and "matches theme sea-rescue" in r.stdout and "url:" not in r.stdout


def test_pages_that_cannot_be_read(config_dir: Path, feedserver, monkeypatch: pytest.MonkeyPatch) -> None:
    gone = feedserver.add("/gone", status=404, body=b"no", content_type="text/html")
    r = run(config_dir, gone)
    assert r.exit_code == 3 and r.stdout == ""
    assert r.stderr.startswith(f"Error: {gone} could not be read (not-found)")
    big = feedserver.add("/big", b"<p>" + b"x" * 5000 + b"</p>", content_type="text/html")
    assert "(too-large)" in run(config_dir, big).stderr
    pdf = feedserver.add("/doc.pdf", b"%PDF-1.4", content_type="application/pdf")
    assert "is not a web page (application/pdf)" in run(config_dir, pdf).stderr
    monkeypatch.delenv("NEWSBOT_ALLOW_PRIVATE_NETWORKS")
    ok = feedserver.add("/fine", PAGE, content_type="text/html")
    r = run(config_dir, ok)
    assert r.exit_code == 3 and "(blocked)" in r.stderr and "NEWSBOT_ALLOW_PRIVATE_NETWORKS" in r.stderr
    assert feedserver.hits("/fine") == 0
