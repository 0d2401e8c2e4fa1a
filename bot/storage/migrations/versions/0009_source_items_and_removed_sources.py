"""Each source keeps its own item of a shared URL; sources remember when they were configured
and when they were removed from sources.yaml

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07

- uq_items_url was unique on (url, url_twin): across sources a canonical URL was stored once,
  so the source that published a link first (an aggregator relaying it with thin text, a
  hostile feed) silenced the real source's item, its hits and its alerts. The index becomes
  (url, source_id, url_twin): each source stores its own item, and items of different sources
  with one URL join one story (bot/stories/grouping.py). `url` stays its first column, for
  the story lookup by URL.
- sources.configured_at: when the source (or its current URL) first appeared in sources.yaml.
  Its first successful poll stores what was published before that as backlog, and what was
  published after as news, also when the first polls failed. Existing rows: their created_at.
- sources.removed_at: set when the id is no longer in sources.yaml (cleared if it comes back);
  such rows are left out of every count and list, their items stay.
"""
from alembic import op
import sqlalchemy as sa

from bot.storage.schema import UtcDateTime


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


# No batch mode: SQLite adds columns and swaps an index in place, while a batch copy of the
# items table would drop its full-text triggers (0002).
def upgrade() -> None:
    op.add_column('sources', sa.Column('configured_at', UtcDateTime(), nullable=True))
    op.add_column('sources', sa.Column('removed_at', UtcDateTime(), nullable=True))
    op.execute("UPDATE sources SET configured_at = created_at")
    op.drop_index('uq_items_url', table_name='items')
    op.create_index('uq_items_url', 'items', ['url', 'source_id', 'url_twin'], unique=True)


def downgrade() -> None:
    # The older index allows a URL once across sources: a later source's copy loses its link.
    op.execute("UPDATE items SET url = NULL WHERE id NOT IN "
               "(SELECT MIN(id) FROM items WHERE url IS NOT NULL GROUP BY url, url_twin) AND url IS NOT NULL")
    op.drop_index('uq_items_url', table_name='items')
    op.create_index('uq_items_url', 'items', ['url', 'url_twin'], unique=True)
    op.drop_column('sources', 'removed_at')
    op.drop_column('sources', 'configured_at')
