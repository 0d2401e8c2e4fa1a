"""newsbot: polls migration and civic-space news feeds, matches items against theme
rules, stores the hits and delivers them over Telegram and email.

Package map, one stage a package. Dependencies point downwards only; the import-linter
contract in pyproject.toml holds the code to it (`make lint`, part of `make test`):

    cli            the command line: the only place that prints to the user or exits
    runtime        the daemon and what runs it: duties, reload, lock, ops endpoint, demo
    chat           the Telegram front door: commands, buttons, coordinator tools
    ingest | delivery | insight
                   ingest: fetch -> parse -> store -> tag -> group -> match -> queue
                   delivery: the outbox; telegram/ (sender, digests); email/ (weekly email)
                   insight: search, hit lists, the coordinator report (read-only)
    stories        grouping reports of one event, similarity, ranking, members' votes
    config | storage
                   config: sources.yaml, rules/, deliveries.yaml, the environment
                   storage: tables, migrations, queries
    match | parse  the rule language (pure); bytes -> feed entries -> clean items (pure)
    tagging        countries, regions and places of an item (pure)
    errors | model shared exceptions and the item shape

The one named exception: `ingest.poll_store` queues deliveries (`delivery.outbox`) in the
transaction that stores the hits, so nothing matched is lost between the two.
"""

__version__ = "0.1.0"
