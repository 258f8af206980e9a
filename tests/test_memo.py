"""The memo to the Civil Service Board says what the record says (seed 003 is the model)."""

from __future__ import annotations

from datetime import date

from activities.documents import MemoContext, render_memo


def _ctx(**kw) -> MemoContext:
    base = dict(
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
