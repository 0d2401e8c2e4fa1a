"""`newsbot rules test` and `newsbot rules backtest`: try the theme rules on a text, on a JSONL
file of items, or on the items stored in the database, to tune them before committing.

Composes bot.config.themes (rules), bot.match (matching), bot.tagging.countries (tags) and, for the
backtest without --file, the items table and members' votes (bot.stories.feedback: each rule's
precision over the stored hits of the period, and the noisiest rules). `backtest --against`
is in `rules_against.py`, `rules evaluate` in `rules_evaluate.py`. Prints; never writes to
the database.
"""

from __future__ import annotations

import json
import sys
from collections import Counter, defaultdict
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterable, Iterator, Sequence, TypeVar

import click

from bot.cli.common import App, echo_json, format_option, handle_errors, pass_app
from bot.config.durations import parse_duration
from bot.errors import NewsbotError
from bot.model import Item

if TYPE_CHECKING:
    from bot.cli.rules_against import ItemKey
    from bot.config.themes import ThemeSet
    from bot.match.matcher import Matcher

T = TypeVar("T")

SAMPLES = 3


def _countries(item: Item) -> tuple[list[str], list[str]]:
    from bot.tagging.countries import tag_countries   # builds its automaton: only when asked

    text = "\n".join(x for x in (item.title, item.summary, item.text) if x)
    return tag_countries(text, item.language)


def _detect(text: str) -> str | None:
    from bot.tagging.language import detect_language  # loads the language model: only when asked

    return detect_language(text)


def result_of(matcher: Matcher, item: Item) -> dict:
    """What `rules test` reports for one item (the JSON of one line of the batch form)."""
    hits = matcher.match(item)
    countries, regions = _countries(item)
    return {
        "language": item.language,
        "themes": [h.theme for h in hits],
        "rules": [r for h in hits for r in h.rules],
        "countries": countries,
        "regions": regions,
        "explanations": [dict(e.to_dict(), theme=h.theme) for h in hits for e in h.explanations],
        "hits": [h.to_dict() for h in hits],
    }


def read_items(path: Path) -> Iterator[tuple[int, dict, Item]]:
    """(line number, the raw object, an Item) for each non-empty line of a JSONL file."""
    with path.open(encoding="utf-8") as fh:
        for number, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                raw = json.loads(line)
            except json.JSONDecodeError as exc:
                raise NewsbotError(f"{path}:{number}: not valid JSON ({exc.msg})",
                                   hint="one JSON object per line: {\"title\": ..., \"text\": ..., \"lang\": ...}") from None
            if not isinstance(raw, dict):
                raise NewsbotError(f"{path}:{number}: expected a JSON object with title and text")
            yield number, raw, item_from(raw, f"{path.name}:{number}")


def item_from(raw: dict, guid: str) -> Item:
    def text(key: str) -> str:
        value = raw.get(key)
        return value if isinstance(value, str) else ""

    tags = raw.get("tags")
    title, summary, body = text("title"), text("summary"), text("text")
    # A line without `lang` is detected, as `rules test TEXT` and the ingest pipeline do:
    # left unknown it would be matched without stemming, and language-bound rules never fire.
    language = raw.get("lang") or raw.get("language") or _detect(f"{title}. {summary}\n{body}")
    return Item(source_id=text("source_id") or text("source") or "test", guid=str(raw.get("id") or guid),
                url=text("url") or None, title=title, summary=summary, text=body,
                language=language, tags=[str(t) for t in tags] if isinstance(tags, list) else [])


@click.group()
def rules() -> None:
    """Try the theme rules in rules/ on texts, files of items, or stored items."""


def check_theme_options(themes: Sequence[str], slugs: Sequence[str]) -> list[str] | None:
    """The --theme values, each an existing slug (else a usage error with a suggestion);
    None when none was given (every theme)."""
    import difflib

    for slug in themes:
        if slug not in slugs:
            close = difflib.get_close_matches(slug, list(slugs), n=1)
            hint = f"did you mean {close[0]!r}?" if close else f"themes: {', '.join(slugs)}"
            raise click.BadParameter(f"no theme {slug!r} in rules/ ({hint})", param_hint="--theme")
    return list(dict.fromkeys(themes)) or None


def _check_lang(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """`--lang fre` would match nothing, silently: items are tagged with codes such as fr."""
    from bot.config.fields import language_problem

    if value is not None and (why := language_problem(value)):
        raise click.BadParameter(why)
    return value


@rules.command("test")
@click.argument("text", required=False)
@click.option("--title", default="", help="Title of the test item.")
@click.option("--lang", default=None, callback=_check_lang, help="Language of the item (detected when left out).")
@click.option("--source", "source_id", default="test", show_default=True, help="Source id, for source: rules.")
@click.option("--tag", "tags", multiple=True, help="A source tag, for tag: rules (repeatable).")
@click.option("--file", "file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="JSONL file: one item a line with title, text (or summary), optional lang.")
@format_option("text", "json")
@pass_app
@handle_errors
def test_cmd(app: App, text: str | None, title: str, lang: str | None, source_id: str, tags: tuple[str, ...],
             file: Path | None, fmt: str) -> None:
    """Which themes and rules match TEXT (or each item of --file), and why."""
    from bot.config.themes import load_themes

    if file is None and text is None and not title:
        raise click.UsageError("give a TEXT, --title, or --file ITEMS.jsonl")
    if file is not None and (text is not None or title):
        raise click.UsageError("--file cannot be combined with TEXT or --title")
    matcher = load_themes(app.config_dir).matcher()
    if file is not None:
        for _, raw, item in read_items(file):
            out = result_of(matcher, item)
            if "id" in raw:
                out = {"id": raw["id"], **out}
            if fmt == "json":
                click.echo(json.dumps(out, ensure_ascii=False))
            else:
                click.echo(f"# {item.title[:100]}")
                _echo_result(out)
        return
    item = Item(source_id=source_id, guid="cli", url=None, title=title, text=text or "",
                language=lang or _detect(f"{title}\n{text or ''}"), tags=list(tags))
    out = result_of(matcher, item)
    if fmt == "json":
        echo_json(out)
    else:
        _echo_result(out)


def _echo_result(out: dict) -> None:
    click.echo(f"language: {out['language'] or 'unknown (matched without stemming)'}")
    if not out["hits"]:
        click.echo("no theme matches")
    for hit in out["hits"]:
        click.echo(f"theme {hit['theme']} ({hit['priority']}): rules {', '.join(hit['rules'])}")
        for e in hit["explanations"]:
            click.echo(f"  {e['rule']}: matched {e['description']}")
            if e["terms"]:
                click.echo(f"    words: {', '.join(e['terms'])}")
            click.echo(f"    {e['snippet']}")
    if out["countries"]:
        click.echo(f"countries: {', '.join(out['countries'])} ({', '.join(out['regions'])})")


def stored_items(app: App, since: timedelta) -> Iterator[tuple[ItemKey, Item]]:
    from bot.storage import repo

    with app.engine.connect() as conn:
        for row in repo.stream_items_since(conn, datetime.now(timezone.utc) - since):
            yield row.id, Item(source_id=row.source_id, guid=str(row.id), url=row.url, title=row.title or "",
                               summary=row.summary or "", text=row.text or "", language=row.language,
                               tags=list(row.tags or []))


def backtest(themes: ThemeSet, items: Iterable[tuple[ItemKey, Item]], samples: int = SAMPLES) -> dict:
    """Hits per theme and rule, by language, with samples: what `rules backtest` reports."""
    matcher = themes.matcher()
    total = hit_items = 0
    lang_items: Counter = Counter()
    lang_hit: Counter = Counter()
    theme_hits: Counter = Counter()
    theme_lang: dict[str, Counter] = defaultdict(Counter)
    theme_excluded: Counter = Counter()
    rule_hits: Counter = Counter()
    theme_samples: dict[str, list] = defaultdict(list)
    for key, item in items:
        total += 1
        lang = item.language or "unknown"
        lang_items[lang] += 1
        prog, _, hit, excluded = matcher.matching(item)
        for t_index in excluded:
            theme_excluded[matcher.themes[t_index].slug] += 1
        if not hit:
            continue
        hit_items += 1
        lang_hit[lang] += 1
        for t_index, r_indexes in hit.items():
            slug = matcher.themes[t_index].slug
            theme_hits[slug] += 1
            theme_lang[slug][lang] += 1
            for r in r_indexes:
                rule_hits[prog.rules[r][1].id] += 1
            if len(theme_samples[slug]) < samples:
                explained = next(h for h in matcher.match(item) if h.theme == slug)
                first = explained.explanations[0] if explained.explanations else None
                theme_samples[slug].append({
                    "id": key, "language": item.language, "title": item.title, "rules": explained.rules,
                    "matched": first.description if first else None, "snippet": first.snippet if first else None})

    def share(n: int, of: int) -> float:
        return round(n / of, 4) if of else 0.0

    report_themes = []
    for theme in themes.themes:
        report_themes.append({
            "theme": theme.slug, "priority": theme.priority, "hits": theme_hits[theme.slug],
            "share": share(theme_hits[theme.slug], total),
            "excluded": theme_excluded[theme.slug],
            "by_language": dict(sorted(theme_lang[theme.slug].items())),
            "rules": [{"rule": r.id, "hits": rule_hits[r.id]} for r in theme.rules],
            "samples": theme_samples[theme.slug],
        })
    return {
        "items": total, "items_hit": hit_items, "share_hit": share(hit_items, total),
        "by_language": {lang: {"items": n, "hit": lang_hit[lang], "share": share(lang_hit[lang], n)}
                        for lang, n in sorted(lang_items.items())},
        "themes": report_themes,
        "rules_without_hits": [r.id for t in themes.themes for r in t.rules if not rule_hits[r.id]],
    }


@rules.command("backtest")
@click.option("--since", default="30d", show_default=True, help="Stored items first seen within this long.")
@click.option("--file", "file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Run on a JSONL file of items instead of the database.")
@click.option("--samples", default=SAMPLES, show_default=True, type=click.IntRange(0, 100),
              help="Sample hits shown per theme.")
@click.option("--theme", "theme_slugs", multiple=True, help="Only this theme (repeatable).")
@click.option("--against", type=click.Path(exists=True, file_okay=False, path_type=Path), default=None,
              help="Another rules directory (the baseline): the hits gained and lost, item by item.")
@click.option("--all", "show_all", is_flag=True, help="Also list the rules with no hit (text output).")
@format_option("text", "json")
@pass_app
@handle_errors
def backtest_cmd(app: App, since: str, file: Path | None, samples: int, theme_slugs: tuple[str, ...],
                 against: Path | None, show_all: bool, fmt: str) -> None:
    """Run the current rules on stored items (or --file): hits per theme and rule, samples."""
    from bot.cli.rules_against import Comparison, against_folder, echo_comparison
    from bot.config.themes import ThemeSet, load_themes

    try:
        window = parse_duration(since)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--since") from None
    themes = load_themes(app.config_dir)
    selected = check_theme_options(theme_slugs, themes.slugs)
    if selected is not None:
        themes = ThemeSet([t for t in themes if t.slug in selected])
    comparison = None
    if against is not None:
        base = load_themes(app.config_dir, against_folder(against))
        if selected is not None:
            base = ThemeSet([t for t in base if t.slug in selected])
        comparison = Comparison(themes, base, str(against))
    if file is not None:
        source: Iterable[tuple[ItemKey, Item]] = ((raw.get("id", number), item)
                                                  for number, raw, item in read_items(file))
    else:
        source = stored_items(app, window)
    if fmt == "text" and sys.stderr.isatty():
        source = _counting(source, "items matched")
    if comparison is not None:
        source = comparison.track(source)
    report = backtest(themes, source, samples)
    report["source"] = str(file) if file is not None else f"database, items of the last {since}"
    if file is None:
        add_feedback(report, app, window)
    if comparison is not None:
        report["against"] = comparison.to_dict()
    if fmt == "json":
        echo_json(report)
        return
    _echo_backtest(report, show_all, echo_comparison if comparison is not None else None)


def _counting(items: Iterable[T], label: str, every: int = 500) -> Iterator[T]:
    """`items` unchanged, counted on stderr as they go (a terminal's progress line)."""
    done = 0
    for done, item in enumerate(items, 1):
        if done % every == 0:
            click.echo(f"\r{done} {label}", nl=False, err=True)
        yield item
    click.echo(f"\r{done} {label}", err=True)


def add_feedback(report: dict, app: App, window: timedelta) -> None:
    """Members' votes on the stored hits of the period: per rule (votes_up, votes_down,
    precision: None without votes) and the noisiest rules (lowest smoothed precision)."""
    from bot.stories.feedback import noisiest_rules, rule_stats

    since = datetime.now(timezone.utc) - window
    with app.engine.connect() as conn:
        stats = rule_stats(conn, since)
        noisy = noisiest_rules(conn, since)
    per_rule: dict[str, list[int]] = {}
    for s in stats:
        acc = per_rule.setdefault(s.rule, [0, 0])
        acc[0] += s.votes_up
        acc[1] += s.votes_down
    for theme in report["themes"]:
        for rule in theme["rules"]:
            up, down = per_rule.get(rule["rule"], (0, 0))
            rule.update(votes_up=up, votes_down=down,
                        precision=round(up / (up + down), 3) if up + down else None)
    report["noisiest_rules"] = [s.to_dict() for s in noisy]


def _echo_backtest(r: dict, show_all: bool = False, echo_against: Callable[[dict], None] | None = None) -> None:
    """The report as text; rules without hits are counted, and listed only with --all; the
    comparison with --against comes right after the totals (before the long per-theme part)."""
    click.echo(f"{r['items']} items ({r['source']}), {r['items_hit']} hit ({r['share_hit']:.1%})")
    for lang, s in r["by_language"].items():
        click.echo(f"  {lang}: {s['hit']}/{s['items']} hit ({s['share']:.1%})")
    if echo_against is not None:
        echo_against(r["against"])
    for t in r["themes"]:
        langs = ", ".join(f"{k} {v}" for k, v in t["by_language"].items())
        click.echo(f"\n{t['theme']} ({t['priority']}): {t['hits']} hits ({t['share']:.1%})"
                   + (f" [{langs}]" if langs else "") + (f", {t['excluded']} dropped by exclude" if t["excluded"] else ""))
        for rule in t["rules"]:
            votes = rule.get("votes_up", 0) + rule.get("votes_down", 0)
            if not rule["hits"] and not votes and not show_all:
                continue
            precision = (f"  {rule['precision']:.0%} relevant ({rule['votes_up']} of {votes} votes)"
                         if votes else "")
            click.echo(f"  {rule['rule']:<32} {rule['hits']:>6}{precision}")
        for s in t["samples"]:
            click.echo(f"  - [{s['language'] or '?'}] {s['title'][:90]}")
            if s["matched"]:
                click.echo(f"      matched {s['matched']}")
    if r["rules_without_hits"] and show_all:
        click.echo(f"\nrules without hits: {', '.join(r['rules_without_hits'])}")
    elif r["rules_without_hits"]:
        click.echo(f"\nrules without hits: {len(r['rules_without_hits'])} (--all lists them)")
    if "noisiest_rules" in r:
        noisy = ", ".join(f"{n['rule']} {n['precision']:.0%} of {n['votes']}" for n in r["noisiest_rules"])
        click.echo(f"\nnoisiest rules by member votes: {noisy or 'none with 3 or more votes yet'}")
    sys.stdout.flush()


def register(group: click.Group) -> None:
    from bot.cli import rules_evaluate  # noqa: F401  (adds `rules evaluate` to the group)

    group.add_command(rules)
