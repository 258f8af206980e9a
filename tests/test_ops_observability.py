"""The labels workflow code gives metrics and the UI's timeline: small, fixed sets, codes only."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from activities.notifications import NotificationActivities
from activities.records import RecordActivities
from schemas.human_step import AuditInput, NotifyInput
from workflows import observability


@pytest.mark.parametrize(
    ("message", "label"),
    [
        ("E1001 is not a respondent of step review-1", "not_respondent"),
        ("E1001 is not a respondent of any open step", "not_respondent"),
        ("step review-1 is closed", "step_closed"),
        ("no step is open", "no_open_step"),
        ("unknown step 'x'", "unknown_step"),
        ("E1006 may not approve their own request", "own_request"),
        ("decision 'reject' at step review-1 needs a comment", "comment_required"),
        ("E1006 has already answered step review-1", "already_answered"),
        ("Jane Q. Public sent something odd", "other"),
    ],
)
def test_a_refusal_becomes_a_fixed_reason(message: str, label: str):
    assert observability.refusal_reason(message) == label


def test_timeline_labels_name_steps_and_templates_never_people():
    assert observability.timer_summary("reminder", "review-1") == "reminder review-1"
    assert observability.timer_summary("escalate", "board-1") == "escalation board-1"
    assert observability.timer_summary("overdue_reminder", "x-1") == "overdue reminder x-1"
    notice = NotifyInput(
        key="k",
        workflow_id="w",
        recipient_ids=["E1006"],
        template="step_opened",
        params={"step_id": "review-1", "step_title": "Review by Jane Doe"},
    )
    assert (
        observability.activity_summary(NotificationActivities.notify, notice) == "notify step_opened review-1"
    )
    audit = AuditInput(
        key="k",
        workflow_id="w",
        step_id="review-1",
        actor_id="E1006",
        action="approve",
        at=datetime.now(timezone.utc),
        comment="Jane Doe agrees",
    )
    label = observability.activity_summary(RecordActivities.record_audit, audit)
    assert label == "record audit review-1 approve" and "Jane" not in label


def test_outside_a_workflow_the_metric_helpers_do_nothing():
    observability.step_opened("review-1")  # no workflow: no meter, no error
    observability.decision_refused("no step is open")
