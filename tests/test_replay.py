"""Recorded histories replay against today's workflow code (``python -m tests.record_histories``).

Every file in ``tests/histories`` is replayed, in the sandbox the worker uses; a change that
would break runs in flight fails here. Make it with ``workflow.patched`` or a new workflow
version instead, and never re-record or delete a recorded history. ``*_encrypted.json`` were
recorded with the payload codec and replay with its (public, test-only) key.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

from tests.record_histories import encrypted_converter
from worker import WORKFLOW_INTERCEPTORS, WORKFLOWS, workflow_runner

HISTORIES = sorted((Path(__file__).parent / "histories").glob("*.json"))


def test_there_are_recorded_histories_of_every_workflow_and_path():
    assert {p.stem for p in HISTORIES} >= {
        "jd_review_adopted",
        "jd_review_rounds_no_response_tabled",
        "jd_review_signal_delegate_extended_withdrawn",
        "jd_review_adopted_encrypted",
        "jd_sweep",
        "recruitment_hired_after_background_answer",
        "recruitment_revised_signal_scores_reassigned_declined",
        "eligibility_register_first_run",
        "personnel_action_resignation_moved_executed",
        "personnel_action_release_executed",
        "personnel_action_promotion_probation",
        "personnel_action_refused_conflict",
        "personnel_action_withdrawn",
        "recruitment_hire_starts_onboarding",
        "onboarding_direct_appointment_late_reopened_permanent",
        "probation_cjis_escalated_awaited_permanent",
        "probation_extended_returned_released",
        "leave_intermittent_exhausted_referred",
        "leave_intermittent_exhausted_referred_encrypted",
        "leave_certification_never_arrives_denied",
        "leave_workers_comp_tpa_extended_returned",
        "jd_review_signed_answers_unsigned_dropped",
        "benefits_new_hire_elected",
        "benefits_new_hire_defaulted",
        "benefits_cobra_elected",
        "personnel_action_separation_starts_cobra",
        "onboarding_starts_new_hire_benefits",
        "open_enrollment_paused_resumed_outcomes",
        "benefits_open_enrollment_carried_over",
        "open_enrollment_continued_as_new",
        "jd_review_coalesced_adopted",
        "jd_review_coalesced_revised_escalated_extended_withdrawn",
        "benefits_audit_returned_approved",
        "death_claim_filed_beneficiary_told",
        "death_claim_no_life_coverage",
        "personnel_action_death_starts_death_claim",
        "jd_review_signed_start_adopted",
        "jd_review_revised_by_reference_update_signal_update",
        "jd_review_revised_by_reference_update_signal_update_encrypted",
    }


@pytest.mark.parametrize("path", HISTORIES, ids=[p.stem for p in HISTORIES])
async def test_history_replays_without_nondeterminism(path: Path):
    history = WorkflowHistory.from_json(path.stem, path.read_text())
    converter = encrypted_converter() if path.stem.endswith("_encrypted") else pydantic_data_converter
    replayer = Replayer(
        workflows=WORKFLOWS,
        data_converter=converter,
        workflow_runner=workflow_runner(),
        interceptors=WORKFLOW_INTERCEPTORS,
    )
    result = await replayer.replay_workflow(history, raise_on_replay_failure=True)
    assert result.replay_failure is None


def test_the_encrypted_history_carries_no_clear_payload():
    """Workflow, activity, Update and signal payloads are all encrypted (search attributes and
    the summary are not payloads the codec sees: they carry ids and codes only)."""
    path = Path(__file__).parent / "histories" / "jd_review_adopted_encrypted.json"
    history = WorkflowHistory.from_json(path.stem, path.read_text())
    encodings: list[bytes] = []
    for event in history.events:
        for field in ("input", "result"):
            for attrs in event.ListFields():
                value = getattr(attrs[1], field, None)
                if value is not None and hasattr(value, "payloads"):
                    encodings += [p.metadata["encoding"] for p in value.payloads]
        if event.HasField("workflow_execution_update_accepted_event_attributes"):
            request = event.workflow_execution_update_accepted_event_attributes.accepted_request
            encodings += [p.metadata["encoding"] for p in request.input.args.payloads]
    assert len(encodings) > 50 and set(encodings) == {b"binary/encrypted"}


def test_each_revised_draft_is_in_its_answers_event_only():
    """Under ``revised-draft-by-reference`` HR's texts (a first draft by Update, a revision by
    signal, another by Update) are each in one event of the history: the answer that carried it,
    never an activity's input (``save_start_draft`` reads them from there)."""
    path = Path(__file__).parent / "histories" / "jd_review_revised_by_reference_update_signal_update.json"
    history = WorkflowHistory.from_json(path.stem, path.read_text())
    accepted = EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED
    for which, kind in (
        ("First", accepted),
        ("Second", EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED),
        ("Third", accepted),
    ):
        line = f"{which} draft, saved by reference.".encode()
        assert [e.event_type for e in history.events if line in e.SerializeToString()] == [kind], which
    scheduled = [
        e.activity_task_scheduled_event_attributes.activity_type.name
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
    ]
    assert scheduled.count("save_start_draft") == 3 and "save_draft" not in scheduled
