"""`newsbot db migrate` and `newsbot db copy`: schema upgrades and moving to another database.

`copy` is how an SQLite installation moves to PostgreSQL (or back) without losing anything:
stop the daemon, copy, point DATABASE_URL at the new database, start again."""

from __future__ import annotations

import sys

import click

from bot.cli.common import (EXIT_CONFIG, EXIT_PROBLEMS, App, database_error, echo_json, format_option, handle_errors,
                            pass_app)


def _current_revision(engine) -> str | None:  # noqa: ANN001
    from alembic.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def _redact(url: str) -> str:
    from bot.config.settings import redact_url

    return redact_url(url)


def _unreachable(exc: Exception, urls: list[str]) -> None:
    """A database that cannot be reached: one clear line, no password, exit 2."""
    click.echo(f"Error: {database_error(exc, urls)}", err=True)
    sys.exit(EXIT_CONFIG)


def _copy_url_problems(source_url: str, target_url: str) -> list[str]:
    """What is wrong with the URLs of `db copy`, checked before any engine exists (making one
    creates a SQLite file's directory, connecting creates the file): a URL SQLAlchemy cannot
    open, or a SQLite source that does not exist (a typo would copy an empty new database)."""
    from pathlib import Path

    from sqlalchemy.engine import make_url

    from bot.config.settings import database_url_problem

    problems = []
    for option, url in (("--from", source_url), ("--to", target_url)):
        if why := database_url_problem(url):
            problems.append(f"{option}: {why}")
    if not problems:
        parsed = make_url(source_url)
        path = parsed.database or ""
        in_memory = path in ("", ":memory:") or path.startswith("file:")
        if parsed.get_backend_name() == "sqlite" and not in_memory and not Path(path).is_file():
            problems.append(f"--from: the SQLite database {path} does not exist "
                            "(check the path; --from defaults to DATABASE_URL)")
    return problems


@click.group()
def db() -> None:
    """Database maintenance: migrate the schema, copy to another database."""


@db.command()
@format_option("text", "json")
@pass_app
@handle_errors
def migrate(app: App, fmt: str) -> None:
    """Upgrade the database of DATABASE_URL to the newest schema and print its revision."""
    from bot.storage.db import make_engine
    from bot.storage.db import migrate as upgrade

    from sqlalchemy.exc import OperationalError

    engine = make_engine(app.settings.database_url)
    try:
        before = _current_revision(engine)
        upgrade(engine)
        after = _current_revision(engine)
    except OperationalError as exc:
        _unreachable(exc, [app.settings.database_url])
    finally:
        engine.dispose()
    if fmt == "json":
        echo_json({"database": _redact(app.settings.database_url), "from": before, "revision": after})
    elif before == after:
        click.echo(f"{_redact(app.settings.database_url)}: at revision {after} (already up to date)")
    else:
        click.echo(f"{_redact(app.settings.database_url)}: upgraded from {before or 'empty'} to revision {after}")


@db.command()
@click.option("--from", "source_url", metavar="URL", default=None,
              help="Database to copy from (default: DATABASE_URL, i.e. the current installation).")
@click.option("--to", "target_url", metavar="URL", required=True,
              help="Database to copy into, e.g. postgresql://user:pass@host/newsbot. Migrated first; must be empty.")
@click.option("--force", is_flag=True, help="Replace the rows of a target that is not empty.")
@click.option("--batch", type=click.IntRange(1, 100_000), default=2000, show_default=True,
              help="Rows per insert.")
@format_option("text", "json")
@pass_app
@handle_errors
def copy(app: App, source_url: str | None, target_url: str, force: bool, batch: int, fmt: str) -> None:
    """Copy every table, ids included, from one database to another and verify the counts.

    Stop `newsbot run` first: rows written during the copy would be missing."""
    from sqlalchemy.exc import OperationalError

    from bot.storage.copy import CopyError, copy_database
    from bot.storage.db import make_engine

    source_url = source_url or app.settings.database_url
    if problems := _copy_url_problems(source_url, target_url):
        for problem in problems:
            click.echo(f"Error: {problem}", err=True)
        sys.exit(EXIT_CONFIG)
    source, target = make_engine(source_url), make_engine(target_url)
    show = sys.stderr.isatty() and fmt != "json"

    def progress(table: str, done: int, total: int) -> None:
        click.echo(f"\r{table}: {done}/{total}", err=True, nl=done >= total)

    try:
        results = copy_database(source, target, force=force, batch=batch, progress=progress if show else None)
    except CopyError as exc:
        click.echo(f"Error: {exc}", err=True)
        if exc.hint:
            click.echo(f"Hint: {exc.hint}", err=True)
        sys.exit(EXIT_PROBLEMS)
    except OperationalError as exc:
        _unreachable(exc, [source_url, target_url])
    finally:
        source.dispose()
        target.dispose()
    if fmt == "json":
        echo_json({"from": _redact(source_url), "to": _redact(target_url),
                   "tables": [{"table": r.table, "source_rows": r.source_rows, "target_rows": r.target_rows}
                              for r in results]})
        return
    width = max(len(r.table) for r in results)
    click.echo(f"{'table':<{width}}  {'source':>9}  {'target':>9}")
    for r in results:
        click.echo(f"{r.table:<{width}}  {r.source_rows:>9}  {r.target_rows:>9}")
    click.echo(f"copied {sum(r.target_rows for r in results)} rows from {_redact(source_url)} "
               f"to {_redact(target_url)}; row counts verified")


def register(group: click.Group) -> None:
    group.add_command(db)
