"""The weekly digest's HTML rendered in headless Debian Chromium at phone (375 px) and
desktop (1280 px) widths: no horizontal overflow, and screenshots to look at.

Screenshots go to $NEWSBOT_SCREENSHOTS_DIR when set (e.g. to keep them as CI artefacts),
else to the test's tmp_path. Chromium is required: `make system-deps` installs it; this test
fails, never skips, without it.
"""

from __future__ import annotations

import html as htmllib
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from bot.delivery.email.weekly import WeeklyEmail

from support.email_support import NOW, SOURCE_NAMES, THEMES, WEEK, deliveries, seed, settings

WIDTHS = {"phone": 375, "desktop": 1280}
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--hide-scrollbars", "--disable-extensions", "--mute-audio"]

# Headless Chromium will not open a window narrower than 500 px, so the email is laid out
# in an iframe of the exact width (as webmail shows mail). After load, the probe measures
# the frame's scroll width and the right edge of every element in it (an element clipped by
# overflow:hidden still counts) and writes them into the DOM for --dump-dom.
FRAME = """<!DOCTYPE html><html><head><meta charset="utf-8"></head><body style="margin:0">
<iframe id="nb-frame" style="border:0;margin:0;padding:0;display:block;width:{width}px;height:900px"
 srcdoc="{srcdoc}"></iframe>
<script>
window.addEventListener("load", function () {{
  var f = document.getElementById("nb-frame"), w = f.contentWindow, d = f.contentDocument;
  var de = d.documentElement, worst = 0, culprit = "";
  var all = d.body.getElementsByTagName("*");
  for (var i = 0; i < all.length; i++) {{
    var r = all[i].getBoundingClientRect();
    if (r.width > 0 && r.right > worst) {{ worst = r.right; culprit = all[i].tagName + "." + all[i].className; }}
  }}
  // WCAG contrast of every element that holds text against the first opaque background
  // behind it: what a reader sees, in light or (with --force-dark-mode) dark mode.
  function rgb(c) {{ var m = c.match(/[\\d.]+/g).map(Number); return {{r: m[0], g: m[1], b: m[2], a: m.length > 3 ? m[3] : 1}}; }}
  function lum(c) {{ var f = function (v) {{ v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); }};
    return 0.2126 * f(c.r) + 0.7152 * f(c.g) + 0.0722 * f(c.b); }}
  var minContrast = 99, lowText = "";
  for (var j = 0; j < all.length; j++) {{
    var el = all[j], own = "";
    for (var k = 0; k < el.childNodes.length; k++) if (el.childNodes[k].nodeType === 3) own += el.childNodes[k].data;
    if (!own.trim()) continue;
    var fg = rgb(w.getComputedStyle(el).color), bg = null;
    for (var a = el; a && a.nodeType === 1; a = a.parentElement) {{
      var c = rgb(w.getComputedStyle(a).backgroundColor);
      if (c.a > 0.5) {{ bg = c; break; }}
    }}
    bg = bg || {{r: 255, g: 255, b: 255}};
    var l1 = lum(fg), l2 = lum(bg), ratio = (Math.max(l1, l2) + 0.05) / (Math.min(l1, l2) + 0.05);
    if (ratio < minContrast) {{ minContrast = ratio; lowText = own.trim().slice(0, 60); }}
  }}
  var out = document.createElement("pre");
  out.id = "nb-probe";
  out.textContent = JSON.stringify({{inner: w.innerWidth, scroll: de.scrollWidth, body: d.body.scrollWidth,
    right: Math.ceil(worst), culprit: culprit, height: de.scrollHeight,
    contrast: Math.round(minContrast * 100) / 100, low_text: lowText}});
  document.body.appendChild(out);
}});
</script></body></html>"""


def chromium() -> str:
    found = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
    if not found:
        pytest.fail("Debian's chromium is not installed (needed to check the email's rendering): "
                    "run `make system-deps`, or as root `apt-get install -y chromium`")
    return found


def run_chromium(tmp_path: Path, url: str, width: int, height: int, *extra: str) -> str:
    profile = tmp_path / f"profile-{width}-{len(list(tmp_path.iterdir()))}"
    cmd = [chromium(), *FLAGS, f"--user-data-dir={profile}", f"--window-size={width},{height}", *extra, url]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=90)
    assert proc.returncode == 0, f"chromium failed ({proc.returncode}): {proc.stderr[-2000:]}"
    return proc.stdout


DARK = ("--force-dark-mode", "--blink-settings=preferredColorScheme=0")


def measure(tmp_path: Path, page: str, width: int, *extra: str) -> dict:
    probe = tmp_path / f"probe-{width}.html"
    probe.write_text(FRAME.format(width=width, srcdoc=htmllib.escape(page, quote=True)), encoding="utf-8")
    dom = run_chromium(tmp_path, probe.as_uri(), max(width, 500) + 40, 1000, "--dump-dom", *extra)
    m = re.search(r'<pre id="nb-probe">(.*?)</pre>', dom, re.S)
    assert m, f"the probe did not run; DOM starts with: {dom[:500]}"
    return json.loads(htmllib.unescape(m.group(1)))


@pytest.fixture
def page(tmp_path) -> str:
    engine = seed(tmp_path / "email.db")
    try:
        w = WeeklyEmail(engine, deliveries(), THEMES, settings(tmp_path), clock=lambda: NOW,
                        source_names=SOURCE_NAMES)
        _, html, _ = w.render(w.list_named(None), WEEK)
    finally:
        engine.dispose()
    assert "<script" not in html.lower()               # the email itself carries no script
    return html


def test_the_overflow_probe_catches_a_wide_page(tmp_path):
    wide = ('<!DOCTYPE html><html><head><meta name="viewport" content="width=device-width"></head><body>'
            '<table width="600" style="width:600px"><tr><td>too wide for a phone</td></tr></table></body></html>')
    got = measure(tmp_path, wide, 375)
    assert got["inner"] == 375
    assert got["scroll"] > got["inner"] and got["right"] > got["inner"]


@pytest.mark.parametrize("name", list(WIDTHS))
def test_digest_renders_without_horizontal_overflow(tmp_path, page, name):
    width = WIDTHS[name]
    got = measure(tmp_path, page, width)
    assert got["inner"] == width, f"the window is not {width} px wide: {got}"
    assert got["scroll"] <= got["inner"] and got["body"] <= got["inner"], f"horizontal scroll at {width} px: {got}"
    assert got["right"] <= got["inner"], f"{got['culprit']} sticks out at {width} px: {got}"
    if name == "desktop":
        assert got["height"] < 4000                     # the 640 px column, not a stretched page
    assert got["contrast"] >= 4.5, f"text {got['low_text']!r} has contrast {got['contrast']} (WCAG AA: 4.5)"
    if name == "phone":
        dark = measure(tmp_path, page, width, *DARK)
        assert dark["right"] <= width and dark["contrast"] >= 4.5, \
            f"dark mode: text {dark['low_text']!r} has contrast {dark['contrast']}"

    out_dir = Path(os.environ.get("NEWSBOT_SCREENSHOTS_DIR") or tmp_path / "screenshots")
    out_dir.mkdir(parents=True, exist_ok=True)
    source = tmp_path / "weekly.html"
    source.write_text(page, encoding="utf-8")
    shots = [(out_dir / f"email-{name}.png", ())]
    if name == "phone":                                  # and in a dark-mode client
        shots.append((out_dir / "email-phone-dark.png", DARK))
    for shot, extra in shots:
        shot.unlink(missing_ok=True)
        run_chromium(tmp_path, source.as_uri(), width, min(got["height"], 6000), f"--screenshot={shot}", *extra)
        data = shot.read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000, f"no screenshot at {shot}"
        assert int.from_bytes(data[16:20], "big") == width     # PNG IHDR width
