"""The memo to the Civil Service Board says what the record says (seed 003 is the model)."""

from __future__ import annotations

from datetime import date
from typing import Any

from activities.documents import MemoContext, render_memo


def _ctx(**kw: Any) -> MemoContext:
    base: dict[str, Any] = dict(
        memo_date=date(2023, 9, 27),
        from_name="Heather DuVal",
        from_title="Human Resources Supervisor",
        class_title="Human Resources Technician",
        class_code="1821",
        last_revised=date(2010, 12, 6),
        supervisors_approved=["Pat Lee"],
        incumbents_approved=["Ann Roe", "Bo Chan"],
        union_name="Confidential Union",
        union_position="agreeable",
    )
    return MemoContext(**(base | kw))


def test_memo_has_the_duluth_memos_parts():
    text = render_memo(_ctx())
    assert text.startswith("DATE: September 27, 2023\n")
    for part in (
        "TO: Civil Service Board",
        "FROM: Heather DuVal\nHuman Resources Supervisor",
        "SUBJECT: Revised Job Classification of Human Resources Technician",
        "RECOMMENDATION: APPROVAL OF THE REVISED JOB DESCRIPTION FOR THE CLASSIFICATION OF "
        "HUMAN RESOURCES TECHNICIAN.",
        "Background Information/Summary of Job",
        "was last revised in 2010",
        "discussed with the Confidential Union and the incumbents, and all are agreeable",
        "Section 13-7 of the Civil Service Code",
    ):
        assert part in text, part
    assert "Ann Roe and Bo Chan" in text
    assert "No response" not in text


def test_memo_reports_no_response_objection_and_rounds():
    text = render_memo(
        _ctx(
            no_response=["Bo Chan"],
            incumbents_approved=["Ann Roe"],
            rounds=2,
            union_position="objection",
            union_comment="wants a pay review first",
        )
    )
    assert "No response was received from Bo Chan" in text
    assert "after 2 rounds of review" in text
    assert "objected: wants a pay review first" in text


_BACKGROUND = (
    "As you are aware, the City is undertaking a job description review on all job descriptions last "
    "revised over 10 years ago. During this project, the job descriptions are being reviewed by both "
    "the supervisor of the position, as well as the incumbent(s). The intent of this process is to "
    "ensure that the description reflects the current duties of the position, as well as the "
    "education, experience, knowledge, skills, and abilities (KSAs) required to perform those duties."
)
_HEAD = (
    "DATE: September 27, 2023\n\nTO: Civil Service Board\n\nFROM: Heather DuVal\n"
    "Human Resources Supervisor\n\nSUBJECT: Revised Job Classification of Human Resources Technician\n\n"
    "RECOMMENDATION: APPROVAL OF THE REVISED JOB DESCRIPTION FOR THE CLASSIFICATION OF HUMAN "
    "RESOURCES TECHNICIAN.\n\nBackground Information/Summary of Job\n\n" + _BACKGROUND + "\n\n"
)
_RECOMMENDATION = (
    "Recommendation\n\nBased on the above information, and in accordance with Section 13-7 of the "
    "Civil Service Code, I recommend that the Civil Service Board approve the revised job "
    "description for Human Resources Technician.\n"
)


def test_the_memo_text_is_exactly_todays():
    """The memo comes from a template now (activities/templates/memo.txt); its text did not change."""
    assert render_memo(_ctx()) == (
        _HEAD + "The Human Resources Technician (class 1821) was last revised in 2010.\n"
        "The revised description was approved by the supervisor(s) Pat Lee, by the incumbent(s) Ann Roe "
        "and Bo Chan.\n\nThe job classification was discussed with the Confidential Union and the "
        "incumbents, and all are agreeable to the proposed job description.\n\n" + _RECOMMENDATION
    )
    assert render_memo(
        _ctx(
            last_revised=None,
            supervisors_approved=[],
            incumbents_approved=[],
            no_response=["Ann Roe", "Bo Chan", "Cy Dee"],
            rounds=3,
            union_name=None,
            redline_document_id=12,
        )
    ) == (
        _HEAD + "The Human Resources Technician (class 1821) has no recorded revision date.\n"
        "The revised description was reviewed, after 3 rounds of review.\n"
        "No response was received from Ann Roe, Bo Chan and Cy Dee by the review deadline, after "
        "reminders and escalation.\n\nThe classification is not represented by a bargaining unit.\n\n"
        + _RECOMMENDATION
        + "\nAttachment: redline of the current and proposed text (document 12).\n"
    )
