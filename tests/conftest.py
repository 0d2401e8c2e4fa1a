"""Shared fixtures. The guard below fails any connection that would leave loopback,
as python-telegram-bot's own tests do in offline mode."""

from __future__ import annotations

import ipaddress
import socket
from pathlib import Path

import pytest

from support.paths import CORPUS

# Fixture plugins beside this file (tests/ is on sys.path under the default import mode).
pytest_plugins = ["support.fixtures_feedserver", "support.fixtures_db", "support.fixtures_fakebotapi"]


_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex


def _check_address(address: object) -> None:
    if isinstance(address, tuple) and address:
        host = address[0]
        try:
            ip = ipaddress.ip_address(host)
        except ValueError:
            if host != "localhost":
                raise OSError(f"test tried to reach a non-loopback host: {host!r}") from None
            return
        if not ip.is_loopback:
            raise OSError(f"test tried to reach a non-loopback address: {host}")


def _guarded_connect(self: socket.socket, address: object) -> None:
    _check_address(address)
    return _real_connect(self, address)


def _guarded_connect_ex(self: socket.socket, address: object) -> int:
    _check_address(address)
    return _real_connect_ex(self, address)


@pytest.fixture(autouse=True, scope="session")
def loopback_only():
    socket.socket.connect = _guarded_connect  # type: ignore[method-assign]
    socket.socket.connect_ex = _guarded_connect_ex  # type: ignore[method-assign]
    yield
    socket.socket.connect = _real_connect  # type: ignore[method-assign]
    socket.socket.connect_ex = _real_connect_ex  # type: ignore[method-assign]


@pytest.fixture
def corpus() -> Path:
    assert CORPUS.is_dir(), f"the shared corpus must be beside the checkout: {CORPUS}"
    return CORPUS
