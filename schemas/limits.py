"""One set of limits for everything that enters a workflow: ids, texts, dates.

Every contract field a person or a file fills is one of these types, so the same check runs at
every door: the CLI (which builds the contracts before sending), an Update (its argument is
decoded into the contract before the validator runs: a bad one is refused), a signal (read with
``read_argument``: a bad one is logged and dropped) and the CSV parsers. A refusal names the field
and the rule, never the value.

- **Ids and codes** (``Id``): ASCII letters, digits, ``.``, ``_``, ``-``; 1-64 characters.
  Record keys and request ids (``Key``) may also hold ``:`` and run to 400.
- **Text on one line** (``Line``): at most 200 characters, no control characters at all.
- **Comments and reasons** (``Comment``): at most 4,000 characters; line breaks and tabs are
  kept, any other control character (NUL included, which PostgreSQL cannot store) is refused.
- **Long text** (``LongText``): a description's text, at most 200,000 characters, not blank.
- **Dates and times** (``Moment``, ``Day``): within 2000-2100, with a time zone for a moment.
"""

from __future__ import annotations

import math
import re
import unicodedata
from datetime import date, datetime, timezone
from functools import lru_cache
from typing import Annotated, Any, get_args

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, StringConstraints, ValidationError

MAX_ID = 64
MAX_KEY = 400
MAX_LINE = 200
MAX_COMMENT = 4000
MAX_TEXT = 200_000
EARLIEST = datetime(2000, 1, 1, tzinfo=timezone.utc)
LATEST = datetime(2100, 1, 1, tzinfo=timezone.utc)

_LINE_BREAKS = {"\n", "\t", "\r"}
_BIDI_CONTROLS = set("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
"""Embedding, override and isolate controls: they make text read other than it is stored."""
_REFUSED_CATEGORIES = ("Cc", "Cs", "Zl", "Zp")
"""Control characters, lone surrogates, and the line and paragraph separators U+2028/U+2029."""


def _control_character(value: str, allowed: set[str]) -> str | None:
    for char in value:
        if char in allowed:
            continue
        if unicodedata.category(char) in _REFUSED_CATEGORIES or char in _BIDI_CONTROLS:
            return f"U+{ord(char):04X}"
    return None


def one_line(value: str) -> str:
    """Refuses any control character (a line break, a NUL): text that goes on one line."""
    if (found := _control_character(value, set())) is not None:
        raise ValueError(f"must be one line without control characters (found {found})")
    return value


def multi_line(value: str) -> str:
    """Refuses control characters but line breaks and tabs; ``\\r\\n`` becomes ``\\n``."""
    if (found := _control_character(value, _LINE_BREAKS)) is not None:
        raise ValueError(f"must not contain control characters (found {found})")
    return value.replace("\r\n", "\n").replace("\r", "\n")


def not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty")
    return value


def in_range(value: datetime) -> datetime:
    if not EARLIEST <= value < LATEST:
        raise ValueError(f"must be between {EARLIEST:%Y} and {LATEST:%Y}")
    return value


def day_in_range(value: date) -> date:
    if not EARLIEST.date() <= value < LATEST.date():
        raise ValueError(f"must be between {EARLIEST:%Y} and {LATEST:%Y}")
    return value


def finite(value: float) -> float:
    if not math.isfinite(value):
        raise ValueError("must be a finite number")
    return value


Id = Annotated[str, StringConstraints(pattern=rf"^[A-Za-z0-9][A-Za-z0-9._-]{{0,{MAX_ID - 1}}}$")]
Key = Annotated[str, StringConstraints(pattern=rf"^[A-Za-z0-9][A-Za-z0-9._:-]{{0,{MAX_KEY - 1}}}$")]
Line = Annotated[str, StringConstraints(max_length=MAX_LINE), AfterValidator(one_line)]
Comment = Annotated[str, StringConstraints(max_length=MAX_COMMENT), AfterValidator(multi_line)]
LongText = Annotated[
    str,
    StringConstraints(min_length=1, max_length=MAX_TEXT),
    AfterValidator(multi_line),
    AfterValidator(not_blank),
]
Moment = Annotated[AwareDatetime, AfterValidator(in_range)]
Day = Annotated[date, AfterValidator(day_in_range)]
Number = Annotated[float, AfterValidator(finite)]


class Contract(BaseModel):
    """Base of the contracts: a validation error never echoes the input (it may be personal)."""

    model_config = ConfigDict(hide_input_in_errors=True)


MAX_REASONS = 3
"""A refusal names at most this many problems, then how many more there are."""
_FIELD_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,40}$")


def reason(err: ValidationError) -> str:
    """A validation error as one short line: each field and its rule, never the value.

    A location that is not a field name (a key of a mapping, an unexpected field) is shown as
    ``<key>``; the rule is pydantic's words or the contract's own, which never quote the input.
    """
    errors = err.errors()
    parts = [f"{_location(e['loc'])}: {_rule(e)}" for e in errors[:MAX_REASONS]]
    if len(errors) > MAX_REASONS:
        parts.append(f"and {len(errors) - MAX_REASONS} more")
    return "; ".join(parts)


def _location(loc: tuple[Any, ...]) -> str:
    known = _field_names()
    shown = [str(p) if isinstance(p, int) or str(p) in known else "<key>" for p in loc]
    return ".".join(shown) or "input"


@lru_cache(maxsize=1)
def _field_names() -> frozenset[str]:
    """The names a refusal may show: the contracts' fields and the tags of their kinds. Any other
    part of an error's location (a mapping's key, an unexpected field) came from the input."""
    names: set[str] = set()
    pending: list[type[BaseModel]] = [BaseModel]
    while pending:
        for model in pending.pop().__subclasses__():
            pending.append(model)
            if not model.__module__.startswith("schemas."):
                continue
            for name, field in model.model_fields.items():
                names.add(name)
                names.update(v for v in get_args(field.annotation) if isinstance(v, str))
    return frozenset(n for n in names if _FIELD_NAME.match(n))


def _rule(error: Any) -> str:
    kind = error["type"]
    if kind == "union_tag_invalid":
        return f"unknown kind (expected {error.get('ctx', {}).get('expected_tags', 'another')})"
    if kind == "union_tag_not_found":
        return "no kind given"
    text = str(error["msg"]).removeprefix("Value error, ")
    return "".join(c if c.isprintable() else "?" for c in text)[:160]


def read_argument(model: type[Any], args: tuple[Any, ...]) -> Any:
    """A signal's or an Update's one argument read as ``model`` (handlers take ``*args``, so an
    argument of any shape, or any number of them, reaches this check instead of the SDK's).

    Raises:
        ValueError: with a one-line reason (the arity, or the fields at fault), never the input.
    """
    if len(args) != 1:
        raise ValueError(f"expected one argument, got {len(args)}")
    try:
        return model.model_validate(args[0])
    except ValidationError as err:
        raise ValueError(reason(err)) from None
