"""Run a command with its stderr on a pseudo-terminal, as a person at a shell would see it:
for the commands that show progress only on a terminal."""

from __future__ import annotations

import os
import pty
import subprocess


def run_with_stderr_on_terminal(cmd: list[str], env: dict[str, str],
                                timeout: float = 120) -> tuple[subprocess.CompletedProcess[bytes], bytes]:
    """The finished process (stdout captured) and everything it wrote to the terminal."""
    leader, follower = pty.openpty()
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=follower, env=env, timeout=timeout)
    os.close(follower)
    on_terminal = b""
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:        # the pty is drained and closed
            break
        if not chunk:
            break
        on_terminal += chunk
    os.close(leader)
    return proc, on_terminal
