"""newsbot: polls migration and civic-space news feeds, matches items against theme
rules, stores the hits and delivers them over Telegram and email.

Package map (dependencies point downwards only):
    cli            the only place that prints to the user or exits
    daemon, demo   compose the parts below
    pipeline       fetch -> parse -> normalise -> store -> match -> queue
                   (poll_supply: runs of one host for its crew; poll_results)
    delivery/      telegram, email, console senders and formatting
    storage/       SQLAlchemy tables, Alembic migrations, queries
    fetch, parse/, items   HTTP, bytes to entries, entries to clean items
                   (fetch_limits: transports and per-host slots; netguard: addresses)
    match/, countries      the rule language and country tagging (pure)
    config         sources.yaml, rules/, deliveries.yaml, environment
    errors, model  shared exceptions and the item shape
"""

__version__ = "0.1.0"
