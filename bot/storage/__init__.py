"""Storage: SQLAlchemy Core tables, Alembic migrations, and the queries the rest of
newsbot needs. Knows nothing of Telegram, email or HTTP. SQLite by default; the same
schema runs on PostgreSQL (dialect-specific SQL lives only in `fts.py`)."""
