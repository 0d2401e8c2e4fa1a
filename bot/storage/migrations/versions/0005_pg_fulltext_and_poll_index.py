"""PostgreSQL full-text index on items; index on sources.next_poll_at (both backends)

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22

PostgreSQL gets what FTS5 gives SQLite in 0002: an accent-folding word index over
title, summary and text. A text search configuration `newsbot_fts` copies `simple` (no
stemming: the rule engine stems, the index only finds candidates) and, when the `unaccent`
extension can be created (it ships with PostgreSQL and is trusted, so a database owner may
create it), folds accents first, as the rule language does. The GIN index is an expression
index on to_tsvector('newsbot_fts', title || ' ' || summary || ' ' || text): nothing to keep
in step, no extra column. bot/storage/fulltext.py queries that exact expression.

The index on sources.next_poll_at lets pollers claim due sources (bot/storage/leases.py)
without scanning every source at each claim.
"""
import logging

from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

log = logging.getLogger("alembic.runtime.migration")

FTS_CONFIG = "newsbot_fts"
FTS_EXPRESSION = "to_tsvector('newsbot_fts'::regconfig, title || ' ' || summary || ' ' || text)"


def _has_unaccent(bind) -> bool:
    """Create the unaccent extension if we may; a refusal must not abort the migration."""
    savepoint = bind.begin_nested()
    try:
        bind.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS unaccent")
    except sa.exc.DBAPIError as exc:
        savepoint.rollback()
        log.warning("PostgreSQL: cannot create the unaccent extension (%s); full-text search "
                    "will be accent-sensitive until a superuser runs CREATE EXTENSION unaccent "
                    "and the migration is re-run", str(exc.orig).splitlines()[0])
        return False
    savepoint.commit()
    return True


def upgrade() -> None:
    op.create_index('ix_sources_next_poll_at', 'sources', ['next_poll_at'], unique=False)
    bind = op.get_bind()
    if bind.dialect.name != 'postgresql':
        return
    folded = _has_unaccent(bind)
    op.execute(f"CREATE TEXT SEARCH CONFIGURATION {FTS_CONFIG} (COPY = pg_catalog.simple)")
    if folded:
        op.execute(f"ALTER TEXT SEARCH CONFIGURATION {FTS_CONFIG} "
                   "ALTER MAPPING FOR hword, hword_part, word WITH unaccent, simple")
    op.execute(f"CREATE INDEX ix_items_fts ON items USING gin ({FTS_EXPRESSION})")


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("DROP INDEX IF EXISTS ix_items_fts")
        op.execute(f"DROP TEXT SEARCH CONFIGURATION IF EXISTS {FTS_CONFIG}")
    op.drop_index('ix_sources_next_poll_at', table_name='sources')
