"""What the property-based fuzz tests share: hostile values, raw payloads, the one-line check, counts.

PYTEST_DONT_REWRITE (this module is imported by the tests before pytest loads it as the plugin
that prints the counts; it holds no asserts).

Every property records, per example, whether the input was accepted or refused and whether a
refusal changed anything; ``pytest_terminal_summary`` prints the table at the end of the run
(the tests write no file). Strategies mix valid values with hostile ones: control characters
(NUL, CR, LF, ESC, U+2028), very long strings, unicode, wrong types, missing and extra fields,
dates far out of range, NaN and infinities, spreadsheet formulas.
"""

from __future__ import annotations

import os
import string
import tempfile
from collections import Counter
from datetime import date, datetime, timedelta, timezone
from functools import lru_cache
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.configuration import set_hypothesis_home_dir

set_hypothesis_home_dir(Path(tempfile.gettempdir()) / "hr-workflows-hypothesis")
"""Hypothesis keeps its caches there, not in a ``.hypothesis`` folder of the tree."""

# ----- counts -------------------------------------------------------------------------------------

COUNTS: dict[str, Counter[str]] = {}
"""Property -> tried, accepted, refused, state_changes (and anything else a test notes)."""


def count(prop: str, outcome: str, n: int = 1) -> None:
    counter = COUNTS.setdefault(prop, Counter())
    counter[outcome] += n
    if outcome in ("accepted", "refused"):
        counter["tried"] += n


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not COUNTS:
        return
    terminalreporter.section("fuzzing counts")
    width = max(len(p) for p in COUNTS)
    terminalreporter.write_line(
        f"{'property':<{width}}  {'tried':>7}  {'accepted':>8}  {'refused':>7}  {'state changes':>13}"
    )
    totals: Counter[str] = Counter()
    for prop, c in sorted(COUNTS.items()):
        totals.update(c)
        terminalreporter.write_line(
            f"{prop:<{width}}  {c['tried']:>7}  {c['accepted']:>8}  {c['refused']:>7}  "
            f"{c['state_changes']:>13}"
        )
    terminalreporter.write_line(
        f"{'total':<{width}}  {totals['tried']:>7}  {totals['accepted']:>8}  {totals['refused']:>7}  "
        f"{totals['state_changes']:>13}"
    )
    known = sorted(k for k in totals if k.startswith("known "))
    if known:
        terminalreporter.write_line(
            "refusals explained by a known defect (not one clean line): "
            + ", ".join(f"{k.removeprefix('known ')} {totals[k]}" for k in known)
        )


# ----- settings -----------------------------------------------------------------------------------


EXPLORE = os.environ.get("HR_FUZZ_EXPLORE", "") not in ("", "0")
"""Set HR_FUZZ_EXPLORE=1 to draw new examples on every run; by default the examples are the
same on every run (derandomized), so the suite's verdict does not depend on luck."""


def fuzz_settings(max_examples: int, *suppress: HealthCheck) -> settings:
    """No example database (the tests write no file into the tree), no deadline (2 shared cores),
    the same examples every run unless ``HR_FUZZ_EXPLORE`` is set."""
    return settings(
        max_examples=max_examples,
        deadline=None,
        database=None,
        derandomize=not EXPLORE,
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.filter_too_much,
            *suppress,
        ],
    )


# ----- the one-line check -------------------------------------------------------------------------

MAX_PART = 300
"""A refusal names fields and rules (and, at the CLI, a short value): no part of it (``; ``
between the fields at fault) is this long."""


def one_line_problem(message: str, *, max_part: int = MAX_PART) -> str | None:
    """Why ``message`` is not a one-line refusal, or None.

    One line means: not empty, every character printable (no control character, no line or
    paragraph separator, no bidi override or other format character, no lone surrogate: the
    input's hostile characters are not in it) and no part longer than ``max_part``.
    """
    if not message.strip():
        return "empty message"
    bad = next((c for c in message if not c.isprintable()), None)
    if bad is not None:
        return f"unprintable U+{ord(bad):04X} in {message[:200]!r}"
    longest = max(message.split("; "), key=len)
    if len(longest) > max_part:
        return f"a part of {len(longest)} characters: {longest[:200]!r}…"
    return None


# ----- hostile values -----------------------------------------------------------------------------

HOSTILE_CHARS = [
    "\x00",
    "\r",
    "\n",
    "\r\n",
    "\x1b",
    "\u2028",
    "\u2029",
    "\x85",
    "\t",
    "\x07",
    "\x7f",
    "\u202e",
]
FORMULAS = [
    '=HYPERLINK("http://x","y")',
    "=1+1",
    "+1",
    "-1",
    "@SUM(A1:A2)",
    "=cmd|' /C calc'!A0",
    "\t=1",
    "\r=1",
]
UNICODE = ["Zoë Ñúñez", "李小龍", "Ἀθηνᾶ", "👩\u200d💻", "ﬁ", "Ⅻ", "٣", "e\u0301", "\ufeffBOM"]
LONG_LENGTHS = [64, 65, 199, 200, 201, 254, 255, 400, 401, 4000, 4001, 200_000, 200_001]
DATE_TEXTS = [
    "9999-12-31",
    "0001-01-01",
    "1999-12-31",
    "2100-01-01",
    "2026-02-30",
    "2026-13-01",
    "2026-12-04T25:00",
    "2026-12-04T16:30:00",
    "2026-12-04T16:30:00Z",
    "9999-12-31T23:59:59+14:00",
    "0001-01-01T00:00:00-12:00",
    "next Friday",
    "1e10",
    "",
]
ZONES = [timezone.utc, timezone(timedelta(hours=14)), timezone(timedelta(hours=-12)), None]
CANARY = "Zq7Canary"
"""Planted in free text: a refusal of a contract that repeats it has echoed the input."""

ID_CHARS = string.ascii_letters + string.digits + "._-"


@lru_cache
def plain_ids() -> st.SearchStrategy[str]:
    return st.text(alphabet=ID_CHARS, min_size=1, max_size=12).filter(lambda s: s[0].isalnum())


@lru_cache
def injected(base: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """A value with one hostile character (or formula, or canary) put somewhere in it."""
    return st.builds(
        lambda text, bad, at: text[:at] + bad + text[at:],
        base,
        st.sampled_from([*HOSTILE_CHARS, *FORMULAS, CANARY, "\ud800"]),
        st.integers(0, 12),
    )


@lru_cache
def long_strings() -> st.SearchStrategy[str]:
    return st.builds(
        lambda n, c: c * n, st.sampled_from(LONG_LENGTHS), st.sampled_from(["x", "A", " ", "é", "\x00"])
    )


@lru_cache
def texts() -> st.SearchStrategy[str]:
    """Any text: arbitrary unicode, hostile characters, formulas, very long, unicode names, a lone
    surrogate now and then."""
    return st.one_of(
        st.text(max_size=12),
        st.lists(st.sampled_from([*HOSTILE_CHARS, *"aZ09 -._:@=+'\",;"]), max_size=12).map("".join),
        st.sampled_from(FORMULAS + UNICODE + DATE_TEXTS + [CANARY, " ", "none", "NaN", "inf", "-0"]),
        long_strings(),
        injected(plain_ids()),
    )


@lru_cache
def numbers() -> st.SearchStrategy[Any]:
    return st.one_of(
        st.integers(-(2**70), 2**70),
        st.floats(allow_nan=True, allow_infinity=True),
        st.sampled_from([0, 1, -1, 100, 100.0001, 1000, 1001, 50, 51, 2**63, float("nan"), float("inf")]),
    )


@lru_cache
def moments() -> st.SearchStrategy[Any]:
    """Moments in and far out of range, with and without a zone, as text and as objects."""
    objects = st.builds(
        lambda d, z: d.replace(tzinfo=z),
        st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30)),
        st.sampled_from(ZONES),
    )
    return st.one_of(objects.map(datetime.isoformat), st.sampled_from(DATE_TEXTS), objects)


@lru_cache
def days() -> st.SearchStrategy[Any]:
    """Days in and far out of range, as text and as objects."""
    return st.one_of(st.dates().map(date.isoformat), st.sampled_from(DATE_TEXTS), st.dates())


@lru_cache
def scalars() -> st.SearchStrategy[Any]:
    return st.one_of(st.none(), st.booleans(), numbers(), texts())


@lru_cache
def anything() -> st.SearchStrategy[Any]:
    """Any JSON-like value, nested a little."""
    return st.recursive(
        scalars(),
        lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(texts(), inner, max_size=4)),
        max_leaves=6,
    )


@lru_cache
def hostile_values() -> st.SearchStrategy[Any]:
    """A wrong value for a field: any scalar, or a small list or object of them."""
    return st.one_of(
        scalars(),
        st.lists(scalars(), max_size=3),
        st.dictionaries(texts(), scalars(), max_size=2),
    )


_ONE_IN_25 = st.integers(0, 24)
_ONE_IN_4 = st.integers(0, 3)
_MODES = st.sampled_from(("valid",) * 6 + ("hostile", "missing"))


_EXTRAS = st.dictionaries(texts(), hostile_values(), min_size=1, max_size=2)


@st.composite
def payloads(draw: st.DrawFn, fields: dict[str, st.SearchStrategy[Any]], *, wrong_type: bool = True) -> Any:
    """A raw payload for a contract: each field valid (mostly), hostile or missing; extra fields;
    now and then (``wrong_type``) no object at all."""
    if wrong_type and draw(_ONE_IN_25) == 0:
        return draw(anything())
    clean = draw(_ONE_IN_4) == 0  # every field valid: a contract of many fields is accepted too
    out: dict[str, Any] = {}
    for name, valid in fields.items():
        mode = "valid" if clean else draw(_MODES)
        if mode == "valid":
            out[name] = draw(valid)
        elif mode == "hostile":
            out[name] = draw(hostile_values())
    if draw(_ONE_IN_4) == 0:
        for key, value in draw(_EXTRAS).items():
            out.setdefault(key, value)
    return out


def maybe(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(st.none(), strategy)


def check_refusal(prop: str, message: str, payload: Any, *, echo_free: bool = False) -> None:
    """Counts a refusal and fails unless its message is one line (``echo_free``: nor repeats the
    canary planted in free text)."""
    count(prop, "refused")
    problem = one_line_problem(message) or (
        f"repeats the input: {message[:200]!r}" if echo_free and CANARY in message else None
    )
    if problem is not None:
        raise AssertionError(f"{prop}: {problem}; input {payload!r:.400}")
