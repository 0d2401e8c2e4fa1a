"""story_sigs replaces story_keys: one row of packed lookup keys per item

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22

One row per band key made every new item write ~50 rows at random places of a large B-tree
(about 2 ms a commit with 100k rows). bot/stories.py now keeps the LSH index in memory,
loaded from these rows at start and caught up by item_id, and writes one row per item.
"""
from alembic import op
import sqlalchemy as sa
import bot.storage.schema


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index(op.f('ix_story_keys_ref_at'), table_name='story_keys')
    op.drop_table('story_keys')
    op.create_table(
        'story_sigs',
        sa.Column('item_id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('ref_at', bot.storage.schema.UtcDateTime(timezone=True), nullable=False),
        sa.Column('sig', sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(['item_id'], ['items.id'], name=op.f('fk_story_sigs_item_id_items'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('item_id', name=op.f('pk_story_sigs')),
    )
    op.create_index(op.f('ix_story_sigs_ref_at'), 'story_sigs', ['ref_at'], unique=False)


def downgrade() -> None:
    # The keys are derived data: grouping of items already stored is kept in items.story_id.
    op.drop_index(op.f('ix_story_sigs_ref_at'), table_name='story_sigs')
    op.drop_table('story_sigs')
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
