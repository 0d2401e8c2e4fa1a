"""Read YAML keeping positions, and turn pydantic errors into `file:line:col` problems.

ruamel.yaml's round-trip loader records where every key and item sits, which is what
lets a coordinator jump straight to the line a problem is on. It is pure Python and
costs about 2 ms per source entry, so large files load with the C safe loader
(`fast=True`, same YAML 1.2 semantics) and are re-read for positions only when there
is a problem to place.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError

from bot.errors import ConfigError, Problem

M = TypeVar("M", bound=BaseModel)


def display_path(path: Path, base: Path | None = None) -> str:
    """The path as the user should see it: relative to the config dir when inside it."""
    if base is not None:
        try:
            return str(path.resolve().relative_to(base.resolve()))
        except ValueError:
            pass
    return str(path)


def load_yaml(path: Path, shown: str | None = None) -> Any:
    """Parse a YAML file into ruamel's commented containers; syntax errors become ConfigError."""
    shown = shown or str(path)
    return load_yaml_text(read_text(path, shown), shown)


def read_text(path: Path, shown: str) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError([Problem(shown, None, None, "file not found")]) from None
    except UnicodeDecodeError as exc:
        raise ConfigError([Problem(shown, None, None, f"not UTF-8 text ({exc.reason})")]) from None


def load_yaml_text(text: str, shown: str, *, fast: bool = False) -> Any:
    """`fast` gives plain dicts and lists (no positions) from the C loader when installed."""
    try:
        return YAML(typ="safe" if fast else "rt").load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        col = mark.column + 1 if mark else None
        what = exc.problem or exc.context or "invalid YAML"
        raise ConfigError([Problem(shown, line, col, f"YAML syntax: {what}")]) from None


def position(data: Any, loc: tuple[str | int, ...], *, at_key: bool = False) -> tuple[int | None, int | None]:
    """1-based line and column of the deepest node of `loc` that exists in `data`
    (of its value, or of its key with `at_key`, as for an unknown key)."""
    line = col = None
    node = data
    for key in loc:
        if isinstance(node, CommentedMap) and key in node:
            use_value = _is_scalar(node[key]) and not at_key
            ln, cl = node.lc.value(key) if use_value else node.lc.key(key)
            line, col = ln + 1, cl + 1
            node = node[key]
        elif isinstance(node, CommentedSeq) and isinstance(key, int) and 0 <= key < len(node):
            ln, cl = node.lc.item(key)
            line, col = ln + 1, cl + 1
            node = node[key]
        else:
            break
    if line is None and hasattr(data, "lc"):
        line, col = data.lc.line + 1, data.lc.col + 1
    return line, col


def _is_scalar(value: Any) -> bool:
    return not isinstance(value, (CommentedMap, CommentedSeq))


def format_loc(loc: tuple[str | int, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def problems_from_validation(exc: ValidationError, data: Any, shown: str) -> list[Problem]:
    problems = []
    for err in exc.errors(include_url=False):
        loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-")))
        line, col = position(data, loc, at_key=err["type"] == "extra_forbidden")
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = "unknown key"
        elif err["type"] == "missing":
            msg = "required key is missing"
        where = format_loc(loc)
        got = err.get("input")
        suffix = ""
        if err["type"] not in ("missing", "extra_forbidden") and isinstance(got, (str, int, float)):
            suffix = f" (got {got!r})"
        problems.append(Problem(shown, line, col, f"{where}: {msg}{suffix}" if where else f"{msg}{suffix}"))
    return problems


def validate(model: type[M], data: Any, shown: str) -> M:
    """Validate `data` against `model`; every problem at once as a ConfigError."""
    try:
        return model.model_validate(data if data is not None else {})
    except ValidationError as exc:
        raise ConfigError(problems_from_validation(exc, data, shown)) from None
