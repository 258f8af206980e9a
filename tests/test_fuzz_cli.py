"""Fuzzing the CLI's argument checks (Hypothesis): any string gives a value or a one-line ``CliError``.

The option parsers of ``hr`` (dates, durations, closing times, id lists, check names, the
recruitment id, a decision's details) and the announcement file (any JSON, any bytes), under
local time zones either side of UTC: a value of the promised type, or ``CliError`` with one
line; never another exception.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from cli.recruitment import require_recruitment_id
from cli.recruitment_open import (
    check_names,
    closing_time,
    id_list,
    load_announcement,
    parse_duration,
    parse_moment,
)
from cli.support import CliError, decision_details, end_of_day, parse_date
from schemas.recruitment import Announcement, SelectionPlan
from tests.fuzz_support import DATE_TEXTS, check_refusal, count, fuzz_settings, maybe, texts
from tests.test_fuzz_contracts import announcement

pytest_plugins = ["tests.fuzz_support"]

ZONES = ["UTC", "America/Los_Angeles", "Pacific/Kiritimati", "Pacific/Pago_Pago", "Asia/Kolkata"]

durations = st.one_of(
    st.from_regex(r"\s*(\d{1,4}(\.\d{1,3})?[smhdwSMHDW]\s?){1,3}", fullmatch=True),
    st.sampled_from(["0s", "0d", "1e5d", "99999999999d", "9" * 30 + "w", "1.5.5h", "-1d", "1d-2h", "", " "]),
    texts(),
)
moment_texts = st.one_of(
    st.sampled_from(DATE_TEXTS),
    st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30)).map(datetime.isoformat),
    st.dates().map(date.isoformat),
    texts(),
)


@contextmanager
def local_zone(zone: str) -> Iterator[None]:
    """Local time is ``zone`` for a while (``TZ`` and ``time.tzset``)."""
    before = os.environ.get("TZ")
    os.environ["TZ"] = zone
    time.tzset()
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("TZ", None)
        else:
            os.environ["TZ"] = before
        time.tzset()


def _check(prop: str, call: Callable[[], Any], ok: Callable[[Any], bool], given_input: Any) -> None:
    try:
        value = call()
    except CliError as err:
        check_refusal(prop, str(err), given_input)
        return
    count(prop, "accepted")
    assert ok(value), f"{prop}: {value!r}"


pytestmark = pytest.mark.skipif(not hasattr(time, "tzset"), reason="time.tzset is not available here")


@fuzz_settings(1000)
@given(text=st.one_of(moment_texts, durations), zone=st.sampled_from(ZONES))
@example(text="0001-01-01T00:00", zone="UTC")
@example(text="0001-01-01T00:00:00+05:00", zone="UTC")
@example(text="9999-12-31", zone="America/Los_Angeles")
def test_a_date_a_time_or_a_duration_of_any_text_is_read_or_refused_in_one_line(text: str, zone: str) -> None:
    with local_zone(zone):
        _check("parse_date", lambda: parse_date(text, "--due"), lambda v: isinstance(v, date), text)
        _check(
            "parse_moment",
            lambda: parse_moment(text),
            lambda v: isinstance(v, datetime) and v.utcoffset() == timedelta(0),
            text,
        )
        _check(
            "parse_duration",
            lambda: parse_duration(text),
            lambda v: isinstance(v, timedelta) and v > timedelta(0),
            text,
        )


@fuzz_settings(400)
@given(closes_at=maybe(moment_texts), closes_in=maybe(durations))
@example(closes_at=None, closes_in="9999999999w")
def test_a_closing_time_from_any_options_is_read_or_refused_in_one_line(
    closes_at: str | None, closes_in: str | None
) -> None:
    _check(
        "closing_time",
        lambda: closing_time(closes_at, closes_in),
        lambda v: v is None or (isinstance(v, datetime) and v.tzinfo is not None),
        (closes_at, closes_in),
    )


@fuzz_settings(1000)
@given(day=st.dates(), zone=st.sampled_from(ZONES))
@example(day=date(9999, 12, 31), zone="America/Los_Angeles")
@example(day=date(1, 1, 1), zone="Pacific/Kiritimati")
def test_a_due_day_of_any_date_is_the_end_of_that_day_or_refused_in_one_line(day: date, zone: str) -> None:
    with local_zone(zone):
        _check("end_of_day", lambda: end_of_day(day), lambda v: v.utcoffset() == timedelta(0), day)


@fuzz_settings(1000)
@given(text=st.one_of(st.from_regex(r"R-\d{4}-[A-Z]{4}-\d\d", fullmatch=True), texts()))
def test_ids_and_lists_of_any_text_are_read_or_refused_in_one_line(text: str) -> None:
    _check("require_recruitment_id", lambda: require_recruitment_id(text), lambda v: v == text, text)
    _check(
        "id_list / check_names",
        lambda: (id_list(text), check_names(text)),
        lambda v: all(isinstance(i, str) and i and i == i.strip() for lst in v for i in lst),
        text,
    )


revised_texts = st.one_of(st.just("Human Resources Technician\n"), texts())
resolutions = st.one_of(st.just(" 26-0412R "), st.from_regex(r"\d\d-\d{4}R", fullmatch=True), texts())
applicant_texts = st.one_of(st.from_regex(r"A\d{3,6}", fullmatch=True), texts())
details_options = st.one_of(
    st.fixed_dictionaries({"text": revised_texts}),
    st.fixed_dictionaries({"resolution": resolutions}, optional={"meeting_date": st.dates()}),
    st.fixed_dictionaries({"applicant_id": applicant_texts}),
    st.fixed_dictionaries(
        {},
        optional={
            "text": revised_texts,
            "resolution": resolutions,
            "meeting_date": st.dates(),
            "applicant_id": applicant_texts,
        },
    ),
)


@fuzz_settings(1000)
@given(options=details_options)
@example(options={"text": ""})
def test_a_decisions_details_from_any_options_are_read_or_refused_in_one_line(
    options: dict[str, Any],
) -> None:
    _check(
        "decision_details",
        lambda: decision_details(**options),
        lambda v: (
            (v is None) == (not options.keys() - {"meeting_date"})
            and (v is None or v["kind"] in ("revised_text", "board_resolution", "selection"))
        ),
        options,
    )


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz-cli")


def _json(value: Any) -> bytes:
    try:
        return json.dumps(value).encode("utf-8", "surrogatepass")
    except (TypeError, ValueError):
        return json.dumps(value, default=str).encode("utf-8", "surrogatepass")


announcement_files = st.one_of(
    announcement.map(_json),
    st.builds(
        lambda a, p: _json({"announcement": a, "plan": p}), announcement, st.dictionaries(texts(), texts())
    ),
    st.sampled_from(
        [b"[]", b"null", b"NaN", b"{", b"\xff\xfe{}", b'{"announcement": 1}', b'{"x": 1, "announcement": {}}']
    ),
    st.integers(1, 100_000).map(lambda n: b"[" * n),
    st.integers(1, 100_000).map(lambda n: b'{"a":' * n),
    st.binary(max_size=200),
)


@fuzz_settings(500)
@given(raw=announcement_files, closes_in=maybe(st.sampled_from(["2d", "1w"])), checks=maybe(texts()))
@example(raw=b"[" * 100_000, closes_in=None, checks=None)
@example(raw=b"\x80", closes_in=None, checks=None)
@example(raw=b'{"closes_at": "0001-01-01T00:00"}', closes_in=None, checks=None)
def test_an_announcement_file_of_any_content_is_read_or_refused_in_one_line(
    folder: Path, raw: bytes, closes_in: str | None, checks: str | None
) -> None:
    path = folder / "announcement.json"
    path.write_bytes(raw)
    _check(
        "load_announcement",
        lambda: load_announcement(path, closing_time(None, closes_in), check_names(checks)),
        lambda v: isinstance(v[0], Announcement) and isinstance(v[1], SelectionPlan),
        raw[:200],
    )
