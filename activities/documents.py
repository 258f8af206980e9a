"""Documents generated from the record: the memo to the Civil Service Board (seed 003 is the model)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

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


def _names(names: list[str]) -> str:
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + " and " + names[-1]


def render_memo(ctx: MemoContext) -> str:
    """The memo recommending approval of a revised description, in the Duluth memo's shape."""
    title = ctx.class_title
    lines = [
        f"DATE: {ctx.memo_date:%B} {ctx.memo_date.day}, {ctx.memo_date.year}",
        "",
        "TO: Civil Service Board",
        "",
        f"FROM: {ctx.from_name}",
        ctx.from_title,
        "",
        f"SUBJECT: Revised Job Classification of {title}",
        "",
        f"RECOMMENDATION: APPROVAL OF THE REVISED JOB DESCRIPTION FOR THE CLASSIFICATION OF {title.upper()}.",
        "",
        "Background Information/Summary of Job",
        "",
        "As you are aware, the City is undertaking a job description review on all job "
        f"descriptions last revised over {ctx.older_than_years} years ago. During this project, "
        "the job descriptions are being reviewed by both the supervisor of the position, as well "
        "as the incumbent(s). The intent of this process is to ensure that the description "
        "reflects the current duties of the position, as well as the education, experience, "
        "knowledge, skills, and abilities (KSAs) required to perform those duties.",
        "",
    ]
    if ctx.last_revised is not None:
        lines.append(f"The {title} (class {ctx.class_code}) was last revised in {ctx.last_revised.year}.")
    else:
        lines.append(f"The {title} (class {ctx.class_code}) has no recorded revision date.")
    review = []
    if ctx.supervisors_approved:
        review.append(f"approved by the supervisor(s) {_names(ctx.supervisors_approved)}")
    if ctx.incumbents_approved:
        review.append(f"by the incumbent(s) {_names(ctx.incumbents_approved)}")
    sentence = "The revised description was " + (", ".join(review) if review else "reviewed")
    if ctx.rounds > 1:
        sentence += f", after {ctx.rounds} rounds of review"
    lines.append(sentence + ".")
    if ctx.no_response:
        lines.append(
            f"No response was received from {_names(ctx.no_response)} by the review deadline, "
            "after reminders and escalation."
        )
    lines.append("")
    if ctx.union_name is None:
        lines.append("The classification is not represented by a bargaining unit.")
    elif ctx.union_position == "agreeable":
        lines.append(
            f"The job classification was discussed with the {ctx.union_name} and the incumbents, "
            "and all are agreeable to the proposed job description."
        )
    elif ctx.union_position == "objection":
        lines.append(
            f"The job classification was discussed with the {ctx.union_name}, which objected: "
            f"{ctx.union_comment or 'no comment given'}. Human Resources decided to proceed."
        )
    else:
        lines.append(f"The {ctx.union_name} did not respond to the consultation.")
    lines += [
        "",
        "Recommendation",
        "",
        f"Based on the above information, and in accordance with {CIVIL_SERVICE_CODE_SECTION} of "
        "the Civil Service Code, I recommend that the Civil Service Board approve the revised job "
        f"description for {title}.",
    ]
    if ctx.redline_document_id is not None:
        lines += [
            "",
            f"Attachment: redline of the current and proposed text (document {ctx.redline_document_id}).",
        ]
    return "\n".join(lines) + "\n"
