"""Peak memory of fetching decompression bombs (not a test; run by hand).

    .venv/bin/python bench/bomb_memory.py [--repo PATH] [--size-gb 1.2] [--max-size-mb 10]

Serves each bomb on 127.0.0.1 and fetches it with bot.ingest.fetch.Fetcher (the 10 MB default cap)
in a fresh process per bomb, then prints the outcome and that process's peak resident memory
(VmHWM). `--repo` imports `bot` from another checkout: run it on the commit before a change to
get the "before" figures (e.g. `git archive 4485c58 | tar -x -C /tmp/old`, `--repo /tmp/old`).

Bombs, each `--size-gb` of zeros: brotli (about 2 KB on the wire), gzip (about 1.2 MB),
gzip inside gzip (`Content-Encoding: gzip, gzip`, about 3 KB), raw deflate.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import threading
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import brotli

REPO = Path(__file__).resolve().parent.parent
_STEP = 16 << 20


def _zeros(total: int):
    sent = 0
    block = bytes(_STEP)
    while sent < total:
        n = min(_STEP, total - sent)
        yield block if n == _STEP else bytes(n)
        sent += n


def _zlib(chunks, wbits: int) -> bytes:
    c = zlib.compressobj(9, zlib.DEFLATED, wbits)
    return b"".join(c.compress(x) for x in chunks) + c.flush()


def _brotli(chunks) -> bytes:
    c = brotli.Compressor(quality=5)
    return b"".join(c.process(x) for x in chunks) + c.finish()


def bombs(total: int) -> dict[str, tuple[str, bytes]]:
    """name -> (Content-Encoding, body)."""
    gz = _zlib(_zeros(total), 31)
    return {
        "brotli": ("br", _brotli(_zeros(total))),
        "gzip": ("gzip", gz),
        "gzip-in-gzip": ("gzip, gzip", _zlib([gz], 31)),
        "deflate-raw": ("deflate", _zlib(_zeros(total), -15)),
    }


def serve(routes: dict[str, tuple[str, bytes]]) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            encoding, body = routes[self.path.lstrip("/")]
            self.send_response(200)
            self.send_header("Content-Type", "application/rss+xml")
            self.send_header("Content-Encoding", encoding)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            try:
                self.wfile.write(body)
            except OSError:
                pass   # the client stopped reading at its cap

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


CHILD = r"""
import json, sys
sys.path.insert(0, sys.argv[1])
from bot.errors import SourceFailure
from bot.ingest.fetch import Fetcher, FetchPolicy
def peak_mb():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
base = peak_mb()
f = Fetcher(FetchPolicy(allow_private=True, max_size=int(sys.argv[3]), timeout=120))
try:
    r = f.fetch_blocking(sys.argv[2])
    outcome = f"ok, {len(r.body):,} bytes"
except SourceFailure as e:
    outcome = f"{e.kind}: {e}"
print(json.dumps({"outcome": outcome, "peak_mb": round(peak_mb(), 1), "start_mb": round(base, 1)}))
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repo", type=Path, default=REPO, help="checkout whose bot package is measured")
    ap.add_argument("--size-gb", type=float, default=1.2)
    ap.add_argument("--max-size-mb", type=float, default=10)
    ap.add_argument("--only", action="append", default=[], help="bomb name (repeatable)")
    args = ap.parse_args()
    made = bombs(int(args.size_gb * 2**30))
    routes = {k: v for k, v in made.items() if not args.only or k in args.only}
    server = serve(routes)
    port = server.server_address[1]
    print(f"bot from {args.repo}; cap {args.max_size_mb:g} MB; each bomb {args.size_gb:g} GB decoded")
    for name, (encoding, body) in routes.items():
        proc = subprocess.run([sys.executable, "-c", CHILD, str(args.repo), f"http://127.0.0.1:{port}/{name}",
                               str(int(args.max_size_mb * 2**20))], capture_output=True, text=True)
        if proc.returncode != 0:
            print(f"{name:14} {len(body):>10,} B on the wire  child failed: {proc.stderr.strip()[-300:]}")
            continue
        res = json.loads(proc.stdout.strip().splitlines()[-1])
        print(f"{name:14} {len(body):>10,} B on the wire ({encoding})  peak RSS {res['peak_mb']:7.1f} MB "
              f"(after imports {res['start_mb']:.1f} MB)  {res['outcome'][:90]}")
    server.shutdown()


if __name__ == "__main__":
    main()
