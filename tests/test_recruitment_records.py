"""The recruitment's system of record against a real database and a real SMTP server.

Every write is idempotent under retry; the hire makes a directory entry and fills the position;
notices to applicants are queued in the outbox like ``notify`` and delivered by the mailer.
"""

from __future__ import annotations

import dataclasses
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, timezone
from email.message import Message

import jinja2
import pytest
from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlmodel import Session, func, select
from structlog.testing import capture_logs
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities import recruitment as recruitment_module
from activities.mailer import Mailer
from activities.notifications import SIGNATURE, NotificationActivities, message_id, outbox_for
from activities.recruitment import (
    APPLICANT_TEMPLATES,
    RecruitmentActivities,
    applicants_for,
    recruitment_row,
    render_applicant_notice,
    scores_for,
)
from activities.seed import HR_SUPERVISOR_ID, HR_TECHNICIAN_IDS, seed_city
from schemas.recruitment import (
    Announcement,
    ApplicantNoticeInput,
    Application,
    CandidateRecord,
    CertificationRecord,
    CheckRecord,
    HireInput,
    NewApplicant,
    PostingInput,
    RecordApplicationsInput,
    RecordCandidatesInput,
    RecordScoresInput,
    RecruitmentOutcomeInput,
    ResolveRecruitmentInput,
    ScoreRecord,
    SelectionPlan,
    recruitment_workflow_id,
)
from schemas.tables import (
    Applicant,
    BackgroundCheck,
    EmployeeNumber,
    Hire,
    Person,
    Position,
    Recruitment,
    RegisterCertification,
    Score,
)
from tests.smtp_server import SmtpSink

MAIL_FROM = "hr-workflows@city.example"
RID = "ITAT-2026-01"
WF = recruitment_workflow_id(RID)
T = datetime(2026, 8, 1, 16, tzinfo=timezone.utc)
CLOSES = datetime(2026, 8, 19, 23, 59, tzinfo=timezone.utc)

ANA = Application(
    name="Ana Lindgren",
    email="ana.lindgren@mail.example",
    education="associate",
    experience={"accounting": 3.0},
    supplemental_answers=["I reconciled vendor accounts."],
)
BO = Application(name="Bo Achebe", email="bo.achebe@mail.example", education="high_school")


@pytest.fixture
def seeded(engine: Engine) -> Engine:
    seed_city(engine)
    return engine


def _acts(engine: Engine) -> RecruitmentActivities:
    return RecruitmentActivities(engine, NotificationActivities(engine))


def _mailer(engine: Engine, smtp: SmtpSink) -> Mailer:
    return Mailer(engine, smtp.host, smtp.port, MAIL_FROM)


def _posting(**kw: object) -> PostingInput:
    values: dict[str, object] = {
        "recruitment_id": RID,
        "workflow_id": WF,
        "requested_by": "E1015",
        "approved_by": HR_SUPERVISOR_ID,
        "announcement": Announcement(
            class_code="ITAT",
            title="Information Technology Accounting Technician",
            department_code="IT",
            vacancies=1,
            position_ids=["P-ITAT-02"],
            pay_min=28.5,
            pay_max=36.2,
            closes_at=CLOSES,
        ),
        "plan": SelectionPlan(pass_point=70.0),
        "posted_at": T,
    }
    values.update(kw)
    return PostingInput.model_validate(values)


def _apply(acts: RecruitmentActivities, *pairs: tuple[str, Application]) -> int:
    return acts.record_applications(
        RecordApplicationsInput(
            recruitment_id=RID,
            workflow_id=WF,
            applicants=[NewApplicant(applicant_id=a, applied_at=T, application=app) for a, app in pairs],
        )
    )


@pytest.fixture
def posted(seeded: Engine) -> RecruitmentActivities:
    """A posted recruitment with two applicants, A001 (Ana) and A002 (Bo)."""
    acts = _acts(seeded)
    acts.record_posting(_posting())
    _apply(acts, ("A001", ANA), ("A002", BO))
    return acts


def _count(engine: Engine, model: type) -> int:
    with Session(engine) as session:
        return session.exec(select(func.count()).select_from(model)).one()


def _applicant(engine: Engine, applicant_id: str) -> Applicant:
    return next(a for a in applicants_for(engine, RID) if a.applicant_id == applicant_id)


def _hire(
    applicant_id: str = "A001", position_id: str | None = "P-ITAT-02", key: str | None = None
) -> HireInput:
    return HireInput(
        key=key or f"{WF}:hire:{applicant_id}",
        recruitment_id=RID,
        applicant_id=applicant_id,
        class_code="ITAT",
        department_code="IT",
        position_id=position_id,
        start_date=date(2026, 10, 5),
        pay_step=2,
        hired_at=T,
    )


# ----- resolve ----------------------------------------------------------------------------------


def test_resolve_names_the_hr_supervisor_and_every_hr_staff_member(seeded: Engine) -> None:
    result = _acts(seeded).resolve_recruitment_participants(
        ResolveRecruitmentInput(
            person_ids=["E1015", HR_SUPERVISOR_ID, "E1006"],
            department_code="IT",
            class_code="ITAT",
            position_ids=["P-ITAT-02"],
        )
    )
    assert result.hr_supervisor_id == HR_SUPERVISOR_ID
    assert result.hr_staff == sorted([HR_SUPERVISOR_ID, *HR_TECHNICIAN_IDS])


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"person_ids": ["E1015", "E9999"]}, "E9999"),
        ({"person_ids": ["E1030"]}, "E1030"),  # made inactive below
        ({"position_ids": ["P-ITAT-02", "P-NOPE"]}, "P-NOPE"),
        ({"position_ids": ["P-1821-01"]}, "P-1821-01"),  # another classification's position
        ({"department_code": "ZOO"}, "ZOO"),
        ({"class_code": "NOPE"}, "NOPE"),
    ],
)
def test_resolve_refuses_an_unknown_reference_naming_it(
    seeded: Engine, change: dict[str, object], named: str
) -> None:
    with Session(seeded) as session:
        walter = session.get(Person, "E1030")
        assert walter is not None
        walter.active = False
        session.add(walter)
        session.commit()
    values: dict[str, object] = {
        "person_ids": ["E1015"],
        "department_code": "IT",
        "class_code": "ITAT",
        "position_ids": ["P-ITAT-02"],
    }
    values.update(change)
    with pytest.raises(ApplicationError) as caught:
        _acts(seeded).resolve_recruitment_participants(ResolveRecruitmentInput.model_validate(values))
    assert caught.value.non_retryable and caught.value.type == "UnknownReference"
    assert named in str(caught.value) and "\n" not in str(caught.value)


# ----- idempotent writes ------------------------------------------------------------------------


def test_posting_twice_writes_one_row_and_the_second_changes_nothing(seeded: Engine) -> None:
    acts = _acts(seeded)
    acts.record_posting(_posting())
    acts.record_posting(_posting(requested_by="E1010", posted_at=datetime(2026, 8, 2, tzinfo=timezone.utc)))

    assert _count(seeded, Recruitment) == 1
    row = recruitment_row(seeded, RID)
    assert row is not None
    assert (row.status, row.requested_by, row.workflow_id, row.vacancies) == ("posted", "E1015", WF, 1)
    assert (row.class_code, row.department_code, row.finished_at) == ("ITAT", "IT", None)
    assert Announcement.model_validate(row.announcement) == _posting().announcement
    assert SelectionPlan.model_validate(row.plan).pass_point == 70.0
    assert recruitment_row(seeded, "NO-SUCH") is None


def test_a_recruitment_id_posted_by_one_run_is_refused_to_another(seeded: Engine) -> None:
    acts = _acts(seeded)
    acts.record_posting(_posting(run_id="run-1"))
    acts.record_posting(_posting(run_id="run-1"))  # the same run's retry: nothing changes
    with pytest.raises(ApplicationError) as caught:
        acts.record_posting(_posting(run_id="run-2"))
    assert caught.value.non_retryable and caught.value.type == "RecruitmentIdTaken"
    assert "new recruitment id" in str(caught.value)
    row = recruitment_row(seeded, RID)
    assert row is not None and row.run_id == "run-1"


def test_applications_are_recorded_once_with_the_personal_data_in_the_store(seeded: Engine) -> None:
    acts = _acts(seeded)
    acts.record_posting(_posting())
    assert _apply(acts, ("A002", BO), ("A001", ANA)) == 2
    assert _apply(acts, ("A002", BO), ("A001", ANA)) == 0  # the retry
    assert _apply(acts, ("A001", ANA), ("A003", BO)) == 1

    rows = applicants_for(seeded, RID)
    assert [a.applicant_id for a in rows] == ["A001", "A002", "A003"]
    ana = rows[0]
    assert (ana.key, ana.name, ana.email, ana.education) == (
        f"{RID}:A001",
        "Ana Lindgren",
        "ana.lindgren@mail.example",
        "associate",
    )
    assert ana.experience == {"accounting": 3.0}
    assert ana.supplemental_answers == ["I reconciled vendor accounts."]
    assert (ana.qualified, ana.screen_reasons, ana.final, ana.employee_id) == (None, [], None, None)


def test_scores_certifications_and_checks_are_written_once(
    posted: RecruitmentActivities, seeded: Engine
) -> None:
    scores = RecordScoresInput(
        scores=[
            ScoreRecord(
                key=f"{WF}:oral:E1015:{a}",
                recruitment_id=RID,
                step_id="oral",
                scorer_id="E1015",
                applicant_id=a,
                score=s,
                at=T,
            )
            for a, s in (("A001", 82.5), ("A002", 64.0))
        ]
    )
    assert posted.record_scores(scores) == 2
    assert posted.record_scores(scores) == 0
    assert [(s.applicant_id, s.score) for s in scores_for(seeded, RID)] == [("A001", 82.5), ("A002", 64.0)]

    cert = CertificationRecord(
        key=f"register-{RID}:cert:REQ-1",
        recruitment_id=RID,
        request_id="REQ-1",
        applicant_ids=["A001", "A002"],
        vacancies=1,
        rule="top_per_vacancy",
        certified_by="E1006",
        at=T,
    )
    first = posted.record_certification(cert)
    assert posted.record_certification(cert) == first
    check = CheckRecord(
        key=f"{WF}:check:A001:criminal",
        recruitment_id=RID,
        applicant_id="A001",
        check="criminal",
        result="clear",
        recorded_by="E1006",
        at=T,
    )
    first_check = posted.record_check(check)
    assert posted.record_check(check) == first_check

    assert (
        _count(seeded, Score),
        _count(seeded, RegisterCertification),
        _count(seeded, BackgroundCheck),
    ) == (
        2,
        1,
        1,
    )
    with Session(seeded) as session:
        stored = session.exec(select(RegisterCertification)).one()
        assert stored.applicant_ids == ["A001", "A002"] and stored.rule == "top_per_vacancy"
        assert session.exec(select(BackgroundCheck)).one().check == "criminal"


def test_record_candidates_sets_only_the_fields_given(posted: RecruitmentActivities, seeded: Engine) -> None:
    screened = RecordCandidatesInput(
        recruitment_id=RID,
        candidates=[
            CandidateRecord(applicant_id="A001", qualified=True, supplemental=31.0),
            CandidateRecord(
                applicant_id="A002", qualified=False, screen_reasons=["education below vocational"]
            ),
        ],
    )
    assert posted.record_candidates(screened) == 2
    assert posted.record_candidates(screened) == 0  # a repeat changes nothing

    scored = RecordCandidatesInput(
        recruitment_id=RID,
        candidates=[
            CandidateRecord(applicant_id="A001", oral=52.0, final=83.0, rank=1, disposition="on_register"),
            CandidateRecord(applicant_id="A002", disposition="not_qualified"),
        ],
    )
    assert posted.record_candidates(scored) == 2
    ana, bo = _applicant(seeded, "A001"), _applicant(seeded, "A002")
    assert (ana.qualified, ana.supplemental, ana.oral, ana.final, ana.rank, ana.disposition) == (
        True,
        31.0,
        52.0,
        83.0,
        1,
        "on_register",
    )
    assert (bo.qualified, bo.screen_reasons, bo.disposition, bo.final) == (
        False,
        ["education below vocational"],
        "not_qualified",
        None,
    )

    # An override: qualified with a reason, and the earlier screening reasons cleared.
    posted.record_candidates(
        RecordCandidatesInput(
            recruitment_id=RID,
            candidates=[
                CandidateRecord(applicant_id="A002", qualified=True, override_reason="degree abroad")
            ],
        )
    )
    bo = _applicant(seeded, "A002")
    assert (bo.qualified, bo.screen_reasons, bo.override_reason, bo.disposition) == (
        True,
        [],
        "degree abroad",
        "not_qualified",
    )


def test_record_candidates_refuses_an_unknown_applicant_and_writes_nothing(
    posted: RecruitmentActivities, seeded: Engine
) -> None:
    with pytest.raises(ApplicationError) as caught:
        posted.record_candidates(
            RecordCandidatesInput(
                recruitment_id=RID,
                candidates=[
                    CandidateRecord(applicant_id="A001", final=90.0),
                    CandidateRecord(applicant_id="A999", final=50.0),
                ],
            )
        )
    assert caught.value.non_retryable and "A999" in str(caught.value)
    assert _applicant(seeded, "A001").final is None


def test_record_outcome_closes_the_recruitment(posted: RecruitmentActivities, seeded: Engine) -> None:
    done = datetime(2026, 10, 1, tzinfo=timezone.utc)
    posted.record_outcome(RecruitmentOutcomeInput(recruitment_id=RID, status="hired", finished_at=done))
    posted.record_outcome(RecruitmentOutcomeInput(recruitment_id=RID, status="hired", finished_at=done))
    row = recruitment_row(seeded, RID)
    assert row is not None and row.status == "hired"
    assert row.finished_at is not None and row.finished_at.replace(tzinfo=timezone.utc) == done
    with pytest.raises(ApplicationError) as caught:
        posted.record_outcome(
            RecruitmentOutcomeInput(recruitment_id="NOPE", status="hired", finished_at=done)
        )
    assert caught.value.non_retryable


# ----- the hire ---------------------------------------------------------------------------------


def test_record_hire_makes_the_applicant_employee_e1031_in_the_vacant_position(
    posted: RecruitmentActivities, seeded: Engine
) -> None:
    people_before = _count(seeded, Person)
    result = posted.record_hire(_hire())
    assert (result.employee_id, result.position_id) == ("E1031", "P-ITAT-02")

    with Session(seeded) as session:
        person = session.get(Person, "E1031")
        assert person is not None
        assert (person.name, person.email) == ("Ana Lindgren", "ana.lindgren@mail.example")
        assert (person.title, person.department_code, person.supervisor_id, person.roles, person.active) == (
            "Information Technology Accounting Technician",
            "IT",
            "E1015",
            ["employee"],
            True,
        )
        position = session.get(Position, "P-ITAT-02")
        assert position is not None and position.incumbent_id == "E1031"
        hire = session.exec(select(Hire)).one()
        assert (hire.key, hire.employee_id, hire.start_date, hire.pay_step) == (
            _hire().key,
            "E1031",
            date(2026, 10, 5),
            2,
        )
    ana = _applicant(seeded, "A001")
    assert (ana.employee_id, ana.disposition) == ("E1031", "hired")

    assert _numbers(seeded) == {_hire().key: "E1031"}

    again = posted.record_hire(_hire())  # the retry
    assert (again.employee_id, again.position_id) == ("E1031", "P-ITAT-02")
    assert _count(seeded, Person) == people_before + 1
    assert _count(seeded, Hire) == 1
    assert _numbers(seeded) == {_hire().key: "E1031"}

    # The next hire (no position) takes the next number.
    assert posted.record_hire(_hire("A002", position_id=None)).employee_id == "E1032"
    with Session(seeded) as session:
        bo = session.get(Person, "E1032")
        assert bo is not None and bo.name == "Bo Achebe" and bo.supervisor_id is None


def _numbers(engine: Engine) -> dict[str, str]:
    """The employee numbers handed out to hires, by hire key (without the migration's floor row)."""
    with Session(engine) as session:
        rows = session.exec(select(EmployeeNumber).where(EmployeeNumber.key != "floor")).all()
        return {row.key: f"E{row.id:04d}" for row in rows}


def test_the_employee_id_comes_from_the_database_counter_not_the_highest_e_number(
    posted: RecruitmentActivities, seeded: Engine
) -> None:
    with Session(seeded) as session:
        for pid in ("E1040", "EXT-7", "C9999"):  # a gap, and ids that are not E numbers
            session.add(
                Person(id=pid, name="Temp", email="temp@city.example", title="Temp", department_code="IT")
            )
        session.commit()
    assert posted.record_hire(_hire(position_id=None)).employee_id == "E1031"  # not E1041
    assert _numbers(seeded) == {_hire().key: "E1031"}


def test_a_hire_whose_person_insert_fails_raises_once_and_keeps_nothing(
    posted: RecruitmentActivities, seeded: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    with Session(seeded) as session:  # E1031 is taken by a directory entry the counter is behind
        session.add(
            Person(id="E1031", name="Temp", email="temp@city.example", title="Temp", department_code="IT")
        )
        session.commit()
    people_before = _count(seeded, Person)
    real = recruitment_module.get_by_key
    hire_lookups: list[str] = []

    def counting(session, model, key):
        if model is Hire:
            hire_lookups.append(key)
        return real(session, model, key)

    monkeypatch.setattr(recruitment_module, "get_by_key", counting)
    with pytest.raises(IntegrityError):
        posted.record_hire(_hire())
    assert hire_lookups == [_hire().key]  # one attempt: Temporal retries the activity, not a loop
    assert (_count(seeded, Hire), _count(seeded, Person)) == (0, people_before)
    assert _numbers(seeded) == {}  # the number went with the failed transaction
    assert _applicant(seeded, "A001").employee_id is None
    with Session(seeded) as session:
        position = session.get(Position, "P-ITAT-02")
        assert position is not None and position.incumbent_id is None


def test_concurrent_hires_get_distinct_ids_without_an_error(
    posted: RecruitmentActivities, seeded: Engine
) -> None:
    more = [(f"A{n:03d}", BO if n % 2 else ANA) for n in range(3, 13)]
    _apply(posted, *more)
    applicants = ["A001", "A002", *(a for a, _ in more)]
    people_before = _count(seeded, Person)

    def hire(applicant_id: str) -> tuple[str, str]:
        return applicant_id, posted.record_hire(_hire(applicant_id, position_id=None)).employee_id

    with ThreadPoolExecutor(8) as pool:  # no retries: every hire succeeds at its first attempt
        results = dict(pool.map(hire, applicants))
    ids = list(results.values())
    assert len(set(ids)) == len(applicants), results
    # Gap-tolerant: numbers from the counter, all past the seeded directory, none reused.
    assert all(i.startswith("E") and int(i[1:]) >= 1031 for i in ids), ids
    assert _numbers(seeded) == {_hire(a).key: i for a, i in results.items()}
    hired = len(applicants)
    assert (_count(seeded, Hire), _count(seeded, Person)) == (hired, people_before + hired)
    for applicant_id, employee_id in results.items():
        assert _applicant(seeded, applicant_id).employee_id == employee_id


def test_concurrent_attempts_of_one_hire_record_it_once(
    posted: RecruitmentActivities, seeded: Engine
) -> None:
    def attempt(_: int) -> str:
        while True:  # what Temporal does: an attempt that failed is tried again
            try:
                return posted.record_hire(_hire(position_id=None)).employee_id
            except DBAPIError:  # the other attempt committed first (IntegrityError), or busy
                continue

    with ThreadPoolExecutor(4) as pool:
        ids = set(pool.map(attempt, range(4)))
    assert len(ids) == 1, ids
    assert (_count(seeded, Hire), _count(seeded, Person)) == (1, 31)
    assert _numbers(seeded) == {_hire().key: ids.pop()}


def test_two_hires_into_one_position_at_once_fill_it_once_and_refuse_the_other(
    posted: RecruitmentActivities, seeded: Engine
) -> None:
    together = threading.Barrier(2)

    def attempt(applicant_id: str) -> str:
        together.wait()
        while True:  # what Temporal does with a retryable failure
            try:
                return posted.record_hire(_hire(applicant_id)).employee_id
            except ApplicationError as err:
                assert err.non_retryable and err.type == "PositionFilled"
                return "refused"
            except DBAPIError:
                continue

    with ThreadPoolExecutor(2) as pool:
        outcomes = list(pool.map(attempt, ["A001", "A002"]))
    assert outcomes.count("refused") == 1, outcomes
    (hired,) = [o for o in outcomes if o != "refused"]
    with Session(seeded) as s:
        position = s.get(Position, "P-ITAT-02")
        assert position is not None and position.incumbent_id == hired
    assert _count(seeded, Hire) == 1


def test_a_hire_into_a_filled_position_is_refused_and_writes_nothing(
    posted: RecruitmentActivities, seeded: Engine
) -> None:
    people_before = _count(seeded, Person)
    with pytest.raises(ApplicationError) as caught:
        posted.record_hire(_hire(position_id="P-ITAT-01"))  # E1016 holds it
    assert caught.value.non_retryable and "P-ITAT-01" in str(caught.value)

    posted.record_hire(_hire("A001"))
    with pytest.raises(ApplicationError) as caught:
        posted.record_hire(_hire("A002"))  # P-ITAT-02 is E1031's now
    assert caught.value.non_retryable and "E1031" in str(caught.value)

    assert _count(seeded, Person) == people_before + 1
    assert _count(seeded, Hire) == 1
    assert _applicant(seeded, "A002").employee_id is None


def test_a_hire_written_concurrently_by_another_attempt_fails_and_its_retry_reads_it(
    posted: RecruitmentActivities, seeded: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    posted.record_hire(_hire())
    real = recruitment_module.get_by_key
    hire_lookups: list[str] = []

    def misses_the_hire_once(session, model, key):  # the other attempt commits after our look-up
        if model is Hire:
            hire_lookups.append(key)
            if len(hire_lookups) == 1:
                return None
        return real(session, model, key)

    monkeypatch.setattr(recruitment_module, "get_by_key", misses_the_hire_once)
    with pytest.raises(IntegrityError):  # the unique key refuses a second hire row
        posted.record_hire(_hire())
    assert len(hire_lookups) == 1  # no loop inside the activity
    result = posted.record_hire(_hire())  # Temporal's retry
    assert len(hire_lookups) == 2 and result.employee_id == "E1031"
    assert (_count(seeded, Hire), _count(seeded, Person)) == (1, 31)
    assert _numbers(seeded) == {_hire().key: "E1031"}


# ----- notices to applicants --------------------------------------------------------------------


def _notice(key: str = f"{WF}:final", **kw: object) -> ApplicantNoticeInput:
    values: dict[str, object] = {
        "key": key,
        "workflow_id": WF,
        "recruitment_id": RID,
        "applicant_ids": ["A001", "A002"],
        "template": "final_passed",
        "params": {"title": "Information Technology Accounting Technician", "register_size": "2"},
        "per_applicant": {"A001": {"final": "83.0", "rank": "1"}, "A002": {"final": "71.5", "rank": "2"}},
    }
    values.update(kw)
    return ApplicantNoticeInput.model_validate(values)


def _body(msg: Message) -> str:
    payload = msg.get_payload(decode=True)
    assert isinstance(payload, bytes)
    return payload.decode().replace("\r\n", "\n")


def test_notify_applicants_queues_and_the_mailer_delivers_and_marks_the_rows_sent(
    seeded: Engine, smtp: SmtpSink
) -> None:
    acts = _acts(seeded)
    acts.record_posting(_posting())
    _apply(acts, ("A001", ANA), ("A002", BO))

    result = acts.notify_applicants(_notice())
    assert (result.queued, result.sent) == (2, 0)  # queued only: no mail server in the activity
    assert smtp.messages == []
    assert {r.status for r in outbox_for(seeded, WF)} == {"pending"}
    mailer = _mailer(seeded, smtp)
    assert len(mailer.deliver_due().sent) == 2
    assert len(smtp.messages) == 2
    to_ana = next(m for m in smtp.messages if str(m["To"]) == ANA.email)
    subject = " ".join(str(to_ana["Subject"]).split())  # a long header arrives folded
    assert subject == (
        "Your application for Information Technology Accounting Technician: "
        "placed on the eligibility register"
    )
    assert str(to_ana["Message-ID"]) == message_id(f"{WF}:final:A001")
    assert ANA.email in str(to_ana["X-Envelope-To"])
    body = _body(to_ana)
    assert body.startswith("Dear Ana Lindgren,")
    assert "is 83.0" in body and "ranked 1 of 2" in body and "(not stated)" not in body
    assert body.rstrip().endswith(SIGNATURE)
    to_bo = _body(next(m for m in smtp.messages if str(m["To"]) == BO.email))
    assert "is 71.5" in to_bo and "ranked 2 of 2" in to_bo

    rows = outbox_for(seeded, WF)
    assert sorted((r.key, r.recipient_id, r.to_address, r.status, r.attempts) for r in rows) == [
        (f"{WF}:final:A001", f"{RID}:A001", ANA.email, "sent", 1),
        (f"{WF}:final:A002", f"{RID}:A002", BO.email, "sent", 1),
    ]
    assert all(r.sent_at is not None for r in rows)

    again = acts.notify_applicants(_notice())  # the retry
    assert (again.queued, again.sent) == (0, 0)
    assert mailer.deliver_due().sent == []
    assert len(smtp.messages) == 2 and len(outbox_for(seeded)) == 2

    # What the stored recruitment knows need not be passed: title, class and department.
    acts.notify_applicants(_notice(key=f"{WF}:cert", template="certified", params={}, per_applicant={}))
    mailer.deliver_due()
    certified = _body(smtp.messages[-1])
    assert "Information Technology Accounting Technician to the Information Technology department" in (
        " ".join(certified.split())
    )


def test_notify_applicants_refuses_an_unknown_applicant_and_writes_nothing(
    posted: RecruitmentActivities, seeded: Engine, smtp: SmtpSink
) -> None:
    acts = _acts(seeded)
    with pytest.raises(ApplicationError) as caught:
        acts.notify_applicants(_notice(applicant_ids=["A001", "A404"]))
    assert caught.value.non_retryable and "A404" in str(caught.value)
    with pytest.raises(ApplicationError) as caught:
        acts.notify_applicants(_notice(template="no_such_notice"))
    assert caught.value.non_retryable
    assert outbox_for(seeded) == []
    assert smtp.messages == []


def test_a_notice_missing_a_field_fails_retryably_and_writes_nothing(
    posted: RecruitmentActivities, seeded: Engine, smtp: SmtpSink
) -> None:
    env = ActivityEnvironment()
    env.info = dataclasses.replace(env.info, workflow_id=WF, workflow_run_id="run-1")
    acts = _acts(seeded)
    notice = _notice(per_applicant={"A001": {"final": "83.0", "rank": "1"}, "A002": {"final": "71.5"}})
    with capture_logs() as logs, pytest.raises(ApplicationError) as caught:
        env.run(acts.notify_applicants, notice)  # A002's notice has no rank
    assert caught.value.type == "TemplateError" and not caught.value.non_retryable
    assert "applicant/final_passed.txt" in caught.value.message and "'rank'" in caught.value.message
    assert outbox_for(seeded) == [] and smtp.messages == []  # not even A001's notice
    assert [e["event"] for e in logs if e["log_level"] == "error"] == ["template.missing_field"]
    flat = repr(logs) + str(caught.value)
    for secret in (ANA.name, ANA.email, BO.name, BO.email, "71.5"):
        assert secret not in flat


def test_a_refused_applicant_address_is_failed_and_the_others_still_go(
    posted: RecruitmentActivities, seeded: Engine, smtp: SmtpSink
) -> None:
    smtp.handler.refuse.add(BO.email)
    acts = _acts(seeded)
    acts.notify_applicants(_notice())
    mailer = _mailer(seeded, smtp)
    assert len(mailer.deliver_due().sent) == 1
    rows = outbox_for(seeded, WF)
    status = {r.recipient_id: (r.status, r.attempts, r.last_error) for r in rows}
    assert status == {
        f"{RID}:A001": ("sent", 1, None),
        f"{RID}:A002": ("failed", 1, "SMTPRecipientsRefused 550"),
    }
    acts.notify_applicants(_notice())
    assert mailer.deliver_due().due == 0  # not tried again
    assert {r.recipient_id: r.attempts for r in outbox_for(seeded, WF)}[f"{RID}:A002"] == 1


def test_applicant_notices_log_ids_only(
    posted: RecruitmentActivities, seeded: Engine, smtp: SmtpSink
) -> None:
    env = ActivityEnvironment()
    env.info = dataclasses.replace(env.info, workflow_id=WF, workflow_run_id="run-1")
    acts = _acts(seeded)
    with capture_logs() as logs:
        env.run(acts.notify_applicants, _notice())
        env.run(acts.record_hire, _hire())
    assert logs and all(e.get("workflow_id") == WF and e.get("run_id") == "run-1" for e in logs)
    assert any(e["event"] == "notify.queued" for e in logs)
    smtp.handler.refuse.add(BO.email)
    with capture_logs() as mailer_logs:
        _mailer(seeded, smtp).deliver_due()
    assert {e["event"] for e in mailer_logs} == {"mail.sent", "mail.failed"}
    flat = repr(logs) + repr(mailer_logs) + repr([r.last_error for r in outbox_for(seeded)])
    for secret in (ANA.name, ANA.email, BO.name, BO.email, "Lindgren", "Achebe"):
        assert secret not in flat


ALL_PARAMS = {
    "title": "Information Technology Accounting Technician",
    "class_code": "ITAT",
    "closes_at": "2026-08-19",
    "reasons": "education below vocational",
    "oral_board_by": "2026-09-09",
    "supplemental": "28.0",
    "final": "83.0",
    "rank": "1",
    "register_size": "4",
    "pass_point": "70.0",
    "department": "Information Technology",
    "start_date": "2026-10-05",
    "pay_step": "2",
    "checks": "criminal, education",
    "answer_by": "2026-09-30",
    "employee_id": "E1031",
    "disposition": "not_qualified",
}


@pytest.mark.parametrize("template", sorted(APPLICANT_TEMPLATES))
def test_every_applicant_template_renders_its_params_and_is_signed(template: str) -> None:
    subject, body = render_applicant_notice(template, ALL_PARAMS, "Ana Lindgren", "A001", RID)
    assert "(not stated)" not in subject + body
    assert "{" not in subject + body and "\n" not in subject
    assert body.startswith("Dear Ana Lindgren,") and body.rstrip().endswith(SIGNATURE)


def test_the_fair_hiring_wording_of_the_offer_and_the_pre_adverse_notice() -> None:
    _, offer = render_applicant_notice("conditional_offer", ALL_PARAMS, "Ana Lindgren", "A001", RID)
    assert "criminal, education" in offer and "after this conditional offer" in offer
    assert "2026-10-05" in offer and "pay step 2" in offer
    _, notice = render_applicant_notice("background_pre_adverse", ALL_PARAMS, "Ana Lindgren", "A001", RID)
    assert "accuracy" in notice and "mitigation or rehabilitation" in notice and "2026-09-30" in notice
    with pytest.raises(jinja2.UndefinedError):  # a missing field fails; it is never filled in
        render_applicant_notice("background_pre_adverse", {}, "Ana Lindgren", "A001", RID)
