"""Every notice, memo and redline comes from one strict template engine (activities/templates/).

A field a template uses and the caller did not supply raises instead of rendering a placeholder
("(not stated)" in a legal notice); the activities turn that into a retryable ``TemplateError``
that names the template and the field, never a value. The wording and subjects are today's.
"""

from __future__ import annotations

import dataclasses
import shutil
import subprocess
import sys
from datetime import date, datetime, timezone
from pathlib import Path

import jinja2
import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select
from structlog.testing import capture_logs
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities import records as records_module
from activities import rendering
from activities.documents import MemoContext, render_memo, render_redline
from activities.notifications import SIGNATURE, NotificationActivities, outbox_for, render
from activities.records import RecordActivities
from activities.recruitment import APPLICANT_TEMPLATES, render_applicant_notice
from activities.seed import HR_SUPERVISOR_ID, seed_city
from schemas.human_step import NotifyInput
from schemas.jd_review import MemoFacts, MemoInput, SaveDraftInput
from schemas.tables import Document, JobDescriptionVersion
from workflows.rules.redline import redline

ROOT = Path(__file__).resolve().parents[1]
WF = "jd-review-1821-2024"
RID = "ITAT-2026-01"

# ----- the documented fields of every template -------------------------------------------------

STAFF_FIELDS: dict[str, list[str]] = {
    "step_opened": ["step_title", "due_at", "allowed"],
    "reminder": ["step_title", "due_at", "allowed"],
    "overdue": ["step_title", "due_at", "allowed"],
    "escalation": ["step_title", "due_at", "overdue"],
    "decision_recorded": ["step_title", "decision"],
    "outcome": ["outcome"],
    "action_executed": ["kind", "employee_id", "effective_on"],
    "effective_date_moved": ["kind", "employee_id", "effective_on", "from_on", "reason"],
    "orientation_scheduled": ["orientation", "on", "starts_on"],
    "probation_reminder": ["employee_id", "ends_on", "days_left", "command"],
    "cjis_missing": ["employee_id", "position_id", "ends_on", "command"],
    "probation_extended": ["employee_id", "ends_on", "days"],
    "leave_designation": [
        "employee_id",
        "starts_on",
        "ends_on",
        "schedule",
        "entitlement_hours",
        "remaining_hours",
        "command",
    ],
    "benefits_confirmation": ["event", "outcome", "elections", "coverage_on"],
    "cobra_notice": ["separated_on", "coverage_ends_on", "elect_by", "plans"],
    "benefits_returned": ["audited_by", "reason", "due_at", "command", "allowed"],
    "beneficiary_notice": ["employee_name", "carrier", "claim_number"],
}
"""The parameters each staff notice needs (``name`` and ``workflow_id`` come from ``render``)."""

APPLICANT_FIELDS: dict[str, list[str]] = {
    "application_received": ["title", "class_code", "closes_at"],
    "mq_qualified": ["title", "class_code"],
    "mq_not_qualified": ["title", "class_code", "reasons"],
    "supplemental_invited": ["title", "supplemental", "oral_board_by"],
    "supplemental_not_invited": ["title", "supplemental"],
    "oral_board_invited": ["title", "class_code", "oral_board_by"],
    "final_passed": ["title", "final", "rank", "register_size"],
    "final_not_passed": ["title", "final", "pass_point"],
    "certified": ["title", "department"],
    "conditional_offer": ["title", "class_code", "start_date", "pay_step", "checks"],
    "background_pre_adverse": ["title", "checks", "answer_by"],
    "background_disqualified": ["title"],
    "hired": ["title", "class_code", "start_date", "employee_id"],
    "not_selected": ["title"],
    "recruitment_closed": ["title", "class_code", "disposition"],
}
"""The parameters each applicant notice needs (``name``, ``applicant_id`` and ``recruitment_id``
come from ``render_applicant_notice``)."""

STAFF_VALUES = {
    "step_title": "Supervisor review of 1821",
    "due_at": "2024-03-15 17:00 UTC",
    "allowed": "approve, request_changes",
    "overdue": "E1026, E1027",
    "decision": "approve",
    "outcome": "adopted",
}
ACTION_VALUES = {
    "kind": "resignation",
    "employee_id": "E1016",
    "effective_on": "2027-01-15",
    "from_on": "2027-01-08",
    "reason": "two weeks' notice agreed",
}
"""The personnel action's notices (``action_executed``, ``effective_date_moved``)."""
ONBOARDING_VALUES = {
    "orientation": "new-employee orientation",
    "on": "2027-01-06",
    "starts_on": "2027-01-04",
    "ends_on": "2027-07-04",
    "days_left": "30",
    "command": "hr probation decide",
    "position_id": "P-CI1659-04",
    "days": "45",
}
"""Onboarding's and probation's notices (``employee_id`` is the personnel action's)."""
LEAVE_VALUES = {
    "schedule": "intermittent",
    "entitlement_hours": "480",
    "remaining_hours": "40",
}
"""The leave's designation notice (dates and command are onboarding's)."""
BENEFITS_VALUES = {
    "event": "new hire",
    "elections": "MED-PPO (medical, family); DEN-DELTA (dental, family)",
    "coverage_on": "2027-02-01",
    "separated_on": "2027-01-15",
    "coverage_ends_on": "2027-01-31",
    "elect_by": "2027-04-01",
    "plans": "MED-PPO (medical), DEN-DELTA (dental)",
    "audited_by": "E1008",
    "reason": "dental was asked for on the paper form",
    "employee_name": "Dana Okafor",
    "carrier": "Standard Insurance",
    "claim_number": "LC-77120",
}
"""Benefits enrollment's notices (``outcome`` is the staff notices')."""
ALL_STAFF_VALUES = STAFF_VALUES | ACTION_VALUES | ONBOARDING_VALUES | LEAVE_VALUES | BENEFITS_VALUES

APPLICANT_VALUES = {
    "title": "Information Technology Accounting Technician",
    "class_code": "ITAT",
    "closes_at": "2026-08-19 23:59 UTC",
    "reasons": "education below vocational",
    "oral_board_by": "2026-09-09",
    "supplemental": "28",
    "final": "83",
    "rank": "1",
    "register_size": "4",
    "pass_point": "70",
    "department": "Information Technology",
    "start_date": "2026-10-05",
    "pay_step": "2",
    "checks": "criminal, education",
    "answer_by": "2026-09-30",
    "employee_id": "E1031",
    "disposition": "not_qualified",
}

MEMO_VALUES = {
    "memo_date": date(2023, 9, 27),
    "from_name": "Heather DuVal",
    "from_title": "Human Resources Supervisor",
    "class_title": "Human Resources Technician",
    "class_code": "1821",
    "last_revised": date(2010, 12, 6),
    "supervisors_approved": ["Pat Lee"],
    "incumbents_approved": ["Ann Roe"],
    "no_response": ["Bo Chan"],
    "union_name": "Confidential Union",
    "union_position": "objection",
    "union_comment": "wants a pay review first",
    "rounds": 2,
    "redline_document_id": 7,
    "older_than_years": 10,
    "civil_service_code_section": "Section 13-7",
}
"""Every field of the memo, with values that take every field into the text."""

REDLINE_VALUES = {
    "class_code": "1821",
    "round": 2,
    "has_current": True,
    "current_revised_on": date(2010, 12, 6),
    "redline": "the [-quick-]{+slow+} fox",
}

# Today's subjects, as the format-string templates rendered them with the values above.
STAFF_SUBJECTS = {
    "step_opened": "Action needed: Supervisor review of 1821 (due 2024-03-15 17:00 UTC)",
    "reminder": "Reminder: Supervisor review of 1821 is due 2024-03-15 17:00 UTC",
    "overdue": "Overdue: Supervisor review of 1821 (was due 2024-03-15 17:00 UTC)",
    "escalation": "Escalated to you: Supervisor review of 1821 is overdue",
    "decision_recorded": "Decision recorded for you: Supervisor review of 1821",
    "outcome": f"Outcome of {WF}: adopted",
    "action_executed": "Personnel action executed: resignation of E1016, effective 2027-01-15",
    "effective_date_moved": "Effective date moved: resignation of E1016, now 2027-01-15",
    "orientation_scheduled": "Your new-employee orientation is on 2027-01-06",
    "probation_reminder": "Probation of E1016 ends 2027-07-04 (30 days)",
    "cjis_missing": "CJIS clearance of E1016 is not on record (probation ends 2027-07-04)",
    "probation_extended": "Probation of E1016 extended to 2027-07-04",
    "benefits_confirmation": "Your benefits new hire enrollment: adopted",
    "cobra_notice": "COBRA continuation: elect by 2027-04-01",
    "benefits_returned": "Your benefits elections were returned: please elect again by 2024-03-15 17:00 UTC",
    "beneficiary_notice": "Life insurance benefit: a claim has been filed with Standard Insurance",
    "board_packet": f"Human Resources notice: board_packet ({WF})",  # no template of its own
    "leave_designation": "Leave of E1016 approved and designated: 2027-01-04 to 2027-07-04",
}
_ITAT = "Information Technology Accounting Technician"
APPLICANT_SUBJECTS = {
    "application_received": f"Application received: {_ITAT} (ITAT)",
    "mq_qualified": f"Your application for {_ITAT}: minimum qualifications met",
    "mq_not_qualified": f"Your application for {_ITAT}: minimum qualifications not met",
    "supplemental_invited": f"Your application for {_ITAT}: invitation to the oral board",
    "supplemental_not_invited": f"Your application for {_ITAT}: supplemental review result",
    "oral_board_invited": f"Your application for {_ITAT}: invitation to the oral board",
    "final_passed": f"Your application for {_ITAT}: placed on the eligibility register",
    "final_not_passed": f"Your application for {_ITAT}: final result",
    "certified": f"Your application for {_ITAT}: certified to the hiring department",
    "conditional_offer": f"Conditional offer of employment: {_ITAT}",
    "background_pre_adverse": f"Background check for {_ITAT}: your opportunity to respond",
    "background_disqualified": f"Conditional offer withdrawn: {_ITAT}",
    "hired": f"Welcome to the City: {_ITAT}",
    "not_selected": f"Your application for {_ITAT}: not selected for this vacancy",
    "recruitment_closed": f"Recruitment closed: {_ITAT} (ITAT)",
}


def _without(values: dict, field: str) -> dict:
    return {k: v for k, v in values.items() if k != field}


def test_the_engine_is_strict_plain_text_and_every_template_is_documented_here() -> None:
    assert issubclass(rendering.ENV.undefined, jinja2.StrictUndefined)
    assert rendering.ENV.autoescape is False and rendering.ENV.keep_trailing_newline
    assert rendering.STAFF_NOTICES == set(STAFF_FIELDS)
    assert set(APPLICANT_TEMPLATES) == set(APPLICANT_FIELDS)
    documents = {
        *(f"staff/{t}.txt" for t in STAFF_FIELDS),
        *(f"applicant/{t}.txt" for t in APPLICANT_FIELDS),
        rendering.GENERIC_STAFF_NOTICE,
        rendering.MEMO,
        rendering.REDLINE,
        rendering.SIGNATURE_TEMPLATE,
    }
    parts = {
        name
        for name in rendering.ENV.list_templates()
        if name.rpartition("/")[2].startswith("_") and name not in documents
    }
    assert set(rendering.ENV.list_templates()) == documents | parts
    assert parts == {"staff/_action.txt", "staff/_details.txt", "applicant/_fair_hiring.txt"}


# ----- staff notices ---------------------------------------------------------------------------


@pytest.mark.parametrize("template", sorted(STAFF_FIELDS))
def test_a_staff_notice_renders_with_its_documented_fields(template: str) -> None:
    params = {field: ALL_STAFF_VALUES[field] for field in STAFF_FIELDS[template]}
    subject, body = render(template, params, "Linnea Brandt", WF)
    assert subject == STAFF_SUBJECTS[template]
    assert body.startswith("Dear Linnea Brandt,\n\n") and body.endswith("\n\n" + SIGNATURE + "\n")
    for value in params.values():
        assert value in subject + body
    assert "(not stated)" not in body and "{" not in subject + body


@pytest.mark.parametrize(
    ("template", "field"), [(t, f) for t, fields in sorted(STAFF_FIELDS.items()) for f in fields]
)
def test_a_staff_notice_missing_a_field_raises(template: str, field: str) -> None:
    params = _without({f: ALL_STAFF_VALUES[f] for f in STAFF_FIELDS[template]}, field)
    with pytest.raises(jinja2.UndefinedError) as caught:
        render(template, params, "Linnea Brandt", WF)
    assert isinstance(caught.value, rendering.MissingField)
    assert (caught.value.template, caught.value.field) == (f"staff/{template}.txt", field)
    assert f"staff/{template}.txt" in str(caught.value) and repr(field) in str(caught.value)
    assert "Linnea" not in str(caught.value)


def test_staff_notices_keep_todays_subjects_and_wording() -> None:
    for template, expected in STAFF_SUBJECTS.items():
        assert render(template, ALL_STAFF_VALUES, "Linnea Brandt", WF)[0] == expected
    _, body = render("step_opened", STAFF_VALUES, "Linnea Brandt", WF)
    assert body == (
        'Dear Linnea Brandt,\n\nYour answer is needed on "Supervisor review of 1821" in '
        "jd-review-1821-2024.\n\nPlease record your answer (approve, request_changes) by 2024-03-15 "
        "17:00 UTC. If you cannot, tell Human Resources so the step can be delegated or its due date "
        "moved.\n\nHuman Resources\nCity Employee Services\n"
    )
    _, body = render("outcome", STAFF_VALUES | {"class_code": "1821"}, "Linnea Brandt", WF)
    assert body == (
        "Dear Linnea Brandt,\n\nThe process jd-review-1821-2024 has finished: adopted.\n\n"
        "allowed: approve, request_changes\nclass_code: 1821\ndecision: approve\n"
        "due_at: 2024-03-15 17:00 UTC\noverdue: E1026, E1027\nstep_title: Supervisor review of 1821"
        "\n\nHuman Resources\nCity Employee Services\n"
    )


def test_the_generic_notice_lists_the_params_and_needs_no_workflow() -> None:
    subject, body = render("board_packet", {"meeting_date": "2024-05-07", "workflow_id": WF}, "Rosa", None)
    assert subject == f"Human Resources notice: board_packet ({WF})"
    assert body == (f"Dear Rosa,\n\nThere is an update on {WF}.\n\nmeeting_date: 2024-05-07\n\n{SIGNATURE}\n")
    subject, _ = render("board_packet", {}, "Rosa", None)
    assert subject == "Human Resources notice: board_packet ((no workflow))"


# ----- applicant notices -----------------------------------------------------------------------


@pytest.mark.parametrize("template", sorted(APPLICANT_FIELDS))
def test_an_applicant_notice_renders_with_its_documented_fields(template: str) -> None:
    params = {field: APPLICANT_VALUES[field] for field in APPLICANT_FIELDS[template]}
    subject, body = render_applicant_notice(template, params, "Ana Lindgren", "A001", RID)
    assert subject == APPLICANT_SUBJECTS[template]
    assert body.startswith("Dear Ana Lindgren,\n\n") and body.endswith("\n\n" + SIGNATURE + "\n")
    for value in params.values():
        assert value in subject + body
    assert "(not stated)" not in body and "{" not in subject + body


@pytest.mark.parametrize(
    ("template", "field"), [(t, f) for t, fields in sorted(APPLICANT_FIELDS.items()) for f in fields]
)
def test_an_applicant_notice_missing_a_field_raises(template: str, field: str) -> None:
    params = _without({f: APPLICANT_VALUES[f] for f in APPLICANT_FIELDS[template]}, field)
    with pytest.raises(jinja2.UndefinedError) as caught:
        render_applicant_notice(template, params, "Ana Lindgren", "A001", RID)
    assert isinstance(caught.value, rendering.MissingField)
    assert (caught.value.template, caught.value.field) == (f"applicant/{template}.txt", field)
    assert "Ana" not in str(caught.value)


def test_applicant_notices_keep_todays_subjects_and_wording() -> None:
    for template, expected in APPLICANT_SUBJECTS.items():
        assert render_applicant_notice(template, APPLICANT_VALUES, "Ana Lindgren", "A001", RID)[0] == expected
    _, offer = render_applicant_notice("conditional_offer", APPLICANT_VALUES, "Ana Lindgren", "A001", RID)
    assert offer == (
        "Dear Ana Lindgren,\n\nThe City is pleased to offer you the position of Information Technology "
        "Accounting Technician (ITAT), starting 2026-10-05 at pay step 2.\n\nThis offer is conditional "
        "on these background checks: criminal, education. They are run only now, after this "
        "conditional offer. Under the City's Fair Hiring Practices, the City does not ask about "
        "criminal history until after a conditional job offer has been made, and disregards a prior "
        "arrest or conviction unless the offense is directly related to the position. If a check "
        "finds a potentially disqualifying record, you will be told and given the opportunity to "
        "respond before any decision is made.\n\nPlease tell Human Resources whether you accept this "
        "offer.\n\nHuman Resources\nCity Employee Services\n"
    )
    with pytest.raises(KeyError):
        render_applicant_notice("../memo", APPLICANT_VALUES, "Ana Lindgren", "A001", RID)


# ----- documents: the memo and the redline -----------------------------------------------------


def test_the_memo_renders_with_every_field() -> None:
    text = rendering.render_document(rendering.MEMO, MEMO_VALUES)
    assert text.startswith("DATE: September 27, 2023\n") and text.endswith("(document 7).\n")
    ctx = MemoContext(**_without(MEMO_VALUES, "civil_service_code_section"))
    assert render_memo(ctx) == text
    assert {f.name for f in dataclasses.fields(MemoContext)} | {"civil_service_code_section"} == set(
        MEMO_VALUES
    )


@pytest.mark.parametrize("field", sorted(MEMO_VALUES))
def test_the_memo_missing_a_field_raises(field: str) -> None:
    with pytest.raises(rendering.MissingField) as caught:
        rendering.render_document(rendering.MEMO, _without(MEMO_VALUES, field))
    assert (caught.value.template, caught.value.field) == ("memo.txt", field)


def test_the_redline_document_has_a_header_then_the_redline() -> None:
    text = rendering.render_document(rendering.REDLINE, REDLINE_VALUES)
    assert text == (
        "REDLINE: classification 1821, review round 2\n"
        "Compared with: the current text, revised 2010-12-06\n"
        "Marks: [-removed-] {+added+}\n\n"
        "the [-quick-]{+slow+} fox\n"
    )
    undated = rendering.render_document(rendering.REDLINE, REDLINE_VALUES | {"current_revised_on": None})
    assert "Compared with: the current text (no recorded revision date)\n" in undated
    new = rendering.render_document(
        rendering.REDLINE, REDLINE_VALUES | {"has_current": False, "current_revised_on": None}
    )
    assert "Compared with: no current text (a new description)\n" in new

    old, proposed = "Duties:\nthe quick fox\n", "Duties:\nthe slow fox\n"
    current = JobDescriptionVersion(
        key="k",
        class_code="1821",
        status="current",
        text=old,
        revised_on=date(2010, 12, 6),
        created_at=datetime(2010, 12, 6, tzinfo=timezone.utc),
    )
    rendered = render_redline("1821", 1, current, redline(old, proposed))
    assert rendered.startswith("REDLINE: classification 1821, review round 1\n")
    assert rendered.endswith("\n\nDuties:\nthe [-quick-]{+slow+} fox\n")


@pytest.mark.parametrize("field", sorted(REDLINE_VALUES))
def test_the_redline_document_missing_a_field_raises(field: str) -> None:
    with pytest.raises(rendering.MissingField) as caught:
        rendering.render_document(rendering.REDLINE, _without(REDLINE_VALUES, field))
    assert (caught.value.template, caught.value.field) == ("redline.txt", field)


def test_save_draft_stores_the_redline_document_with_its_header(engine: Engine) -> None:
    seed_city(engine)
    records = RecordActivities(engine)
    saved = records.save_draft(
        SaveDraftInput(key="wf:round-2", workflow_id="wf", class_code="1821", round=2, text="New text\n")
    )
    with Session(engine) as session:
        doc = session.get(Document, saved.redline_document_id)
        assert doc is not None
        lines = doc.text.split("\n")
    assert lines[:3] == [
        "REDLINE: classification 1821, review round 2",
        "Compared with: the current text, revised 2010-12-06",  # the seeded 1821 description
        "Marks: [-removed-] {+added+}",
    ]
    assert "{+New text+}" in doc.text and "[-" in doc.text


# ----- in the activities: a retryable TemplateError, ids only -----------------------------------


def _assert_template_error(error: ApplicationError, template: str, field: str) -> None:
    assert error.type == "TemplateError" and not error.non_retryable
    assert template in error.message and repr(field) in error.message


def test_notify_with_a_missing_field_fails_retryably_names_template_and_field_and_writes_nothing(
    engine: Engine,
) -> None:
    seed_city(engine)
    env = ActivityEnvironment()
    env.info = dataclasses.replace(env.info, workflow_id=WF, workflow_run_id="run-1")
    acts = NotificationActivities(engine)
    inp = NotifyInput(
        key=f"{WF}:review-1:decision_recorded:answer:{HR_SUPERVISOR_ID}",
        workflow_id=WF,
        recipient_ids=[HR_SUPERVISOR_ID],
        template="decision_recorded",
        params={"step_title": "Supervisor review of 1821", "workflow_id": WF},  # no "decision"
    )
    with capture_logs() as logs, pytest.raises(ApplicationError) as caught:
        env.run(acts.notify, inp)
    _assert_template_error(caught.value, "staff/decision_recorded.txt", "decision")
    assert outbox_for(engine) == []
    errors = [e for e in logs if e["log_level"] == "error"]
    assert len(errors) == 1
    assert errors[0]["event"] == "template.missing_field"
    assert (errors[0]["template"], errors[0]["field"]) == ("staff/decision_recorded.txt", "decision")
    assert errors[0]["workflow_id"] == WF
    flat = repr(logs) + str(caught.value) + repr(caught.value.details)
    for secret in ("Linnea", "Brandt", "linnea.brandt@city.example", "Supervisor review of 1821"):
        assert secret not in flat


def test_generate_memo_and_save_draft_surface_a_template_error(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed_city(engine)
    records = RecordActivities(engine)

    def broken(*args: object, **kwargs: object) -> str:  # a template that needs one field more
        return rendering.render_document(rendering.MEMO, _without(MEMO_VALUES, "from_name"))

    monkeypatch.setattr(records_module, "render_memo", broken)
    monkeypatch.setattr(records_module, "render_redline", broken)
    memo = MemoInput(
        key="wf",
        workflow_id="wf",
        class_code="1821",
        version_id=1,
        facts=MemoFacts(
            memo_date=date(2026, 12, 1),
            hr_supervisor_id=HR_SUPERVISOR_ID,
            supervisors_approved=[],
            incumbents_approved=[],
            no_response=[],
            union_position=None,
            rounds=1,
        ),
    )
    with capture_logs() as logs:
        with pytest.raises(ApplicationError) as caught:
            records.generate_memo(memo)
        _assert_template_error(caught.value, "memo.txt", "from_name")
        draft = SaveDraftInput(key="wf:round-1", workflow_id="wf", class_code="1821", round=1, text="x")
        with pytest.raises(ApplicationError) as caught:
            records.save_draft(draft)
        _assert_template_error(caught.value, "memo.txt", "from_name")
    errors = [e for e in logs if e["log_level"] == "error"]
    assert [(e["event"], e["class_code"], e["field"]) for e in errors] == [
        ("template.missing_field", "1821", "from_name")
    ] * 2  # once per attempt
    with Session(engine) as session:
        assert session.exec(select(Document)).all() == []


# ----- shipped with the package ----------------------------------------------------------------


def _built_package(tmp_path: Path, pyproject: str | None = None) -> Path:
    """The packages as setuptools builds them for installation (``build_py``), from a copy."""
    src, lib = tmp_path / "src", tmp_path / "lib"
    src.mkdir()
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for package in ("activities", "workflows", "schemas", "service"):
        shutil.copytree(ROOT / package, src / package, ignore=ignore)
    for module in ("worker.py", "starter.py"):
        shutil.copy(ROOT / module, src / module)
    (src / "pyproject.toml").write_text(pyproject or (ROOT / "pyproject.toml").read_text())
    subprocess.run(
        [sys.executable, "-c", "import setuptools; setuptools.setup()", "-q", "build_py", "-d", str(lib)],
        cwd=src,
        check=True,
        capture_output=True,
    )
    return lib


def test_the_templates_are_package_data_and_render_from_an_installed_package(tmp_path: Path) -> None:
    lib = _built_package(tmp_path)
    shipped = {
        p.relative_to(lib / "activities" / "templates").as_posix()
        for p in lib.glob("activities/templates/**/*.txt")
    }
    assert shipped == set(rendering.ENV.list_templates())
    probe = (
        "import activities.rendering as r, sys\n"
        "assert r.__file__.startswith(sys.argv[1]), r.__file__\n"
        "print(r.render_applicant_notice('hired', {'title': 'T', 'class_code': 'C', 'start_date': 'D',"
        " 'employee_id': 'E1031'}, 'N', 'A001', 'R')[0])\n"
    )
    # cwd first on sys.path: the built copy, not the working tree, is imported.
    done = subprocess.run(
        [sys.executable, "-c", probe, str(lib)], cwd=lib, check=True, capture_output=True, text=True
    )
    assert done.stdout.strip() == "Welcome to the City: T"


def test_without_the_package_data_entry_the_templates_would_not_ship(tmp_path: Path) -> None:
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert '"templates/*.txt", "templates/*/*.txt"' in pyproject
    lib = _built_package(tmp_path, pyproject.replace(', "templates/*.txt", "templates/*/*.txt"', ""))
    assert not list(lib.glob("activities/templates/**/*.txt"))
