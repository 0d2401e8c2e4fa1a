"""story_keys: the lookup keys of story grouping

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22

bot/stories.py finds the story of a new item through these keys (loose URL, title keys,
MinHash LSH bands) instead of scanning items; see its docstring.
"""
from alembic import op
import sqlalchemy as sa
import bot.storage.schema


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'story_keys',
        sa.Column('key', sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column('item_id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('story_id', sa.Integer(), nullable=False),
        sa.Column('source_id', sa.String(length=100), nullable=False),
        sa.Column('ref_at', bot.storage.schema.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['item_id'], ['items.id'], name=op.f('fk_story_keys_item_id_items'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('key', 'item_id', name=op.f('pk_story_keys')),
        sqlite_with_rowid=False,
    )
    op.create_index(op.f('ix_story_keys_ref_at'), 'story_keys', ['ref_at'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_story_keys_ref_at'), table_name='story_keys')
    op.drop_table('story_keys')
