"""items full-text index (SQLite FTS5) and sources.ttl_minutes

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22

The FTS5 table is an external-content index over items(title, summary, text): the text is
stored once, in `items`, and triggers keep the index in step with every insert, update and
delete. It is created only on SQLite; PostgreSQL gets a tsvector index in its own migration.
`ttl_minutes` keeps a feed's <ttl> across polls that parse nothing (304 or unchanged body).
"""
from alembic import op
import sqlalchemy as sa


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None

_FTS = [
    # unicode61 with remove_diacritics 2 folds accents, as the rule language does.
    """CREATE VIRTUAL TABLE IF NOT EXISTS items_fts USING fts5(
           title, summary, text,
           content='items', content_rowid='id',
           tokenize='unicode61 remove_diacritics 2')""",
    """CREATE TRIGGER IF NOT EXISTS items_fts_ai AFTER INSERT ON items BEGIN
           INSERT INTO items_fts(rowid, title, summary, text)
           VALUES (new.id, new.title, new.summary, new.text);
       END""",
    """CREATE TRIGGER IF NOT EXISTS items_fts_ad AFTER DELETE ON items BEGIN
           INSERT INTO items_fts(items_fts, rowid, title, summary, text)
           VALUES ('delete', old.id, old.title, old.summary, old.text);
       END""",
    # Only a change of an indexed column touches the index: story_id and countries are set
    # right after insert, and re-indexing then would double the write cost of every item.
    """CREATE TRIGGER IF NOT EXISTS items_fts_au AFTER UPDATE OF title, summary, text ON items BEGIN
           INSERT INTO items_fts(items_fts, rowid, title, summary, text)
           VALUES ('delete', old.id, old.title, old.summary, old.text);
           INSERT INTO items_fts(rowid, title, summary, text)
           VALUES (new.id, new.title, new.summary, new.text);
       END""",
    # Items stored before this migration.
    "INSERT INTO items_fts(items_fts) VALUES ('rebuild')",
]


def upgrade() -> None:
    with op.batch_alter_table('sources', schema=None) as batch_op:
        batch_op.add_column(sa.Column('ttl_minutes', sa.Integer(), nullable=True))
    if op.get_bind().dialect.name == 'sqlite':
        for statement in _FTS:
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == 'sqlite':
        for name in ('items_fts_au', 'items_fts_ad', 'items_fts_ai'):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        op.execute("DROP TABLE IF EXISTS items_fts")
    with op.batch_alter_table('sources', schema=None) as batch_op:
        batch_op.drop_column('ttl_minutes')
