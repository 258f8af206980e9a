"""CSV written back out (``--csv``): spreadsheet formulas neutralised, fields quoted, one writer.

``hr recruitment status --csv`` and ``hr register show --csv`` build their text with the render
functions tested here (the commands only add the Temporal query and the store's names), both
through ``service/csv_out.write_csv``.
"""

from __future__ import annotations

import csv
import io
from datetime import datetime, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

import starter
from cli.csv_out import FORMULA_STARTS, neutralise, write_csv
from cli.recruitment_render import (
    RECRUITMENT_CSV_HEADER,
    REGISTER_CSV_HEADER,
    recruitment_csv,
    register_csv,
)
from schemas import recruitment as rc
from schemas.eligibility_register import RegisterEntry, RegisterStatus
from tests.fuzz_support import FORMULAS, HOSTILE_CHARS, UNICODE, count, fuzz_settings

pytest_plugins = ["tests.fuzz_support"]

T0 = datetime(2026, 8, 19, 17, tzinfo=timezone.utc)
HYPERLINK = '=HYPERLINK("http://x","y")'


def read(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline="")))


# ----- the writer ----------------------------------------------------------------------------------


@pytest.mark.parametrize("first", ["=", "+", "-", "@", "\t", "\r", "\0"])
def test_a_field_that_starts_like_a_formula_gets_a_single_quote(first: str):
    value = f"{first}SUM(A1:A9)"
    assert neutralise(value) == "'" + value
    assert read(write_csv([[value, "plain"]], ["a", "b"])) == [["a", "b"], ["'" + value, "plain"]]


@pytest.mark.parametrize(
    "value", ["Avery Lindqvist", " =1+1", "a=b", "'quoted", "", "85", "A001", "Zoë", "\n=1", "＝1", "1-2"]
)
def test_other_fields_are_left_alone(value: str):
    assert neutralise(value) == value


def test_fields_are_quoted_where_they_must_be_and_none_is_empty():
    text = write_csv([["a,b", 'say "hi"', "two\nlines", None, 85]], ["x", "y", "z", "n", "s"])
    assert text.endswith("\r\n")
    assert read(text)[1] == ["a,b", 'say "hi"', "two\nlines", "", "85"]


fields = st.one_of(
    st.text(max_size=30),
    st.sampled_from([*FORMULAS, *UNICODE, *HOSTILE_CHARS, "", ",", '"', "'=1"]),
    st.builds(lambda a, b: a + b, st.sampled_from(list(FORMULA_STARTS)), st.text(max_size=10)),
)


@fuzz_settings(1500)
@given(
    rows=st.lists(st.lists(fields, min_size=1, max_size=5), max_size=5),
    header=st.lists(fields, min_size=1, max_size=5),
)
def test_any_field_reads_back_as_itself_neutralised(rows: list[list[str]], header: list[str]):
    parsed = read(write_csv(rows, header))
    assert parsed == [[neutralise(f) for f in row] for row in [header, *rows]]
    cells = [f for row in parsed for f in row]
    assert not any(f.startswith(FORMULA_STARTS) for f in cells), "a formula got through"
    count("write_csv", "accepted")


# ----- the two exports -------------------------------------------------------------------------------


def _recruitment() -> rc.RecruitmentStatus:
    return rc.RecruitmentStatus(
        workflow_id="recruitment-R-1",
        recruitment_id="R-1",
        class_code="ITAT",
        stage=rc.SELECTION,
        closes_at=T0,
        counts=rc.RecruitmentCounts(applied=3, qualified=2, oral_board=2, on_register=2),
        open_steps=[],
        candidates=[
            rc.CandidateView(
                applicant_id="A001",
                applied_at=T0,
                qualified=True,
                supplemental=80,
                oral=90,
                final=86,
                rank=1,
                disposition="certified",
            ),
            rc.CandidateView(
                applicant_id="A002",
                applied_at=T0,
                qualified=True,
                override_reason="+ equivalent experience",
                oral=70,
                final=70.5,
                rank=2,
                disposition="on register",
            ),
            rc.CandidateView(
                applicant_id="A003",
                applied_at=T0,
                qualified=False,
                screen_reasons=["education", "-2 years"],
                disposition="not qualified",
            ),
        ],
        certified=["A001"],
        selected="A001",
    )


NAMES = {"A001": HYPERLINK, "A002": "Blake Okafor", "A003": '@Casey, "the" Moreau'}


def test_the_recruitment_csv_lists_the_candidates_with_their_names_neutralised():
    rows = read(recruitment_csv(_recruitment(), NAMES))
    assert tuple(rows[0]) == RECRUITMENT_CSV_HEADER
    by_id = {r[0]: dict(zip(RECRUITMENT_CSV_HEADER, r, strict=True)) for r in rows[1:]}
    assert list(by_id) == ["A001", "A002", "A003"]
    assert by_id["A001"] | {"applied_at": ""} == {
        "applicant_id": "A001",
        "name": "'" + HYPERLINK,
        "applied_at": "",
        "qualified": "yes",
        "screen_note": "",
        "supplemental": "80",
        "oral": "90",
        "final": "86",
        "rank": "1",
        "disposition": "certified",
        "certified": "yes",
        "selected": "yes",
    }
    assert datetime.fromisoformat(by_id["A001"]["applied_at"]) == T0
    assert (by_id["A002"]["screen_note"], by_id["A002"]["final"]) == ("'+ equivalent experience", "70.5")
    assert by_id["A003"]["name"] == '\'@Casey, "the" Moreau'
    assert (by_id["A003"]["qualified"], by_id["A003"]["screen_note"]) == ("no", "education; -2 years")
    assert (by_id["A003"]["supplemental"], by_id["A003"]["rank"]) == ("", "")


def test_the_register_csv_lists_the_ranking_with_names_neutralised():
    status = RegisterStatus(
        recruitment_id="R-1",
        class_code="ITAT",
        open=True,
        vacancies=1,
        filled=[],
        expires_at=T0,
        entries=[
            RegisterEntry(applicant_id="A002", final=70.5, oral=70, applied_at=T0, rank=2),
            RegisterEntry(
                applicant_id="A001",
                final=86,
                oral=90,
                applied_at=T0,
                rank=1,
                status="removed",
                reason="declined",
                times_certified=1,
            ),
        ],
        certifications=[],
        generation=0,
    )
    rows = read(register_csv(status, NAMES))
    assert tuple(rows[0]) == REGISTER_CSV_HEADER
    assert rows[1:] == [
        ["1", "A001", "'" + HYPERLINK, "86", "90", "removed", "declined", "1"],
        ["2", "A002", "Blake Okafor", "70.5", "70", "active", "", "0"],
    ]


def test_status_takes_json_or_csv_not_both():
    result = CliRunner().invoke(starter.app, ["recruitment", "status", "R-1", "--json", "--csv"])
    assert result.exit_code == 1 and "give --json or --csv, not both" in result.output
