"""Ingest: polling sources, from the due list to stored, matched and queued items.

Owns the conductor of one poll cycle (`pipeline.py`) and its satellites: what a poll writes
(`poll_store.py`), HTTP fetching (`fetch.py`), its bounds (`fetch_limits.py`), the
private-network guard (`netguard.py`), following a page to its feed (`discovery.py`, shared
with the probe before a source is added, `probe.py`), when a source is polled next
(`scheduling.py`), how many threads poll at once (`crew_gate.py`), how a cycle hands out its
sources (`poll_supply.py`), what a cycle reports (`poll_results.py`) and what the poller needs
of its fetcher, matcher and sources' rows (`protocols.py`).

Must not: format or send messages (it only queues hits, in the same transaction that stores
them: the one named exception to the layer contract, `poll_store -> delivery.outbox`).

Glossary: crew (the threads that poll in one cycle); run (the sources of one host handed to a
crew member together); slot (a per-host limit on requests in flight); backlog (items of a
source's first poll, stored but never alerted).
"""
