"""Storage: SQLAlchemy Core tables, Alembic migrations, and the queries the rest of
newsbot needs, one module per set of rows (`repo` items and sources, `leases` claims, `kv`
small shared values, `retention` pruning, `due` what is due next, `health` the ops figures,
`reported` reported misses, `fulltext` search, `notify` LISTEN/NOTIFY). Knows nothing of
Telegram, email or HTTP. SQLite by default; the same schema runs on PostgreSQL, and where a
statement differs by dialect the function says so in its docstring."""
