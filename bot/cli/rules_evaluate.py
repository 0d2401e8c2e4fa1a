"""`newsbot rules evaluate`: the rules measured against labelled items (a JSONL file with gold
`themes`, or members' votes with `--from-feedback`): precision, recall and F1 per theme,
any-theme recall and off-topic alarms per language, then the misses (with their near misses)
and the false alarms (with what matched), and thresholds that exit 1 for a coordinator's CI.

Composes bot.match.evaluate (metrics), bot.match.near_miss (why a theme missed),
bot.stories.feedback (votes as labels) and the JSONL reading of `rules test --file`. Prints; never
writes to the database. The summary comes first: coordinators pipe it into `head`.
"""

from __future__ import annotations

import json
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable, Iterator, Sequence

import click
from click.core import ParameterSource

from bot.cli.common import EXIT_PROBLEMS, App, echo_json, format_option, handle_errors, pass_app
from bot.cli.rules import _check_lang, _counting, check_theme_options, item_from, rules
from bot.config.durations import parse_duration
from bot.errors import NewsbotError
from bot.match.evaluate import Evaluation, LabelError, Labelled, ItemResult, evaluate, gold_themes, thresholds

SHOW = ("misses", "false-alarms", "all")


def read_labelled(path: Path, slugs: Sequence[str]) -> Iterator[Labelled]:
    """Each non-empty line of a labelled JSONL file; a line that cannot be read as gold stops
    everything with `FILE:LINE: why` (nothing is guessed)."""
    from bot.config.fields import language_problem

    with path.open(encoding="utf-8") as fh:
        for number, line in enumerate(fh, 1):
            if not line.strip():
                continue
            where = f"{path}:{number}"
            try:
                raw = json.loads(line)
            except json.JSONDecodeError as exc:
                raise NewsbotError(f"{where}: not valid JSON ({exc.msg} at column {exc.colno})") from None
            if not isinstance(raw, dict):
                raise NewsbotError(f"{where}: expected a JSON object with title, text and themes",
                                   hint='one item a line: {"title": ..., "text": ..., "lang": "en", "themes": ["asylum"]}')
            try:
                gold = gold_themes(raw, slugs)
            except LabelError as exc:
                raise NewsbotError(f"{where}: {exc}") from None
            lang = raw.get("lang")
            if isinstance(lang, str) and (why := language_problem(lang)):
                raise NewsbotError(f"{where}: \"lang\": {why}")
            key = raw["id"] if isinstance(raw.get("id"), (str, int)) else f"line {number}"
            yield Labelled(key, item_from(raw, f"{path.name}:{number}"), gold)


def feedback_labelled(app: App, since: str, slugs: Sequence[str]) -> tuple[list[Labelled], dict[str, int]]:
    """Stored items judged by members' votes (bot.stories.feedback), and the judgements dropped
    because their theme is no longer in rules/ (theme -> items)."""
    from bot.stories.feedback import labelled_from_feedback

    cutoff = datetime.now(timezone.utc) - parse_duration(since)
    with app.engine.connect() as conn:
        labels = labelled_from_feedback(conn, cutoff)
    known = set(slugs)
    dropped: dict[str, int] = {}
    out = []
    for label in labels:
        for theme in label.judged - known:
            dropped[theme] = dropped.get(theme, 0) + 1
        judged = label.judged & known
        if judged:
            out.append(Labelled(label.item_id, label.item, label.gold & known, judged))
    return out, dropped


def _check_since(ctx: click.Context, param: click.Parameter, value: str) -> str:
    try:
        parse_duration(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None
    return value


def _check_langs(ctx: click.Context, param: click.Parameter, value: tuple[str, ...]) -> tuple[str, ...]:
    for code in value:
        _check_lang(ctx, param, code)
    return value


@rules.command("evaluate")
@click.option("--file", "file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Labelled JSONL: one item a line with title, text, optional lang, and themes (gold slugs, [] off-topic).")
@click.option("--from-feedback", is_flag=True, help="Label stored items by members' votes instead of a file.")
@click.option("--since", default="90d", show_default=True, callback=_check_since,
              help="With --from-feedback: hits of this period.")
@click.option("--theme", "themes", multiple=True, help="Evaluate only this theme (repeatable).")
@click.option("--lang", "langs", multiple=True, callback=_check_langs, help="Only items in this language (repeatable).")
@click.option("--show", type=click.Choice(SHOW), default=None,
              help="After the summary, list the misses (with near misses), the false alarms, or both.")
@click.option("--limit", type=click.IntRange(1), default=None, help="List at most N items of each kind.")
@click.option("--min-recall", type=click.FloatRange(0, 1), default=None, help="Exit 1 when micro recall is below.")
@click.option("--min-f1", type=click.FloatRange(0, 1), default=None, help="Exit 1 when micro F1 is below.")
@click.option("--max-alarms", type=click.FloatRange(0, 1), default=None,
              help="Exit 1 when the off-topic alarm rate (0-1) is above.")
@format_option("table", "json", default="table")
@pass_app
@handle_errors
def evaluate_cmd(app: App, file: Path | None, from_feedback: bool, since: str, themes: tuple[str, ...],
                 langs: tuple[str, ...], show: str | None, limit: int | None, min_recall: float | None,
                 min_f1: float | None, max_alarms: float | None, fmt: str) -> None:
    """Precision, recall and F1 of the rules against labelled items, misses and false alarms."""
    from bot.config.themes import load_themes

    if (file is None) == (not from_feedback):
        raise click.UsageError("give --file LABELLED.jsonl or --from-feedback (one of them)")
    if file is not None and click.get_current_context().get_parameter_source("since") != ParameterSource.DEFAULT:
        raise click.UsageError("--since goes with --from-feedback (a file is read whole)")
    theme_set = load_themes(app.config_dir)
    slugs = theme_set.slugs
    selected = check_theme_options(themes, slugs)
    matcher = theme_set.matcher()
    notes: list[str] = []
    labelled: Iterable[Labelled]
    if file is not None:
        labelled, source = read_labelled(file, slugs), str(file)
    else:
        labelled, dropped = feedback_labelled(app, since, slugs)
        source = f"members' votes on hits of the last {since}"
        if dropped:
            notes.append("ignored votes on themes no longer in rules/: "
                         + ", ".join(f"{t} ({n} items)" for t, n in sorted(dropped.items())))
    if langs:
        wanted = set(langs)
        labelled = (entry for entry in labelled if (entry.item.language or "unknown") in wanted)
    if sys.stderr.isatty():
        labelled = _counting(labelled, "items evaluated")
    result = evaluate(matcher, labelled, selected)
    checks = thresholds(result, min_recall, min_f1, max_alarms)
    show_misses = show in ("misses", "all")
    show_alarms = show in ("false-alarms", "all")
    if fmt == "json":
        out: dict[str, Any] = {"source": source, **result.to_dict(), "thresholds": [t.to_dict() for t in checks],
                               "notes": notes}
        if show_misses:
            out["misses"] = [_miss_dict(matcher, o) for o in result.misses()[:limit]]
        if show_alarms:
            out["false_alarms"] = [_alarm_dict(o) for o in result.false_alarms()[:limit]]
        echo_json(out)
    else:
        _echo_summary(result, source, checks, notes)
        if show_misses:
            _echo_misses(matcher, result.misses(), limit)
        if show_alarms:
            _echo_false_alarms(result.false_alarms(), limit)
    sys.stdout.flush()
    failed = [t for t in checks if not t.ok]
    for t in failed:
        click.echo(f"threshold {t.sentence()}", err=True)
    if failed:
        sys.exit(EXIT_PROBLEMS)


# --- table output ------------------------------------------------------------------------------

def _num(x: float | None, width: int = 6) -> str:
    return f"{'-':>{width}}" if x is None else f"{x:>{width}.3f}"


def _pct(x: float | None) -> str:
    return f"{'-':>6}" if x is None else f"{x:>6.1%}"


def _echo_summary(r: Evaluation, source: str, checks: list, notes: list[str]) -> None:
    micro, overall = r.micro, r.overall
    click.echo(f"{r.items} items ({source}): {overall.on_topic} on-topic, {overall.off_topic} off-topic")
    click.echo(f"micro P {_num(micro.precision, 0)}  R {_num(micro.recall, 0)}  F1 {_num(micro.f1, 0)}   "
               f"macro F1 {_num(r.macro_f1, 0)}   any-theme recall {_num(overall.recall, 0)}   "
               f"off-topic alarms {overall.alarms}/{overall.off_topic} ({_pct(overall.alarm_rate).strip()})")
    for note in notes:
        click.echo(f"note: {note}")
    click.echo("")
    click.echo(f"{'theme':<18} {'pos':>5} {'tp':>5} {'fp':>5} {'fn':>5} {'prec':>6} {'recall':>6} {'F1':>6}")
    for slug, c in r.themes.items():
        click.echo(f"{slug:<18} {c.positives:>5} {c.tp:>5} {c.fp:>5} {c.fn:>5} "
                   f"{_num(c.precision)} {_num(c.recall)} {_num(c.f1)}")
    click.echo(f"{'micro':<18} {micro.positives:>5} {micro.tp:>5} {micro.fp:>5} {micro.fn:>5} "
               f"{_num(micro.precision)} {_num(micro.recall)} {_num(micro.f1)}")
    click.echo(f"{'macro F1':<18} {'':>5} {'':>5} {'':>5} {'':>5} {'':>6} {'':>6} {_num(r.macro_f1)}")
    click.echo("")
    click.echo(f"{'language':<9} {'items':>6} {'on-topic':>8} {'found':>6} {'recall':>6} "
               f"{'off-topic':>9} {'alarms':>6} {'rate':>6}")
    rows = sorted(r.languages.items()) + [("all", overall)]
    for lang, lc in rows:
        click.echo(f"{lang:<9} {lc.items:>6} {lc.on_topic:>8} {lc.found:>6} {_num(lc.recall)} "
                   f"{lc.off_topic:>9} {lc.alarms:>6} {_pct(lc.alarm_rate)}")
    if checks:
        click.echo("")
        for t in checks:
            click.echo(f"threshold {t.sentence()}")


def _head(o: ItemResult) -> str:
    item = o.labelled.item
    title = " ".join((item.title or item.text or "").split())
    return f"- {o.labelled.key} [{item.language or '?'}] {title[:100]}"


def _listing(kind: str, outcomes: list[ItemResult], limit: int | None) -> list[ItemResult]:
    shown = outcomes[:limit]
    more = f", showing {len(shown)}" if len(shown) < len(outcomes) else ""
    click.echo(f"\n{kind} ({len(outcomes)} items{more}):")
    return shown


def _echo_misses(matcher: Any, outcomes: list[ItemResult], limit: int | None) -> None:
    from bot.match.near_miss import theme_miss

    for o in _listing("misses", outcomes, limit):
        click.echo(_head(o))
        hit = ", ".join(sorted(o.predicted)) or "none"
        click.echo(f"    gold: {', '.join(sorted(o.gold))}; hit: {hit}")
        for slug in o.missed:
            miss = theme_miss(matcher, o.labelled.item, slug)
            click.echo(f"    missed {slug}: {miss.summary() or 'near misses:'}")
            for near in miss.near:
                click.echo(f"      {near.rule}: {near.sentence()}")


def _echo_false_alarms(outcomes: list[ItemResult], limit: int | None) -> None:
    for o in _listing("false alarms", outcomes, limit):
        click.echo(_head(o))
        click.echo(f"    gold: {', '.join(sorted(o.gold)) or 'none (off-topic)'}")
        for hit in o.hits:
            for e in hit.explanations:
                click.echo(f"    hit {hit.theme} by {e.rule}: matched {e.description}")
                if e.terms:
                    click.echo(f"      words: {', '.join(e.terms)}")
                click.echo(f"      {e.snippet}")


# --- JSON output -------------------------------------------------------------------------------

def _item_dict(o: ItemResult) -> dict:
    item = o.labelled.item
    return {"id": o.labelled.key, "language": item.language, "title": item.title, "gold": sorted(o.gold),
            "hit": sorted(o.predicted)}


def _miss_dict(matcher: Any, o: ItemResult) -> dict:
    from bot.match.near_miss import theme_miss

    return {**_item_dict(o), "missed": [theme_miss(matcher, o.labelled.item, slug).to_dict() for slug in o.missed]}


def _alarm_dict(o: ItemResult) -> dict:
    return {**_item_dict(o), "false_alarms": [h.to_dict() for h in o.hits]}
