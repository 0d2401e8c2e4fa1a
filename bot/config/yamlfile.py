"""Read YAML keeping positions, and turn pydantic errors into `file:line:col` problems.

ruamel.yaml's round-trip loader records where every key and item sits, which is what
lets a coordinator jump straight to the line a problem is on. It is pure Python and
costs about 2 ms per source entry, so large files load with the C safe loader
(`fast=True`, same YAML 1.2 semantics) and are re-read for positions only when there
is a problem to place.
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any, TypeVar, get_args

from pydantic import BaseModel, ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError

from bot.config.fields import SLUG
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


CONFIG_DIR_HINT = "set --config-dir or NEWSBOT_CONFIG_DIR"


def read_text(path: Path, shown: str) -> str:
    """A config file's text. A missing one is named by its full path, with the config dir
    it was looked for in (the usual cause is the wrong directory, not a missing file)."""
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        folder = path.absolute().parent
        where = (f"config dir: {folder}" if folder.is_dir() else f"the config dir {folder} does not exist")
        raise ConfigError([Problem(str(path.absolute()), None, None,
                                   f"file not found ({where}; {CONFIG_DIR_HINT})")]) from None
    except IsADirectoryError:
        raise ConfigError([Problem(str(path.absolute()), None, None, "is a directory, not a file")]) from None
    except PermissionError:
        raise ConfigError([Problem(str(path.absolute()), None, None, "cannot be read (permission denied)")]) from None
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
    if line is None and hasattr(data, "lc"):  # dynamic: only ruamel's Commented* nodes know their place
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


def _number(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def _plural(n: int, one: str, many: str) -> str:
    return one if n == 1 else f"{n} {many}"


# pydantic's default wording, by error type, in the words of the rest of the messages. The
# validators' own messages (`Value error, ...`) are kept as written.
_MESSAGES: dict[str, Any] = {
    "missing": lambda ctx: "required key is missing",
    "extra_forbidden": lambda ctx: "unknown key",
    "string_too_short": lambda ctx: "must not be empty" if ctx.get("min_length", 1) <= 1
    else f"must be at least {ctx['min_length']} characters",
    "string_too_long": lambda ctx: f"must be at most {ctx.get('max_length')} characters",
    "too_short": lambda ctx: "needs at least " + _plural(ctx.get("min_length", 1), "one entry", "entries"),
    "too_long": lambda ctx: "may have at most " + _plural(ctx.get("max_length", 1), "one entry", "entries"),
    "string_pattern_mismatch": lambda ctx: "must be a slug of a-z, 0-9 and '-'"
    if ctx.get("pattern") == SLUG.pattern else f"does not have the expected form ({ctx.get('pattern')})",
    "string_type": lambda ctx: "must be text",
    "int_type": lambda ctx: "must be a whole number",
    "int_parsing": lambda ctx: "must be a whole number",
    "int_from_float": lambda ctx: "must be a whole number",
    "float_type": lambda ctx: "must be a number",
    "float_parsing": lambda ctx: "must be a number",
    "bool_type": lambda ctx: "must be true or false",
    "bool_parsing": lambda ctx: "must be true or false",
    "greater_than": lambda ctx: f"must be greater than {_number(ctx.get('gt'))}",
    "greater_than_equal": lambda ctx: f"must be at least {_number(ctx.get('ge'))}",
    "less_than": lambda ctx: f"must be less than {_number(ctx.get('lt'))}",
    "less_than_equal": lambda ctx: f"must be at most {_number(ctx.get('le'))}",
    "model_type": lambda ctx: "must be a mapping of keys",
    "model_attributes_type": lambda ctx: "must be a mapping of keys",
    "dict_type": lambda ctx: "must be a mapping of keys",
    "tuple_type": lambda ctx: "must be a list",
    "list_type": lambda ctx: "must be a list",
}
_NO_VALUE = ("missing", "extra_forbidden")


def error_message(err: Any) -> str:
    """The words of one pydantic error, without its place or the value."""
    kind = err["type"]
    if kind in _MESSAGES:
        return _MESSAGES[kind](err.get("ctx") or {})
    msg = str(err["msg"]).removeprefix("Value error, ")
    if msg.startswith("Input should be "):  # literal_error, enum, ...: `must be 'a', 'b' or 'c'`
        msg = "must be " + msg.removeprefix("Input should be ")
    return msg


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    """The models an annotation holds: `Source`, `tuple[Source, ...]`, `Weekly | None`..."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for arg in get_args(annotation) for m in _models_in(arg)]


def known_keys(model: type[BaseModel] | None, loc: tuple[str | int, ...]) -> list[str]:
    """The keys the mapping at `loc` of a `model` document may have (none when unknown)."""
    models = [model] if model is not None else []
    for part in loc:
        if isinstance(part, int):
            continue  # an entry of a list: the same models
        models = [m for cls in models if (f := cls.model_fields.get(part)) for m in _models_in(f.annotation)]
    return sorted({key for cls in models for key in cls.model_fields})


def unknown_key_message(key: object, known: list[str]) -> str:
    close = difflib.get_close_matches(key, known, n=1) if isinstance(key, str) else []
    return "unknown key" + (f" (did you mean {close[0]!r}?)" if close else "")


def problems_from_validation(exc: ValidationError, data: Any, shown: str,
                             model: type[BaseModel] | None = None) -> list[Problem]:
    problems = []
    errors = exc.errors(include_url=False)
    failed = {tuple(err["loc"]) for err in errors}
    for err in errors:
        if err["type"] == "too_short" and any(len(other) > len(err["loc"]) and other[:len(err["loc"])] == err["loc"]
                                              for other in failed):
            continue  # `rules: [bad]`: the entry's own problem says it; pydantic also counts 0 left
        loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-")))
        line, col = position(data, loc, at_key=err["type"] == "extra_forbidden")
        msg = error_message(err)
        if err["type"] == "extra_forbidden" and loc:
            msg = unknown_key_message(loc[-1], known_keys(model, loc[:-1]))
        where = format_loc(loc)
        got = err.get("input")
        suffix = ""
        if (err["type"] not in _NO_VALUE and isinstance(got, (str, int, float)) and got != ""
                and f"(got {got!r})" not in msg):  # a validator's own message may show it already
            suffix = f" (got {got!r})"
        problems.append(Problem(shown, line, col, f"{where}: {msg}{suffix}" if where else f"{msg}{suffix}"))
    return problems


def validate(model: type[M], data: Any, shown: str) -> M:
    """Validate `data` against `model`; every problem at once as a ConfigError."""
    try:
        return model.model_validate(data if data is not None else {})
    except ValidationError as exc:
        raise ConfigError(problems_from_validation(exc, data, shown, model)) from None
