"""Fuzzing the CSV parsers (Hypothesis): a file is parsed whole or refused with one line.

Files of arbitrary text, of arbitrary bytes (decoded as UTF-8 with replacement, as Latin-1, and
read from disk the way the CLI reads them), and CSV files built from a header and rows of valid
and hostile fields (control characters, formulas, very long fields, unicode, quotes, any line
ending, a byte-order mark, blank lines). ``parse_applicants`` and ``parse_scores`` return one
value per data row, never a part of the file, or raise ``CsvRefused`` whose one-line message
names the data row at fault (or the header, or the file); reading a file raises ``CliError``.
Nothing else escapes.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cli.applicant_csv import CsvRefused, parse_applicants, parse_scores
from cli.support import CliError, read_text
from schemas.recruitment import Application, CandidateScore
from tests.fuzz_support import (
    FORMULAS,
    HOSTILE_CHARS,
    UNICODE,
    check_refusal,
    count,
    fuzz_settings,
    long_strings,
    one_line_problem,
    texts,
)

pytest_plugins = ["tests.fuzz_support"]

APPLICANT_HEADER = ["name", "email", "education", "experience"]
REFUSAL = re.compile(r"(row (\d+)|header|the file|not a readable CSV file): ")
WHOLE_FILE = ("the file is empty", "the file has a header but no rows")

# ----- files -----------------------------------------------------------------------------------------

VALID: dict[str, st.SearchStrategy[str]] = {
    "name": st.sampled_from(["Avery Lindqvist", " Blake  Okafor ", *UNICODE, *FORMULAS]),
    "email": st.sampled_from(["avery@example.org", "=x@example.org", " b.o@mail.example.net "]),
    "education": st.sampled_from(["vocational", "High School", "high-school", " master ", "none"]),
    "experience": st.sampled_from(
        ["", "bookkeeping=3;clerical=2", "bookkeeping=4, clerical=2", "a=1_0", "a=-0"]
    ),
    "applicant_id": st.one_of(st.from_regex(r"[aA]\d{3}", fullmatch=True), st.just(" a001 ")),
    "score": st.one_of(
        st.sampled_from(["85", " 72.5 ", "100", "0", "-0", "5_0", "١٠"]), st.floats(0, 100).map(str)
    ),
}
VALID_ANSWER = st.sampled_from(["Kept the books.", "", " ", "=1+1", "Two\nlines", *UNICODE])
HOSTILE: dict[str, st.SearchStrategy[str]] = {
    "email": st.sampled_from(["a@b", "@example.org", "a b@example.org"]),
    "education": st.sampled_from(["PhD", "", "bachelor's"]),
    "experience": st.one_of(
        st.sampled_from(
            ["clerical=-1", "clerical=nan", "x=inf", "clerical", "=3", "a=1;A=2", "a\x1b=3", "a=1e999"]
        ),
        st.builds(lambda area, years: f"{area}={years}", texts(), st.sampled_from(["1", "2.5", "x", ""])),
    ),
    "applicant_id": st.sampled_from(["", "A 1", "A001\x00", "A001\u2028", "=A1"]),
    "score": st.sampled_from(["101", "-1", "nan", "inf", "1e400", "high", "", "0" * 500 + "101"]),
}


@st.composite
def headers(draw: st.DrawFn, columns: list[str], optional: list[str]) -> list[str]:
    """The columns in any order, then some of the optional ones in order; now and then a column
    missing, doubled, unknown, blank, upper-cased or out of sequence."""
    header = draw(st.permutations(columns)) + optional[: draw(st.integers(0, len(optional)))]
    change = draw(st.sampled_from(["none"] * 12 + ["drop", "double", "unknown", "blank", "case", "gap"]))
    if change == "drop" and header:
        header.pop(draw(st.integers(0, len(header) - 1)))
    elif change == "double" and header:
        header.append(draw(st.sampled_from(header)))
    elif change == "unknown":
        header.append(draw(st.one_of(st.just("phone"), texts())))
    elif change == "blank":
        header.append(" ")
    elif change == "case":
        header = [h.upper() for h in header]
    elif change == "gap":
        header.append("answer_9")
    return header


def _field(draw: st.DrawFn, column: str, clean: bool) -> str:
    """A field of ``column``: valid, or (one in five, unless the file is clean) hostile."""
    column = column.strip().lower()
    if clean or draw(st.integers(0, 4)):
        return draw(VALID.get(column, VALID_ANSWER))
    return draw(st.one_of(HOSTILE.get(column, texts()), texts()))


@st.composite
def csv_files(draw: st.DrawFn, columns: list[str], optional: list[str]) -> str:
    """A CSV file written by the csv module (or by hand, unquoted), with any line ending."""
    header = draw(headers(columns, optional))
    clean = draw(st.integers(0, 2)) == 0
    rows = [
        [_field(draw, c, clean) for c in header] for _ in range(draw(st.sampled_from([1, 1, 2, 2, 3, 4, 0])))
    ]
    for row in rows:
        if row and not clean and draw(st.integers(0, 9)) == 0:  # a field too few or too many
            row.append("extra") if draw(st.booleans()) else row.pop()
    ending = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    if draw(st.booleans()):
        out = io.StringIO()
        quoting = draw(st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL]))
        csv.writer(out, lineterminator=ending, quoting=quoting).writerows([header, *rows])
        text = out.getvalue()
    else:
        text = "".join(",".join(r) + ending for r in [header, *rows])
    if draw(st.integers(0, 4)) == 0:
        text = text.replace(ending, ending * 2)  # blank lines between rows
    if draw(st.integers(0, 4)) == 0:
        text = "\ufeff" + text
    return text


def bytes_as_text() -> st.SearchStrategy[str]:
    raw = st.one_of(
        st.binary(max_size=120),
        st.builds(
            lambda s, b: s.encode("utf-8") + b,
            st.sampled_from(["name,email\n", "applicant_id,score\n"]),
            st.binary(max_size=60),
        ),
    )
    return st.one_of(raw.map(lambda b: b.decode("utf-8", "replace")), raw.map(lambda b: b.decode("latin-1")))


def any_text() -> st.SearchStrategy[str]:
    return st.one_of(
        st.text(max_size=80),
        st.lists(st.sampled_from([*HOSTILE_CHARS, ",", '"', "a", "1", "=", "\ufeff"]), max_size=40).map(
            "".join
        ),
        bytes_as_text(),
        long_strings(),
    )


applicant_files = st.one_of(
    csv_files(APPLICANT_HEADER, ["answer_1", "answer_2", "answer_3"]),
    csv_files(APPLICANT_HEADER, ["answer_1", "answer_2", "answer_3"]),
    any_text(),
)
score_files = st.one_of(
    csv_files(["applicant_id", "score"], []), csv_files(["applicant_id", "score"], []), any_text()
)


# ----- the property ------------------------------------------------------------------------------------


def _data_rows(text: str) -> int | None:
    """The number of non-blank data rows, as a spreadsheet would count them (None: not CSV)."""
    try:
        rows = [
            r
            for r in csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline=""), strict=True)
            if any(f.strip() for f in r)
        ]
    except csv.Error:
        return None
    return max(len(rows) - 1, 0)


def _check(prop: str, parse: Callable[[str], list[Any]], kind: type, text: str) -> None:
    try:
        parsed = parse(text)
    except CsvRefused as refused:
        message = str(refused)
        check_refusal(prop, message, None)
        match = REFUSAL.match(message)
        assert match is not None or message in WHOLE_FILE, f"a refusal that names no row: {message!r}"
        if match is not None and match.group(2) is not None:
            rows = _data_rows(text)
            assert rows is not None and 1 <= int(match.group(2)) <= rows, (message, rows)
        return
    count(prop, "accepted")
    assert len(parsed) == _data_rows(text), "a part of the file"
    for value in parsed:
        assert isinstance(value, kind)
        assert type(value).model_validate_json(value.model_dump_json()) == value  # within the limits


@fuzz_settings(1500)
@given(text=applicant_files)
def test_an_applicants_file_is_parsed_whole_or_refused_in_one_line_naming_the_row(text: str) -> None:
    _check("parse_applicants", parse_applicants, Application, text)


@fuzz_settings(1500)
@given(text=score_files)
def test_a_scores_file_is_parsed_whole_or_refused_in_one_line_naming_the_row(text: str) -> None:
    _check("parse_scores", parse_scores, CandidateScore, text)


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz-csv")


@fuzz_settings(600)
@given(
    raw=st.one_of(
        st.binary(max_size=200),
        st.builds(lambda b: "applicant_id,score\nA001,80\n".encode() + b, st.binary(max_size=20)),
        score_files.map(lambda t: t.encode("utf-8", "surrogatepass")),
        score_files.map(lambda t: t.encode("utf-16", "surrogatepass")),
    )
)
def test_a_file_of_any_bytes_is_read_and_parsed_or_refused_in_one_line(folder: Path, raw: bytes) -> None:
    """What ``hr recruitment score --file`` does with a file: read it, parse it."""
    path = folder / "scores.csv"
    path.write_bytes(raw)
    try:
        parsed = parse_scores(read_text(path, "--file"))
    except (CsvRefused, CliError) as err:
        check_refusal("read_text + parse_scores", str(err), None)
        assert one_line_problem(str(err)) is None
    else:
        count("read_text + parse_scores", "accepted")
        assert all(isinstance(s, CandidateScore) for s in parsed)
