"""Reported misses: articles members say the bot should have caught (/missed)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07
"""
from alembic import op
import sqlalchemy as sa

from bot.storage.schema import UtcDateTime


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'reported_misses',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('url', sa.Text(), nullable=False),
        sa.Column('title', sa.Text(), nullable=False),
        sa.Column('summary', sa.Text(), nullable=False),
        sa.Column('language', sa.String(length=8), nullable=True),
        sa.Column('theme', sa.String(length=100), nullable=False),
        sa.Column('matched', sa.JSON(), nullable=False),
        sa.Column('chat_id', sa.String(length=64), nullable=False),
        sa.Column('user_id', sa.String(length=64), nullable=False),
        sa.Column('reported_at', UtcDateTime(timezone=True), nullable=False),
        sa.Column('status', sa.String(length=10), nullable=False),
        sa.Column('decided_by', sa.String(length=64), nullable=True),
        sa.Column('decided_at', UtcDateTime(timezone=True), nullable=True),
        sa.Column('item_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['item_id'], ['items.id'], name='fk_reported_misses_item_id_items',
                                ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name='pk_reported_misses'),
    )
    op.create_index('ix_reported_misses_user_reported_at', 'reported_misses', ['user_id', 'reported_at'])
    op.create_index('ix_reported_misses_status', 'reported_misses', ['status'])


def downgrade() -> None:
    op.drop_index('ix_reported_misses_status', table_name='reported_misses')
    op.drop_index('ix_reported_misses_user_reported_at', table_name='reported_misses')
    op.drop_table('reported_misses')
