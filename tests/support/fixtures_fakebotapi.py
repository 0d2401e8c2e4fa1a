"""pytest plugin: the `fake_bot_api` fixture, a started support.fakebotapi.FakeBotAPI on
127.0.0.1 (port 0, real clock) that is stopped after the test. Tests that need a virtual clock,
flood limits or faults build their own FakeBotAPI (see tests/support/fakebotapi.py)."""

from __future__ import annotations

import pytest

from support.fakebotapi import FakeBotAPI


@pytest.fixture
async def fake_bot_api():
    """A started FakeBotAPI (real clock); `.url` is TELEGRAM_API_URL, `.token` the token."""
    server = await FakeBotAPI().start()
    try:
        yield server
    finally:
        await server.stop()
