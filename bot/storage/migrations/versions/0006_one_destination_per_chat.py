"""One destination per chat and thread, also when the thread is none

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22

The unique constraint on (chat_id, thread_id) never held for chats without a thread: NULLs
are distinct to it, in SQLite and PostgreSQL alike, so two concurrent /start commands (or
two workers syncing deliveries.yaml at once) could each insert the same chat, and it would
then get every alert twice. A unique expression index on (chat_id, COALESCE(thread_id, 0))
holds for both (Telegram's thread ids start at 1).

Rows that already repeat a chat are merged into the oldest first: their deliveries move to
it, except those it already has under the same dedupe key (the same message, sent twice).
"""
import logging

from alembic import op
import sqlalchemy as sa


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

log = logging.getLogger("alembic.runtime.migration")

INDEX = 'uq_destinations_chat_anythread'


def _merge_repeated_chats(bind) -> None:
    repeats = bind.execute(sa.text(
        "SELECT d.id, k.keep FROM destinations d JOIN "
        "(SELECT chat_id, COALESCE(thread_id, 0) AS thread, MIN(id) AS keep FROM destinations "
        " GROUP BY chat_id, COALESCE(thread_id, 0) HAVING COUNT(*) > 1) k "
        "ON d.chat_id = k.chat_id AND COALESCE(d.thread_id, 0) = k.thread AND d.id <> k.keep")).all()
    for dup, keep in repeats:
        bind.execute(sa.text(
            "DELETE FROM deliveries WHERE destination_id = :dup AND dedupe_key IN "
            "(SELECT dedupe_key FROM deliveries WHERE destination_id = :keep)"), {"dup": dup, "keep": keep})
        bind.execute(sa.text("UPDATE deliveries SET destination_id = :keep WHERE destination_id = :dup"),
                     {"dup": dup, "keep": keep})
        bind.execute(sa.text("DELETE FROM destinations WHERE id = :dup"), {"dup": dup})
    if repeats:
        log.warning("destinations: merged %d rows that repeated a chat into the oldest", len(repeats))


def upgrade() -> None:
    bind = op.get_bind()
    _merge_repeated_chats(bind)
    op.create_index(INDEX, 'destinations', ['chat_id', sa.text('COALESCE(thread_id, 0)')], unique=True)


def downgrade() -> None:
    op.drop_index(INDEX, table_name='destinations')
