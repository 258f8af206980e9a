"""The applicants and scores CSV files: the whole file or nothing, refusals name the data row."""

from __future__ import annotations

from pathlib import Path

import pytest

from cli.applicant_csv import CsvRefused, parse_applicants, parse_experience, parse_scores
from schemas.recruitment import Application, CandidateScore

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
HEADER = "name,email,education,experience,answer_1,answer_2"
GOOD_ROWS = [
    "Avery Lindqvist,avery@example.org,vocational,bookkeeping=3;clerical=3,Kept the books.,Reconciled.",
    'Blake Okafor,blake@example.org,High School,"bookkeeping=4, clerical=2",One,',
    "Casey Moreau,casey@example.org,bachelor,,,",
]


def applicants_file(*rows: str, header: str = HEADER) -> str:
    return "\n".join([header, *rows]) + "\n"


def refusal(text: str, parse=parse_applicants) -> str:  # type: ignore[no-untyped-def]
    with pytest.raises(CsvRefused) as refused:
        parse(text)
    message = str(refused.value)
    assert "\n" not in message and "pydantic" not in message.lower()
    return message


def test_a_good_file_gives_one_application_per_row() -> None:
    applications = parse_applicants(applicants_file(*GOOD_ROWS))

    assert applications == [
        Application(
            name="Avery Lindqvist",
            email="avery@example.org",
            education="vocational",
            experience={"bookkeeping": 3.0, "clerical": 3.0},
            supplemental_answers=["Kept the books.", "Reconciled."],
        ),
        Application(
            name="Blake Okafor",
            email="blake@example.org",
            education="high_school",
            experience={"bookkeeping": 4.0, "clerical": 2.0},
            supplemental_answers=["One"],
        ),
        Application(name="Casey Moreau", email="casey@example.org", education="bachelor"),
    ]


def test_columns_may_come_in_any_order_and_blank_lines_are_not_rows() -> None:
    text = "email,experience,name,education\r\n\r\nann@example.org,clerical=2,Ann Lee,master\r\n\r\n"
    (only,) = parse_applicants("\ufeff" + text)  # a byte-order mark from a spreadsheet too
    assert (only.name, only.education, only.experience) == ("Ann Lee", "master", {"clerical": 2.0})


def test_the_shipped_example_file_parses() -> None:
    applications = parse_applicants((EXAMPLES / "applicants.csv").read_text(encoding="utf-8"))
    assert len(applications) == 9
    assert applications[7].education == "high_school"
    assert applications[8].experience == {"bookkeeping": 3.0, "clerical": 1.5}
    assert all(len(a.supplemental_answers) == 3 for a in applications)


@pytest.mark.parametrize(
    ("bad_row", "reason"),
    [
        ("Dana,dana-at-example.org,vocational,,,", "email 'dana-at-example.org' is not an e-mail address"),
        ("Dana,dana@example.org,phd,,,", "education 'phd' is unknown; must be one of none, high_school"),
        ("Dana,dana@example.org,vocational,clerical=-1,,", "years of experience cannot be negative"),
        (
            "Dana,dana@example.org,vocational,clerical=two,,",
            "experience 'clerical=two': years must be a number",
        ),
        ("Dana,dana@example.org,vocational,clerical,,", "experience 'clerical' is not area=years"),
        (" ,dana@example.org,vocational,,,", "name is empty"),
        ("Dana,dana@example.org,vocational", "3 field(s), the header has 6"),
    ],
)
def test_a_bad_row_refuses_the_whole_file_naming_its_row(bad_row: str, reason: str) -> None:
    # rows 1 and 2 are good; the bad one is data row 3 (the header is not a row)
    message = refusal(applicants_file(GOOD_ROWS[0], GOOD_ROWS[1], bad_row, GOOD_ROWS[2]))
    assert message.startswith("row 3: "), message
    assert reason in message


def test_a_missing_or_unknown_column_is_refused_before_any_row() -> None:
    assert refusal(applicants_file(*GOOD_ROWS, header="name,education,experience,answer_1,answer_2")) == (
        "header: missing column 'email'"
    )
    assert "unknown column 'phone'" in refusal(
        applicants_file("A,a@example.org,none,,1", header="name,email,education,experience,phone")
    )
    assert "without gaps" in refusal(
        applicants_file("A,a@example.org,none,,1", header="name,email,education,experience,answer_2")
    )
    assert "appears twice" in refusal(
        applicants_file("A,a@example.org,none,", header="name,email,name,experience")
    )


def test_an_empty_file_or_one_without_rows_is_refused() -> None:
    assert refusal("") == "the file is empty"
    assert refusal("\n\n") == "the file is empty"
    assert refusal(HEADER + "\n") == "the file has a header but no rows"


def test_experience_accepts_both_separators_and_refuses_an_area_twice() -> None:
    assert parse_experience("Bookkeeping=3, clerical=2.5;") == {"bookkeeping": 3.0, "clerical": 2.5}
    assert parse_experience("") == {}
    with pytest.raises(CsvRefused, match="twice"):
        parse_experience("clerical=1;Clerical=2")
    with pytest.raises(CsvRefused, match="number"):
        parse_experience("clerical=nan")


# ----- scores ------------------------------------------------------------------------------------


def test_a_good_scores_file() -> None:
    assert parse_scores("applicant_id,score\na001,85\nA002, 72.5\n") == [
        CandidateScore(applicant_id="A001", score=85.0),
        CandidateScore(applicant_id="A002", score=72.5),
    ]
    assert len(parse_scores((EXAMPLES / "scores-E1011.csv").read_text(encoding="utf-8"))) == 8


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        (["A001,85", "A002,90", "A003,101"], "row 3: score 101 is outside 0-100"),
        (["A001,85", "A002,90", "A003,-1"], "row 3: score -1 is outside 0-100"),
        (["A001,85", "A002,90", "A003,high"], "row 3: score 'high' is not a number"),
        (["A001,85", "A002,90", "A003,nan"], "row 3: score 'nan' is not a number"),
        (["A001,85", "A002,90", ",80"], "row 3: applicant_id is empty"),
        (["A001,85", "A002,90", "a001,80"], "row 3: A001 is already scored in row 1"),
        (["A001,85", "A002,90", "A003"], "row 3: 1 field(s), the header has 2"),
    ],
)
def test_a_bad_score_refuses_the_whole_file_naming_its_row(rows: list[str], message: str) -> None:
    assert refusal("\n".join(["applicant_id,score", *rows]), parse_scores) == message


def test_a_scores_file_needs_its_two_columns() -> None:
    assert refusal("applicant_id\nA001\n", parse_scores) == "header: missing column 'score'"
    assert "unknown column 'name'" in refusal("applicant_id,score,name\nA001,80,Avery\n", parse_scores)
    assert refusal("", parse_scores) == "the file is empty"
    assert refusal("applicant_id,score\n", parse_scores) == "the file has a header but no rows"
