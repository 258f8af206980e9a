"""Documents generated from the record: the memo to the Civil Service Board (seed 003 is the
model) and redlines; their text comes from the templates in ``activities/templates/``."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import date

from activities.rendering import MEMO, render_document, render_redline_document
from schemas.tables import JobDescriptionVersion
from workflows.rules.redline import Redline

CIVIL_SERVICE_CODE_SECTION = "Section 13-7"


@dataclass(frozen=True)
class MemoContext:
    """Everything the memo states, taken from the record by the caller."""

    memo_date: date
    from_name: str
    from_title: str
    class_title: str
    class_code: str
    last_revised: date | None
    supervisors_approved: list[str] = field(default_factory=list)
    incumbents_approved: list[str] = field(default_factory=list)
    no_response: list[str] = field(default_factory=list)
    union_name: str | None = None
    union_position: str | None = None
    union_comment: str | None = None
    rounds: int = 1
    redline_document_id: int | None = None
    older_than_years: int = 10


def render_memo(ctx: MemoContext) -> str:
    """The memo recommending approval of a revised description, in the Duluth memo's shape
    (template ``activities/templates/memo.txt``).

    Raises:
        activities.rendering.MissingField: The template uses a field the context lacks.
    """
    values = {f.name: getattr(ctx, f.name) for f in fields(ctx)}
    values["civil_service_code_section"] = CIVIL_SERVICE_CODE_SECTION
    return render_document(MEMO, values)


def render_redline(
    class_code: str, review_round: int, current: JobDescriptionVersion | None, diff: Redline
) -> str:
    """A redline document: a header naming the classification, the round and the current
    version's revision date, then the redline (template ``activities/templates/redline.txt``).

    Args:
        class_code: The classification.
        review_round: The review round the proposed text belongs to.
        current: The version in force the proposal is compared with, if any.
        diff: ``workflows.rules.redline.redline(current text, proposed text)``.
    """
    return render_redline_document(
        class_code=class_code,
        review_round=review_round,
        current_revised_on=current.revised_on if current is not None else None,
        has_current=current is not None,
        redline=diff.text,
    )
