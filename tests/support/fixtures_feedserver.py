"""pytest plugin: the `feedserver` fixture, a started tests.feedserver.FeedServer on
127.0.0.1 (port 0) that is stopped after the test. See tests/support/feedserver.py for its API:
add(path, body, etag=..., last_modified=..., status=..., headers=..., encoding=...,
content_length=..., trickle=..., reset=..., handler=...), redirect(path, to, status),
url(path), requests / requests_for(path) / hits(path) (recorded request headers)."""

from __future__ import annotations

import pytest

from support.feedserver import FeedServer, Route  # noqa: F401  (Route re-exported for tests)


@pytest.fixture
def feedserver():
    server = FeedServer().start()
    try:
        yield server
    finally:
        server.stop()
