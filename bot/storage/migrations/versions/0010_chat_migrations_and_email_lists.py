"""A destination remembers the group id it had before Telegram made it a supergroup;
email lists remember when they were first seen

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07

When Telegram upgrades a group, messages to the old id fail with `migrate_to_chat_id`; the
sender follows the destination to the new id. deliveries.yaml still names the old id until
someone edits it, so the sync of the file must find the destination by the id it had:
`migrated_from`. Without it the next sync re-added the old id (which fails again) and marked
the followed destination "removed from deliveries.yaml", and its later alerts never went out.

`email_lists.first_seen_at`: the weekly email never sends a week that ended before its list
first appeared in deliveries.yaml (a fresh install or a new list does not get last week).
"""
from alembic import op
import sqlalchemy as sa

import bot.storage.schema


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('destinations', sa.Column('migrated_from', sa.String(64), nullable=True))
    op.create_table('email_lists',
                    sa.Column('name', sa.String(100), primary_key=True),
                    sa.Column('first_seen_at', bot.storage.schema.UtcDateTime(timezone=True), nullable=False))


def downgrade() -> None:
    op.drop_table('email_lists')
    with op.batch_alter_table('destinations') as batch:
        batch.drop_column('migrated_from')
