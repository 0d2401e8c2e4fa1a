"""bot.storage.fulltext on both backends: FTS5 on SQLite, the tsvector index on PostgreSQL;
the same answers, accents folded, user text never parsed as query syntax."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import insert

from bot.storage import fulltext
from bot.storage.schema import items

T0 = datetime(2026, 11, 1, tzinfo=timezone.utc)
DOCS = [
    ("Rétention des migrants à Calais", "Le centre de rétention", ""),
    ("Detention centre report", "", "Migrants held in detention near Evros"),
    ("Sea rescue off Lampedusa", "NGO ship", "Ελλάδα και μετανάστες"),
    ("Court ruling on asylum", "", "The court's ruling on detention of children"),
]


@pytest.fixture
def ids(engine):
    out = []
    with engine.begin() as conn:
        for n, (title, summary, text) in enumerate(DOCS):
            out.append(conn.execute(insert(items).values(
                source_id="s", guid=f"g{n}", url=f"https://s.example/{n}", title=title, summary=summary,
                text=text, categories=[], tags=[], countries=[], regions=[], is_backlog=False,
                first_seen_at=T0 + timedelta(days=n))).inserted_primary_key[0])
    return out


@pytest.mark.parametrize("terms, kw, want", [
    (["retention"], {}, [0]),                          # accent folded
    (["detention"], {}, [1, 3]),
    (["detent"], {"prefix": [True]}, [1, 3]),
    (["migrant"], {"prefix": [True]}, [0, 1]),
    (["detention", "children"], {}, [3]),              # AND
    (["lampedusa", "calais"], {"any_term": True}, [0, 2]),
    (["ελλάδα"], {}, [2]),
    (["detention centre"], {}, [1]),                   # a phrase
    (["court's"], {}, [3]),
    (["a'b & c | !(d"], {}, []),                       # operators are only text
])
def test_same_answers_on_both_backends(engine, ids, terms, kw, want):
    with engine.connect() as conn:
        assert fulltext.folds_accents(conn)
        got = fulltext.search_item_ids(conn, terms, **kw)
    assert sorted(got) == sorted(ids[i] for i in want)


def test_since_and_limit(engine, ids):
    with engine.connect() as conn:
        assert fulltext.search_item_ids(conn, ["detention"], since=T0 + timedelta(days=2)) == [ids[3]]
        assert len(fulltext.search_item_ids(conn, ["detention"], limit=1)) == 1


def test_tsquery_quotes_terms():
    assert fulltext.tsquery_expression(["it's", "a\\b"], prefix=[True]) == "'it''s':* & 'a\\\\b'"


# SQLite's reflection skips expression indexes (uq_destinations_chat_anythread) with a
# warning; test_migrations checks that index by what it refuses.
@pytest.mark.filterwarnings("ignore:.*expression-based index:sqlalchemy.exc.SAWarning",
                            "ignore:.*expression-based index:UserWarning")
def test_migrations_match_schema_on_both_backends(engine):
    """What test_migrations checks on SQLite, on PostgreSQL too; the full-text indexes live
    outside bot/storage/schema.py on purpose (FTS5 tables, the GIN expression index)."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from bot.storage.schema import metadata

    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": False}), metadata)
    diff = [d for d in diff if not (d[0] == "remove_table" and d[1].name.startswith("items_fts"))
            and not (d[0] == "remove_index" and d[1].name == "ix_items_fts")]
    assert diff == [], f"schema.py and the migrations disagree: {diff}"
