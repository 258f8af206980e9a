"""Applications and scores from CSV files: the whole file or nothing.

Pure functions from the file's text to the Update arguments; ``hr recruitment import`` and
``hr recruitment score --file`` send nothing unless every row is good. A refusal is a
``CsvRefused`` whose message is one line, ``row N: <reason>`` where N counts data rows (the
header is not a row; blank lines are skipped and not counted), so N is also the row number the
workflow names when it refuses a duplicate.

Applicants: ``name,email,education,experience[,answer_1,answer_2,…]`` where ``experience`` is
``area=years;area=years`` (``bookkeeping=3;clerical=2``; empty for none) and ``answer_N`` are
the answers to the supplemental questions, in order. Scores: ``applicant_id,score``.
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Iterator, Sequence
from typing import Any

from pydantic import ValidationError

from schemas.recruitment import Application, CandidateScore
from workflows.rules.recruitment import MAX_SCORE, MIN_SCORE

APPLICANT_COLUMNS: tuple[str, ...] = ("name", "email", "education", "experience")
ANSWER_COLUMN = re.compile(r"answer_([1-9][0-9]*)")
SCORE_COLUMNS: tuple[str, ...] = ("applicant_id", "score")


class CsvRefused(ValueError):
    """A file (or a field) that cannot be used; the message is one line naming the row."""


SHOWN = 40
"""At most this many characters of a field are repeated in a refusal (in Python's quoting)."""
FIELD_NAME = re.compile(r"[a-z_][a-z0-9_]{0,39}")


def shown(value: str) -> str:
    """A field as a refusal repeats it: quoted, escaped (no control character) and short."""
    return repr(value if len(value) <= SHOWN else value[:SHOWN] + "…")


# --------------------------------------------------------------------------- fields


def parse_experience(text: str) -> dict[str, float]:
    """``bookkeeping=3;clerical=2`` (``,`` separates too) as ``{"bookkeeping": 3.0, ...}``.

    Areas are lower-cased; empty text is no experience. Negative years are left to the
    ``Application`` model, which refuses them with its own message.
    """
    result: dict[str, float] = {}
    for part in re.split(r"[;,]", text):
        part = part.strip()
        if not part:
            continue
        area, sep, years_text = part.partition("=")
        area = " ".join(area.split()).lower()
        if not sep or not area:
            raise CsvRefused(f"experience {shown(part)} is not area=years")
        try:
            years = float(years_text.strip())
        except ValueError:
            raise CsvRefused(f"experience {shown(part)}: years must be a number") from None
        if not math.isfinite(years):
            raise CsvRefused(f"experience {shown(part)}: years must be a number")
        if area in result:
            raise CsvRefused(f"experience names {shown(area)} twice")
        result[area] = years
    return result


def normal_education(text: str) -> str:
    """``High School`` → ``high_school``; the model checks the level is a known one."""
    return "_".join(text.strip().lower().replace("-", " ").split())


def short_validation_message(err: ValidationError) -> str:
    """A model's validation errors as one short line (no pydantic boilerplate, no URLs).

    The field is named by its path of field names: a dict key in the path (an experience area)
    is left out, and an input is repeated only as ``shown`` repeats it.
    """
    parts: list[str] = []
    for error in err.errors():
        path = [p for p in error["loc"] if isinstance(p, str) and FIELD_NAME.fullmatch(p)]
        field = ".".join(path) or "value"
        if "[key]" in error["loc"]:  # a dict's key: an experience area
            field += " area"
        kind = error["type"]
        ctx: dict[str, Any] = error.get("ctx") or {}
        message = str(error["msg"]).removeprefix("Value error, ")
        if kind == "value_error" and field == "education":
            parts.append(
                f"education {shown(str(error['input']))} is unknown; {message.removeprefix('education ')}"
            )
        elif kind == "value_error":  # our validators write whole sentences
            parts.append(message)
        elif kind == "string_pattern_mismatch" and field == "email":
            parts.append(f"email {shown(str(error['input']))} is not an e-mail address")
        elif kind == "string_too_short":
            parts.append(f"{field} is empty")
        elif kind == "string_too_long":
            parts.append(f"{field} is longer than {ctx.get('max_length')} characters")
        elif kind == "missing":
            parts.append(f"{field} is missing")
        else:
            parts.append(f"{field}: {message[:1].lower()}{message[1:]}")
    return "; ".join(p if len(p) <= 200 else p[:200] + "…" for p in parts)


def make_application(
    name: str, email: str, education: str, experience: str, answers: Sequence[str] = ()
) -> Application:
    """One application from its text fields; ``CsvRefused`` with a short reason otherwise."""
    answers = list(answers)
    while answers and not answers[-1].strip():
        answers.pop()
    try:
        return Application(
            name=" ".join(name.split()),
            email=email.strip(),
            education=normal_education(education),
            experience=parse_experience(experience),
            supplemental_answers=[a.strip() for a in answers],
        )
    except ValidationError as err:
        raise CsvRefused(short_validation_message(err)) from None


def parse_score(text: str) -> float:
    """A score from 0 to 100."""
    try:
        value = float(text.strip())
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise CsvRefused(f"score {shown(text.strip())} is not a number")
    if not MIN_SCORE <= value <= MAX_SCORE:
        raise CsvRefused(f"score {value:g} is outside {MIN_SCORE:g}-{MAX_SCORE:g}")
    return value


# --------------------------------------------------------------------------- files


def _records(text: str) -> tuple[list[str], Iterator[tuple[int, list[str]]]]:
    """The header (names lower-cased) and the numbered non-blank data rows."""
    text = text.removeprefix("\ufeff")
    try:
        rows = [
            r for r in csv.reader(io.StringIO(text, newline=""), strict=True) if any(f.strip() for f in r)
        ]
    except csv.Error as err:
        raise CsvRefused(f"not a readable CSV file: {err}") from None
    if not rows:
        raise CsvRefused("the file is empty")
    header = [h.strip().lower() for h in rows[0]]
    seen: set[str] = set()
    for name in header:
        if not name:
            raise CsvRefused("header: a column has no name")
        if name in seen:
            raise CsvRefused(f"header: column {shown(name)} appears twice")
        seen.add(name)
    if len(rows) == 1:
        raise CsvRefused("the file has a header but no rows")

    def numbered() -> Iterator[tuple[int, list[str]]]:
        for n, row in enumerate(rows[1:], start=1):
            if len(row) != len(header):
                raise CsvRefused(f"row {n}: {len(row)} field(s), the header has {len(header)}")
            yield n, row

    return header, numbered()


def parse_applicants(text: str) -> list[Application]:
    """Every application of an applicants file, or ``CsvRefused`` naming the first bad row."""
    header, rows = _records(text)
    answers: dict[int, int] = {}
    for i, name in enumerate(header):
        match = ANSWER_COLUMN.fullmatch(name)
        if match:
            answers[int(match.group(1))] = i
        elif name not in APPLICANT_COLUMNS:
            raise CsvRefused(
                f"header: unknown column {shown(name)} (expected {', '.join(APPLICANT_COLUMNS)}, "
                "then answer_1, answer_2, …)"
            )
    for column in APPLICANT_COLUMNS:
        if column not in header:
            raise CsvRefused(f"header: missing column {column!r}")
    if sorted(answers) != list(range(1, len(answers) + 1)):
        raise CsvRefused("header: answer columns must be answer_1, answer_2, … without gaps")
    at = {name: header.index(name) for name in APPLICANT_COLUMNS}
    order = [answers[k] for k in sorted(answers)]
    applications: list[Application] = []
    for n, row in rows:
        try:
            applications.append(
                make_application(
                    row[at["name"]],
                    row[at["email"]],
                    row[at["education"]],
                    row[at["experience"]],
                    [row[i] for i in order],
                )
            )
        except CsvRefused as refused:
            raise CsvRefused(f"row {n}: {refused}") from None
    return applications


def parse_scores(text: str) -> list[CandidateScore]:
    """Every score of a scores file (``applicant_id,score``), or ``CsvRefused`` naming the row."""
    header, rows = _records(text)
    for name in header:
        if name not in SCORE_COLUMNS:
            raise CsvRefused(f"header: unknown column {shown(name)} (expected {', '.join(SCORE_COLUMNS)})")
    for column in SCORE_COLUMNS:
        if column not in header:
            raise CsvRefused(f"header: missing column {column!r}")
    at = {name: header.index(name) for name in SCORE_COLUMNS}
    scores: list[CandidateScore] = []
    first_row: dict[str, int] = {}
    for n, row in rows:
        applicant_id = row[at["applicant_id"]].strip().upper()
        if not applicant_id:
            raise CsvRefused(f"row {n}: applicant_id is empty")
        try:
            entry = CandidateScore(applicant_id=applicant_id, score=parse_score(row[at["score"]]))
        except CsvRefused as refused:
            raise CsvRefused(f"row {n}: {refused}") from None
        except ValidationError:  # the score is checked above: it is the id
            raise CsvRefused(
                f"row {n}: applicant_id {shown(applicant_id)} is not an id (letters, digits, '.', '_', '-')"
            ) from None
        if applicant_id in first_row:
            raise CsvRefused(f"row {n}: {applicant_id} is already scored in row {first_row[applicant_id]}")
        first_row[applicant_id] = n
        scores.append(entry)
    return scores
