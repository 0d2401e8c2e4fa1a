"""Items of one source may share a URL: within a source the GUID decides

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23

The unique index on items.url kept one item per canonical URL across all sources, and so
also within one: press releases that all link to one page, podcast episodes linking to the
show, two parts of a page that differ by #fragment, all but the first were dropped.

`url_twin` is '' for the first item stored under its URL and, for a later item of the same
source sharing that URL, its own guid. The unique index becomes (url, url_twin): across
sources a URL is still stored once (both would be (url, '')), a concurrent poller of
another source included; within a source every guid gets its row.
"""
from alembic import op
import sqlalchemy as sa


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


# No batch mode: SQLite adds a column and swaps an index in place, while a batch copy of the
# table would drop the full-text triggers on items (0002).
def upgrade() -> None:
    op.add_column('items', sa.Column('url_twin', sa.Text(), nullable=False, server_default=''))
    op.drop_index('uq_items_url', table_name='items')
    op.create_index('uq_items_url', 'items', ['url', 'url_twin'], unique=True)


def downgrade() -> None:
    # An item that shares its source's URL keeps its row but loses the link: the old index
    # allows a URL once.
    op.execute("UPDATE items SET url = NULL WHERE url_twin <> ''")
    op.drop_index('uq_items_url', table_name='items')
    op.create_index('uq_items_url', 'items', ['url'], unique=True)
    op.drop_column('items', 'url_twin')
