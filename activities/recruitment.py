"""The system of record of civil-service recruitment (DESIGN section 5, seeds 001, 000, 004).

The recruitment workflow owns the process; these activities write what it decided: the posting,
the applications (the only place applicants' names and e-mail addresses are kept), screening
results and scores, certifications from the register, background checks, the hire, and the
notices to applicants (queued in the outbox; the mailer sends them). Every write is keyed,
so a retried activity changes nothing twice.

Logs carry ids only: never an applicant's name or e-mail address.
"""

from __future__ import annotations

import structlog
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities import rendering
from activities.db import utcnow
from activities.directory import _one_with_role, hr_staff, is_hr_staff
from activities.notifications import QUEUE_CHUNK, NotificationActivities, Recipient, checkpoint
from activities.store import get_by_key, insert_once, lock_row
from schemas.human_step import NotifyResult
from schemas.recruitment import (
    ApplicantNoticeInput,
    CertificationRecord,
    CheckRecord,
    HireInput,
    HireResult,
    PositionCheckInput,
    PostingInput,
    RecordApplicationsInput,
    RecordCandidatesInput,
    RecordScoresInput,
    RecruitmentOutcomeInput,
    RecruitmentParticipants,
    ResolveRecruitmentInput,
)
from schemas.tables import (
    Applicant,
    BackgroundCheck,
    Classification,
    Department,
    EmployeeNumber,
    Hire,
    Person,
    Position,
    Recruitment,
    RegisterCertification,
    Score,
)

POSTED = "posted"

# ----- notices to applicants ------------------------------------------------------------------

APPLICANT_TEMPLATES: frozenset[str] = rendering.APPLICANT_NOTICES
"""The applicant notices, one template each in ``activities/templates/applicant/``. Fields:
``name``, ``applicant_id`` and ``recruitment_id`` (filled in by ``notify_applicants``, which also
defaults ``title``, ``class_code``, ``department`` (its name) and ``department_code`` from the
stored recruitment) plus the notice's ``params`` merged with its ``per_applicant`` entry:
``title``, ``class_code``, ``closes_at``, ``reasons``, ``oral_board_by``, ``supplemental``,
``final``, ``rank``, ``register_size``, ``pass_point``, ``department``, ``start_date``,
``pay_step``, ``checks``, ``answer_by``, ``employee_id``, ``disposition``. A field a template
needs and the notice lacks raises (``activities.rendering.MissingField``)."""

render_applicant_notice = rendering.render_applicant_notice
"""``render_applicant_notice(template, params, name, applicant_id, recruitment_id) -> (subject, body)``."""


# ----- helpers ----------------------------------------------------------------------------------


def _log() -> structlog.stdlib.BoundLogger:
    log = structlog.get_logger("hr.recruitment")
    if activity.in_activity():
        info = activity.info()
        log = log.bind(workflow_id=info.workflow_id, run_id=info.workflow_run_id, activity=info.activity_type)
    return log


def _same_run(posted: Recruitment, run_id: str | None) -> None:
    """Refuses a posting by another run of a recruitment id already on record."""
    if posted.run_id is not None and run_id is not None and posted.run_id != run_id:
        raise ApplicationError(
            f"recruitment {posted.id} is on record from another run ({posted.workflow_id}); "
            "open the new one under a new recruitment id",
            type="RecruitmentIdTaken",
            non_retryable=True,
        )


def _unknown(message: str) -> ApplicationError:
    return ApplicationError(message, type="UnknownReference", non_retryable=True)


def applicant_key(recruitment_id: str, applicant_id: str) -> str:
    return f"{recruitment_id}:{applicant_id}"


def _applicant(session: Session, recruitment_id: str, applicant_id: str) -> Applicant:
    row = get_by_key(session, Applicant, applicant_key(recruitment_id, applicant_id))
    if row is None:
        raise ApplicationError(
            f"unknown applicant {applicant_id!r} in recruitment {recruitment_id}",
            type="UnknownApplicant",
            non_retryable=True,
        )
    return row


def _employee_number(session: Session, hire_key: str) -> str:
    """The new employee's id: ``E`` plus the id the database gives the hire's ``EmployeeNumber`` row.

    The database's own counter (a sequence on PostgreSQL, AUTOINCREMENT on SQLite; migration 0004
    starts it past the directory, so the seeded city's first is E1031) hands out the number, so two
    hires at once never get the same one. The row is keyed by the hire: an attempt that finds it
    gets the number it holds. It is written in the caller's transaction, so a hire that fails leaves
    no row and its retry draws again; numbers may have gaps (PostgreSQL does not reuse them).
    """
    row = get_by_key(session, EmployeeNumber, hire_key)
    if row is None:
        row = EmployeeNumber(key=hire_key, created_at=utcnow())
        session.add(row)
        session.flush()  # the database assigns the id
    if row.id is None:
        raise RuntimeError(f"no employee number was assigned for hire {hire_key}")
    return f"E{row.id:04d}"


def _recruitment_params(session: Session, recruitment_id: str) -> dict[str, str]:
    """Notice parameters known from the stored recruitment (none before it is posted)."""
    row = session.get(Recruitment, recruitment_id)
    if row is None:
        return {}
    department = session.get(Department, row.department_code)
    params = {"class_code": row.class_code, "department_code": row.department_code}
    if department is not None:
        params["department"] = department.name
    title = row.announcement.get("title")
    if isinstance(title, str):
        params["title"] = title
    return params


# ----- activities -------------------------------------------------------------------------------


class RecruitmentActivities:
    """Recruitment's reads of the directory and writes to the record, and notices to applicants.

    Synchronous: register with a worker that has an ``activity_executor``.

    Args:
        engine: The system-of-record database.
        notifications: Queues the applicant notices in the outbox (the mailer delivers them).
    """

    def __init__(self, engine: Engine, notifications: NotificationActivities) -> None:
        self.engine = engine
        self.notifications = notifications

    @activity.defn(name="resolve_recruitment_participants")
    def resolve_recruitment_participants(self, inp: ResolveRecruitmentInput) -> RecruitmentParticipants:
        """Checks every reference of a recruitment and names the HR supervisor and HR staff.

        Raises:
            ApplicationError: ``UnknownReference`` (non-retryable) for a person who is not an
                active person, an unknown department or classification, or a position that is
                unknown or not of the classification; ``DirectoryError`` when there is not
                exactly one active HR supervisor.
        """
        with Session(self.engine) as session:
            for person_id in dict.fromkeys(inp.person_ids):
                person = session.get(Person, person_id)
                if person is None or not person.active:
                    raise _unknown(f"{person_id!r} is not an active person in the directory")
            if session.get(Department, inp.department_code) is None:
                raise _unknown(f"unknown department {inp.department_code!r}")
            if session.get(Classification, inp.class_code) is None:
                raise _unknown(f"unknown classification {inp.class_code!r}")
            for position_id in inp.position_ids:
                position = session.get(Position, position_id)
                if position is None:
                    raise _unknown(f"unknown position {position_id!r}")
                if position.class_code != inp.class_code:
                    raise _unknown(
                        f"position {position_id!r} is of classification {position.class_code}, "
                        f"not {inp.class_code}"
                    )
            for person_id in inp.hr_person_ids:
                person = session.get(Person, person_id)
                if person is None or not is_hr_staff(person):
                    raise _unknown(f"{person_id} has no HR role and may not act for HR in a recruitment")
            supervisor_id = _one_with_role(session, "hr_supervisor")
            staff = hr_staff(session)
        return RecruitmentParticipants(hr_supervisor_id=supervisor_id, hr_staff=staff)

    @activity.defn(name="position_problem")
    def position_problem(self, inp: PositionCheckInput) -> str | None:
        """Why a hire cannot go into this position (unknown, another class, filled), or None."""
        with Session(self.engine) as session:
            position = session.get(Position, inp.position_id)
            if position is None:
                return f"unknown position {inp.position_id}"
            if position.class_code != inp.class_code:
                other = position.class_code
                return f"position {inp.position_id} is of classification {other}, not {inp.class_code}"
            if position.incumbent_id is not None:
                return f"position {inp.position_id} is filled (incumbent {position.incumbent_id})"
        return None

    @activity.defn(name="record_posting")
    def record_posting(self, inp: PostingInput) -> None:
        """Creates the recruitment's row, status ``posted``; a second call changes nothing.

        Raises:
            ApplicationError: ``RecruitmentIdTaken`` (non-retryable) when another run posted a
                recruitment under this id: its applicants and scores are keyed by the id, so
                an id is used by one run only.
        """
        ann = inp.announcement
        with Session(self.engine) as session:
            if (posted := session.get(Recruitment, inp.recruitment_id)) is not None:
                _same_run(posted, inp.run_id)
                return
            if session.get(Classification, ann.class_code) is None:
                raise _unknown(f"unknown classification {ann.class_code!r}")
            if session.get(Department, ann.department_code) is None:
                raise _unknown(f"unknown department {ann.department_code!r}")
            session.add(
                Recruitment(
                    id=inp.recruitment_id,
                    workflow_id=inp.workflow_id,
                    run_id=inp.run_id,
                    class_code=ann.class_code,
                    department_code=ann.department_code,
                    status=POSTED,
                    requested_by=inp.requested_by,
                    approved_by=inp.approved_by,
                    vacancies=ann.vacancies,
                    announcement=ann.model_dump(mode="json"),
                    plan=inp.plan.model_dump(mode="json"),
                    posted_at=inp.posted_at,
                    closes_at=ann.closes_at,
                )
            )
            try:
                session.commit()
            except IntegrityError:  # a concurrent attempt posted it first
                session.rollback()
                if (posted := session.get(Recruitment, inp.recruitment_id)) is None:
                    raise
                _same_run(posted, inp.run_id)
                return
        _log().info("recruitment posted", recruitment_id=inp.recruitment_id, class_code=ann.class_code)

    @activity.defn(name="record_applications")
    def record_applications(self, inp: RecordApplicationsInput) -> int:
        """One ``Applicant`` row per new applicant; returns how many were created.

        An import may hold thousands: the activity heartbeats every ``QUEUE_CHUNK`` rows (give
        it a ``heartbeat_timeout``), and a retry skips the rows already written.
        """
        created = 0
        for i, new in enumerate(inp.applicants):
            if i % QUEUE_CHUNK == 0:
                checkpoint(i)
            app = new.application
            _, is_new = insert_once(
                self.engine,
                Applicant(
                    key=applicant_key(inp.recruitment_id, new.applicant_id),
                    recruitment_id=inp.recruitment_id,
                    applicant_id=new.applicant_id,
                    name=app.name,
                    email=app.email,
                    education=app.education,
                    experience=dict(app.experience),
                    supplemental_answers=list(app.supplemental_answers),
                    applied_at=new.applied_at,
                ),
            )
            created += is_new
        _log().info(
            "applications recorded",
            recruitment_id=inp.recruitment_id,
            applicant_ids=[a.applicant_id for a in inp.applicants],
            created=created,
        )
        return created

    @activity.defn(name="record_candidates")
    def record_candidates(self, inp: RecordCandidatesInput) -> int:
        """Sets the candidate fields each record gives; returns how many rows changed.

        A field left ``None`` is not touched. ``screen_reasons`` goes with a screening result:
        it is written whenever ``qualified`` is given (an empty list clears earlier reasons, as
        after an override), and otherwise only when it is not empty.

        Every applicant of a screen may be in one call: the activity heartbeats every
        ``QUEUE_CHUNK`` look-ups and changes; the changes are one transaction.

        Raises:
            ApplicationError: An applicant is not in this recruitment (non-retryable); nothing is
                written then.
        """
        with Session(self.engine) as session:
            rows: dict[str, Applicant] = {}
            for i, c in enumerate(inp.candidates):
                if i % QUEUE_CHUNK == 0:
                    checkpoint(i)
                rows[c.applicant_id] = _applicant(session, inp.recruitment_id, c.applicant_id)
            changed: set[str] = set()
            for i, cand in enumerate(inp.candidates):
                if i and i % QUEUE_CHUNK == 0:
                    session.flush()  # in chunks, so the commit at the end is short
                    checkpoint(i)
                row = rows[cand.applicant_id]
                updates: dict[str, object] = {}
                if cand.qualified is not None:
                    updates["qualified"] = cand.qualified
                    updates["screen_reasons"] = list(cand.screen_reasons)
                elif cand.screen_reasons:
                    updates["screen_reasons"] = list(cand.screen_reasons)
                for name in ("override_reason", "supplemental", "oral", "final", "rank", "disposition"):
                    value = getattr(cand, name)
                    if value is not None:
                        updates[name] = value
                for name, value in updates.items():
                    if getattr(row, name) != value:
                        setattr(row, name, value)
                        changed.add(cand.applicant_id)
                session.add(row)
            session.commit()
        _log().info("candidates recorded", recruitment_id=inp.recruitment_id, changed=sorted(changed))
        return len(changed)

    @activity.defn(name="record_scores")
    def record_scores(self, inp: RecordScoresInput) -> int:
        """One ``Score`` row per score; returns how many were created (a retry creates none).

        Heartbeats every ``QUEUE_CHUNK`` scores (a panel's file may score every candidate).
        """
        created = 0
        for i, s in enumerate(inp.scores):
            if i % QUEUE_CHUNK == 0:
                checkpoint(i)
            _, is_new = insert_once(
                self.engine,
                Score(**s.model_dump()),
            )
            created += is_new
        if created:
            _log().info("scores recorded", created=created, steps=sorted({s.step_id for s in inp.scores}))
        return created

    @activity.defn(name="record_certification")
    def record_certification(self, inp: CertificationRecord) -> int:
        """The names certified from the register for one request; returns the row id."""
        row, created = insert_once(
            self.engine,
            RegisterCertification(**inp.model_dump()),
        )
        if created:
            _log().info(
                "certification recorded",
                recruitment_id=inp.recruitment_id,
                request_id=inp.request_id,
                applicant_ids=inp.applicant_ids,
            )
        assert row.id is not None
        return row.id

    @activity.defn(name="record_check")
    def record_check(self, inp: CheckRecord) -> int:
        """One background check's result; returns the row id."""
        row, created = insert_once(
            self.engine,
            BackgroundCheck(**inp.model_dump()),
        )
        if created:
            _log().info("check recorded", applicant_id=inp.applicant_id, check=inp.check, result=inp.result)
        assert row.id is not None
        return row.id

    @activity.defn(name="record_hire")
    def record_hire(self, inp: HireInput) -> HireResult:
        """Makes the applicant an employee, in one transaction; idempotent on ``inp.key``.

        Creates the ``Person`` (an ``E`` number from the database's counter, see
        ``_employee_number``; name and e-mail from the application; the classification's title;
        the position's supervisor), the ``Hire`` row, fills the position and marks the applicant
        hired. An applicant who already has an employee id keeps it (no second person).

        There is no retry loop here: a failed write (a concurrent attempt of the same hire that
        committed first, an employee id a directory entry already has, a lost connection) raises,
        nothing of this attempt is kept, and Temporal retries the activity; a retry after the hire
        was recorded finds the ``Hire`` by key and returns it.

        Raises:
            ApplicationError: Non-retryable for an unknown applicant, classification, department
                or position, a position of another classification, or one already filled.
            sqlalchemy.exc.DBAPIError: The write failed (IntegrityError, a busy database); retried.
        """
        with Session(self.engine, expire_on_commit=False) as session:
            existing = get_by_key(session, Hire, inp.key)
            if existing is not None:
                return HireResult(employee_id=existing.employee_id, position_id=existing.position_id)
            applicant = _applicant(session, inp.recruitment_id, inp.applicant_id)
            cls = session.get(Classification, inp.class_code)
            if cls is None:
                raise _unknown(f"unknown classification {inp.class_code!r}")
            if session.get(Department, inp.department_code) is None:
                raise _unknown(f"unknown department {inp.department_code!r}")
            position: Position | None = None
            if inp.position_id is not None:
                # Lock the position (on either database) so two hires cannot both fill it.
                lock_row(session, Position.id, inp.position_id)
                position = session.exec(select(Position).where(Position.id == inp.position_id)).first()
                if position is None:
                    raise _unknown(f"unknown position {inp.position_id!r}")
                if position.class_code != inp.class_code:
                    raise _unknown(
                        f"position {inp.position_id!r} is of classification {position.class_code}, "
                        f"not {inp.class_code}"
                    )
                if position.incumbent_id is not None and position.incumbent_id != applicant.employee_id:
                    raise ApplicationError(
                        f"position {inp.position_id} is already filled by {position.incumbent_id}",
                        type="PositionFilled",
                        non_retryable=True,
                    )
            employee_id = applicant.employee_id
            if employee_id is None:
                employee_id = _employee_number(session, inp.key)
                session.add(
                    Person(
                        id=employee_id,
                        name=applicant.name,
                        email=applicant.email,
                        title=cls.title,
                        department_code=inp.department_code,
                        supervisor_id=position.supervisor_id if position else None,
                        roles=["employee"],
                    )
                )
                session.flush()  # the person exists before the rows that point at it
            session.add(
                Hire(
                    key=inp.key,
                    recruitment_id=inp.recruitment_id,
                    applicant_id=inp.applicant_id,
                    employee_id=employee_id,
                    position_id=inp.position_id,
                    start_date=inp.start_date,
                    pay_step=inp.pay_step,
                    hired_at=inp.hired_at,
                )
            )
            if position is not None:
                position.incumbent_id = employee_id
                session.add(position)
            applicant.employee_id = employee_id
            applicant.disposition = "hired"
            session.add(applicant)
            session.commit()
        _log().info(
            "hire recorded",
            recruitment_id=inp.recruitment_id,
            applicant_id=inp.applicant_id,
            employee_id=employee_id,
            position_id=inp.position_id,
        )
        return HireResult(employee_id=employee_id, position_id=inp.position_id)

    @activity.defn(name="record_outcome")
    def record_outcome(self, inp: RecruitmentOutcomeInput) -> None:
        """Sets the recruitment's final status and when it finished."""
        with Session(self.engine) as session:
            row = session.get(Recruitment, inp.recruitment_id)
            if row is None:
                raise _unknown(f"unknown recruitment {inp.recruitment_id!r}")
            row.status = inp.status
            row.finished_at = inp.finished_at
            session.add(row)
            session.commit()
        _log().info("recruitment outcome recorded", recruitment_id=inp.recruitment_id, status=inp.status)

    @activity.defn(name="notify_applicants")
    def notify_applicants(self, inp: ApplicantNoticeInput) -> NotifyResult:
        """One outbox message per applicant (key ``f"{inp.key}:{applicant_id}"``), queued like
        ``notify``: the mailer delivers it apart (``activities/mailer.py``), at least once.

        A notice may go to every applicant: the look-ups, the rendering and the writes heartbeat
        every ``QUEUE_CHUNK`` applicants (give the activity a ``heartbeat_timeout``).

        Raises:
            ApplicationError: Non-retryable for an unknown template or an applicant not in this
                recruitment; nothing is written then.
        """
        log = _log().bind(key=inp.key, template=inp.template)
        if inp.template not in APPLICANT_TEMPLATES:
            raise ApplicationError(
                f"unknown applicant notice template {inp.template!r}",
                type="UnknownTemplate",
                non_retryable=True,
            )
        recipients: list[Recipient] = []
        with Session(self.engine) as session:
            defaults = _recruitment_params(session, inp.recruitment_id)
            for i, applicant_id in enumerate(dict.fromkeys(inp.applicant_ids)):
                if i % QUEUE_CHUNK == 0:
                    checkpoint(i)
                try:
                    row = _applicant(session, inp.recruitment_id, applicant_id)
                except ApplicationError:
                    log.warning("notify.unknown_applicant", applicant_id=applicant_id)
                    raise
                recipients.append(
                    Recipient(
                        id=applicant_key(inp.recruitment_id, applicant_id),
                        name=row.name,
                        email=row.email,
                        key_suffix=applicant_id,
                    )
                )

        def render_for(recipient: Recipient) -> tuple[str, str]:
            applicant_id = recipient.key_id
            params = defaults | inp.params | inp.per_applicant.get(applicant_id, {})
            return rendering.render_applicant_notice(
                inp.template, params, recipient.name, applicant_id, inp.recruitment_id
            )

        return self.notifications.queue(
            inp.key, inp.workflow_id, recipients, render_for, log=log, run_id=inp.run_id
        )


# ----- reads (for the CLI) ----------------------------------------------------------------------


def applicants_for(engine: Engine, recruitment_id: str) -> list[Applicant]:
    """A recruitment's applicants, by applicant id (detached rows)."""
    with Session(engine, expire_on_commit=False) as session:
        return list(
            session.exec(
                select(Applicant)
                .where(Applicant.recruitment_id == recruitment_id)
                .order_by(col(Applicant.applicant_id))
            ).all()
        )


def recruitment_row(engine: Engine, recruitment_id: str) -> Recruitment | None:
    """The recruitment's row, if it was posted."""
    with Session(engine, expire_on_commit=False) as session:
        return session.get(Recruitment, recruitment_id)


def scores_for(engine: Engine, recruitment_id: str) -> list[Score]:
    """A recruitment's scores, in the order they were recorded."""
    with Session(engine, expire_on_commit=False) as session:
        return list(
            session.exec(
                select(Score).where(Score.recruitment_id == recruitment_id).order_by(col(Score.id))
            ).all()
        )
