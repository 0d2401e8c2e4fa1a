"""The tables. Change a table here, then add an Alembic migration for it
(`tests/integration/storage/test_migrations.py` fails while the two disagree)."""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import (JSON, Boolean, Column, DateTime, ForeignKey, Index, Integer, LargeBinary,
                        MetaData, String, Table, Text, UniqueConstraint, func)
from sqlalchemy.types import TypeDecorator


class UtcDateTime(TypeDecorator):
    """Aware UTC datetimes in and out, on every backend (SQLite keeps no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; use an aware UTC datetime")
        return value.astimezone(timezone.utc)

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


metadata = MetaData(naming_convention={
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
})

UTC = UtcDateTime()

# One row per source id ever polled; the state that makes a restart lose nothing.
sources = Table(
    "sources", metadata,
    Column("id", String(100), primary_key=True),
    Column("url", Text, nullable=False),
    Column("feed_url", Text),              # resolved feed URL after `type: auto` discovery
    Column("status", String(20), nullable=False, default="new"),  # new|ok|failing|paused
    Column("etag", Text),
    Column("last_modified", Text),
    Column("body_hash", String(64)),
    Column("last_poll_at", UTC),
    Column("last_success_at", UTC),
    Column("last_error_kind", String(30)),
    Column("last_error", Text),
    Column("error_count", Integer, nullable=False, default=0),
    Column("failing_since", UTC),
    Column("interval_seconds", Integer),   # current adaptive interval
    Column("ttl_minutes", Integer),        # the feed's <ttl>, kept for polls that parse nothing
    Column("next_poll_at", UTC),
    Column("items_seen", Integer, nullable=False, default=0),
    Column("last_new_item_at", UTC),
    Column("backlog_done", Boolean, nullable=False, default=False),
    Column("lease_owner", String(100)),
    Column("lease_until", UTC),
    Column("created_at", UTC, nullable=False),
    # When the source (or its current URL) first appeared in sources.yaml: what was published
    # before is its backlog, what was published after is news (migration 0008).
    Column("configured_at", UTC),
    # Set when the id left sources.yaml: such rows count nowhere; their items stay (0008).
    Column("removed_at", UTC),
    # Pollers claim due sources by next_poll_at (bot/storage/leases.py).
    Index("ix_sources_next_poll_at", "next_poll_at"),
)

stories = Table(
    "stories", metadata,
    Column("id", Integer, primary_key=True),
    Column("lead_item_id", Integer),
    Column("language", String(8)),
    Column("title_key", Text),
    Column("created_at", UTC, nullable=False),
    Column("updated_at", UTC, nullable=False),
)

# Story grouping's lookup keys of recent items (written by bot/stories/grouping.py, loaded by
# bot/stories/index.py): loose URL, title keys and MinHash LSH band keys as packed signed
# 64-bit ints, the language hashed in. Each process
# loads the recent rows into an in-memory LSH index at start and catches up by item_id.
# `ref_at` is the item's date; rows older than twice the grouping window are pruned.
story_sigs = Table(
    "story_sigs", metadata,
    Column("item_id", Integer, ForeignKey("items.id", ondelete="CASCADE"), primary_key=True,
           autoincrement=False),
    Column("ref_at", UTC, nullable=False, index=True),
    Column("sig", LargeBinary, nullable=False),   # packed little-endian int64 keys
)

items = Table(
    "items", metadata,
    Column("id", Integer, primary_key=True),
    Column("source_id", String(100), nullable=False, index=True),
    Column("guid", Text, nullable=False),
    Column("url", Text),                   # canonical
    # '' for the first item a source stores under its URL; for a later item of the same source
    # sharing that URL (press releases linking to one page), its guid: see uq_items_url (0007).
    # Each source stores its own item of a URL (0008): items of one URL join one story.
    Column("url_twin", Text, nullable=False, server_default=""),
    Column("title", Text, nullable=False),
    Column("summary", Text, nullable=False, default=""),
    Column("text", Text, nullable=False, default=""),
    Column("author", Text),
    Column("categories", JSON, nullable=False, default=list),
    Column("tags", JSON, nullable=False, default=list),
    Column("language", String(8)),
    Column("published_at", UTC),
    Column("first_seen_at", UTC, nullable=False, index=True),
    Column("is_backlog", Boolean, nullable=False, default=False),
    Column("countries", JSON, nullable=False, default=list),
    Column("regions", JSON, nullable=False, default=list),
    Column("story_id", Integer, ForeignKey("stories.id"), index=True),
    UniqueConstraint("source_id", "guid", name="uq_items_source_guid"),
    Index("uq_items_url", "url", "source_id", "url_twin", unique=True),
)

# One row per (item, theme) that matched; `explanations` is a list of
# {rule, field, terms, snippet, description}.
hits = Table(
    "hits", metadata,
    Column("id", Integer, primary_key=True),
    Column("item_id", Integer, ForeignKey("items.id", ondelete="CASCADE"), nullable=False),
    Column("theme", String(100), nullable=False, index=True),
    Column("priority", String(10), nullable=False, default="normal"),
    Column("rules", JSON, nullable=False, default=list),
    Column("explanations", JSON, nullable=False, default=list),
    Column("created_at", UTC, nullable=False, index=True),
    UniqueConstraint("item_id", "theme", name="uq_hits_item_theme"),
)

# Where Telegram messages go: chats from deliveries.yaml (origin=config) and chats
# that subscribed themselves (origin=self).
destinations = Table(
    "destinations", metadata,
    Column("id", Integer, primary_key=True),
    Column("chat_id", String(64), nullable=False),
    Column("thread_id", Integer),
    Column("name", Text),
    Column("origin", String(10), nullable=False),     # config | self
    Column("chat_type", String(20)),                  # private | group | supergroup | channel
    Column("themes", JSON),                           # null = all
    Column("regions", JSON),
    Column("languages", JSON),
    Column("alerts", String(10), nullable=False, default="digest"),
    Column("digest", String(40), nullable=False, default="daily 08:00"),
    Column("timezone", String(64)),
    Column("active", Boolean, nullable=False, default=True),
    Column("inactive_reason", Text),
    Column("last_digest_at", UTC),
    Column("created_at", UTC, nullable=False),
    # the chat id this destination had before Telegram upgraded its group to a supergroup
    # (migrate_to_chat_id): deliveries.yaml may still name the old id. Migration 0008.
    Column("migrated_from", String(64)),
    UniqueConstraint("chat_id", "thread_id", name="uq_destinations_chat_thread"),
)
# The constraint above lets a chat without a thread in twice (NULLs are distinct to it);
# this one does not (Telegram's thread ids start at 1). Migration 0006.
Index("uq_destinations_chat_anythread", destinations.c.chat_id, func.coalesce(destinations.c.thread_id, 0),
      unique=True)

# The outbox. Queued in the transaction that stores the hit; sent, then marked.
# `dedupe_key` makes a second queueing of the same thing a no-op
# (e.g. "alert:story:42" so one story alerts a destination once).
deliveries = Table(
    "deliveries", metadata,
    Column("id", Integer, primary_key=True),
    Column("destination_id", Integer, ForeignKey("destinations.id", ondelete="CASCADE"), nullable=False),
    Column("hit_id", Integer, ForeignKey("hits.id", ondelete="CASCADE")),
    Column("kind", String(10), nullable=False),          # alert | digest
    Column("dedupe_key", String(200), nullable=False),
    Column("status", String(10), nullable=False, default="queued"),  # queued|sending|sent|failed|skipped
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", UTC),
    Column("created_at", UTC, nullable=False),
    Column("sent_at", UTC),   # when it went out; set at the claim, so an attempt in flight has it too
    Column("message_id", Integer),
    Column("error", Text),
    Column("lease_owner", String(100)),
    Column("lease_until", UTC),
    UniqueConstraint("destination_id", "dedupe_key", name="uq_deliveries_dest_key"),
    Index("ix_deliveries_status_next", "status", "next_attempt_at"),
)

# When newsbot first saw each email list of deliveries.yaml: no digest goes out for a week
# that ended before then (a list added today does not get last week). Migration 0008.
email_lists = Table(
    "email_lists", metadata,
    Column("name", String(100), primary_key=True),
    Column("first_seen_at", UTC, nullable=False),
)

email_sends = Table(
    "email_sends", metadata,
    Column("id", Integer, primary_key=True),
    Column("list_name", String(100), nullable=False),
    Column("week", String(10), nullable=False),          # ISO week, e.g. 2026-W47
    Column("recipient", Text, nullable=False),
    Column("status", String(10), nullable=False, default="queued"),  # queued|sent|failed
    Column("attempts", Integer, nullable=False, default=0),
    Column("error", Text),
    Column("message_id", Text),
    Column("created_at", UTC, nullable=False),
    Column("sent_at", UTC),
    UniqueConstraint("list_name", "week", "recipient", name="uq_email_sends_list_week_rcpt"),
)

feedback = Table(
    "feedback", metadata,
    Column("id", Integer, primary_key=True),
    Column("hit_id", Integer, ForeignKey("hits.id", ondelete="CASCADE"), nullable=False),
    Column("user_id", String(64), nullable=False),
    Column("vote", Integer, nullable=False),             # +1 relevant, -1 not relevant
    Column("created_at", UTC, nullable=False),
    UniqueConstraint("hit_id", "user_id", name="uq_feedback_hit_user"),
)

# Small named values: Telegram's update offset, leader locks, last weekly run.
kv = Table(
    "kv", metadata,
    Column("key", String(200), primary_key=True),
    Column("value", Text),
    Column("expires_at", UTC),
)

# Articles members reported as missed (Telegram /missed URL THEME; bot/storage/reported.py owns
# the rows): the page as read then (title, lead, language), what the rules said of it, and
# the coordinators' decision. An accepted report points at the item and hit it became.
reported_misses = Table(
    "reported_misses", metadata,
    Column("id", Integer, primary_key=True),
    Column("url", Text, nullable=False),                 # canonical
    Column("title", Text, nullable=False, default=""),
    Column("summary", Text, nullable=False, default=""),
    Column("language", String(8)),
    Column("theme", String(100), nullable=False),
    Column("matched", JSON, nullable=False, default=list),  # themes the rules gave it when reported
    Column("chat_id", String(64), nullable=False),
    Column("user_id", String(64), nullable=False),
    Column("reported_at", UTC, nullable=False),
    Column("status", String(10), nullable=False, default="reported"),  # reported|accepted|dismissed
    Column("decided_by", String(64)),
    Column("decided_at", UTC),
    Column("item_id", Integer, ForeignKey("items.id", ondelete="SET NULL")),
    Index("ix_reported_misses_user_reported_at", "user_id", "reported_at"),
    Index("ix_reported_misses_status", "status"),
)
