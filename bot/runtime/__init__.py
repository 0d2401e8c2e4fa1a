"""Runtime: what runs newsbot as a service and composes the stages below it.

Owns the daemon (`daemon.py`: one asyncio process, its lifecycle; `duties.py`: a small loop per
duty; `waits.py`: when each wakes; `status.py`: what it reports), the one place the running parts
are built (`wiring.py`, for the daemon, the demo and the CLI), the offline demo,
the clock (real or sped up), the single-instance lock, live reload of the configuration, the
operator's HTTP endpoint (/healthz, /metrics), retention, the weekly coordinator report's
schedule, when the next work is due, and the log handlers.

Must not: parse feeds, match rules, format messages or run SQL: the lock's and the weekly
report's `kv` rows, retention's deletes, due's reads and the endpoint's counts are bot.storage
functions (kv, retention, due, health), and an import-linter contract keeps the tables out of
runtime. It wires the stages together and decides when each runs.

Glossary: duty (one loop of the daemon: poll, send, digest, email, report, retention, reload);
role (which duties a process runs: all, poller, sender); time scale (NEWSBOT_TIME_SCALE).
"""
