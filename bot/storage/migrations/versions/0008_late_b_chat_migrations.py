"""A destination remembers the group id it had before Telegram made it a supergroup

Revision ID: 0008_late_b
Revises: 0007
Create Date: 2026-12-07

When Telegram upgrades a group, messages to the old id fail with `migrate_to_chat_id`; the
sender follows the destination to the new id. deliveries.yaml still names the old id until
someone edits it, so the sync of the file must find the destination by the id it had:
`migrated_from`. Without it the next sync re-added the old id (which fails again) and marked
the followed destination "removed from deliveries.yaml", and its later alerts never went out.
"""
from alembic import op
import sqlalchemy as sa


revision = '0008_late_b'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('destinations', sa.Column('migrated_from', sa.String(64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('destinations') as batch:
        batch.drop_column('migrated_from')
