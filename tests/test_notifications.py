"""The notify activity against a real database and a real SMTP server.

Delivery claims each outbox row before sending it, so two attempts running at once (an attempt
that timed out while sending and its retry) never both send one row.
"""

from __future__ import annotations

import dataclasses
import socket
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone

import jinja2
import pytest
from sqlalchemy import Engine
from sqlmodel import Session
from structlog.testing import capture_logs
from temporalio.activity import ActivityCancellationDetails
from temporalio.exceptions import ApplicationError, CancelledError
from temporalio.testing import ActivityEnvironment

from activities import notifications
from activities.notifications import NotificationActivities, message_id, outbox_for, render
from activities.seed import (
    BOARD_SECRETARY_ID,
    CITY_ADMINISTRATOR_ID,
    EMPLOYEE_SERVICES_DIRECTOR_ID,
    HR_SUPERVISOR_ID,
    seed_city,
)
from schemas.human_step import NotifyInput, NotifyResult
from schemas.tables import OutboxMessage
from tests.smtp_server import SmtpSink

MAIL_FROM = "hr-workflows@city.example"
SUPERVISOR_EMAIL = "linnea.brandt@city.example"
SECRETARY_EMAIL = "rosa.delgado@city.example"
WF = "jd-review-1821-2024"


@pytest.fixture
def seeded(engine: Engine) -> Engine:
    seed_city(engine)
    return engine


def _inp(key: str = f"{WF}:supervisor_review:step_opened:opened", **kw: object) -> NotifyInput:
    values: dict[str, object] = {
        "key": key,
        "workflow_id": WF,
        "recipient_ids": [HR_SUPERVISOR_ID, BOARD_SECRETARY_ID],
        "template": "step_opened",
        "params": {
            "step_title": "Supervisor review of 1821",
            "due_at": "2024-03-15 17:00 UTC",
            "allowed": "approve, request_changes",
            "workflow_id": WF,
        },
    }
    values.update(kw)
    return NotifyInput.model_validate(values)


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_notify_sends_one_message_per_recipient_and_marks_rows_sent(seeded: Engine, smtp: SmtpSink) -> None:
    acts = NotificationActivities(seeded, smtp.host, smtp.port, MAIL_FROM)
    inp = _inp()
    result = acts.notify(inp)

    assert (result.queued, result.sent) == (2, 2)
    assert len(smtp.messages) == 2
    assert smtp.subjects_to(SUPERVISOR_EMAIL) == [
        "Action needed: Supervisor review of 1821 (due 2024-03-15 17:00 UTC)"
    ]
    assert len(smtp.subjects_to(SECRETARY_EMAIL)) == 1
    to_supervisor = next(m for m in smtp.messages if str(m["To"]) == SUPERVISOR_EMAIL)
    assert str(to_supervisor["From"]) == MAIL_FROM
    assert str(to_supervisor["Message-ID"]) == message_id(f"{inp.key}:{HR_SUPERVISOR_ID}")
    assert SUPERVISOR_EMAIL in str(to_supervisor["X-Envelope-To"])
    body = to_supervisor.get_payload(decode=True).decode()
    assert "Dear Linnea Brandt" in body and WF in body and "2024-03-15 17:00 UTC" in body

    rows = outbox_for(seeded, WF)
    assert sorted((r.recipient_id, r.key, r.status, r.attempts) for r in rows) == sorted(
        [
            (HR_SUPERVISOR_ID, f"{inp.key}:{HR_SUPERVISOR_ID}", "sent", 1),
            (BOARD_SECRETARY_ID, f"{inp.key}:{BOARD_SECRETARY_ID}", "sent", 1),
        ]
    )
    assert all(r.sent_at is not None for r in rows)
    assert {r.to_address for r in rows} == {SUPERVISOR_EMAIL, SECRETARY_EMAIL}


def test_a_repeated_call_with_the_same_key_sends_nothing_and_adds_no_row(
    seeded: Engine, smtp: SmtpSink
) -> None:
    acts = NotificationActivities(seeded, smtp.host, smtp.port, MAIL_FROM)
    acts.notify(_inp())
    again = acts.notify(_inp())
    assert (again.queued, again.sent) == (0, 0)
    assert len(smtp.messages) == 2
    rows = outbox_for(seeded)
    assert len(rows) == 2 and all(r.attempts == 1 for r in rows)

    other = acts.notify(
        _inp(
            key=f"{WF}:supervisor_review:reminder:r7",
            template="reminder",
            recipient_ids=[HR_SUPERVISOR_ID, HR_SUPERVISOR_ID],
        )
    )
    assert (other.queued, other.sent) == (1, 1)
    assert smtp.subjects_to(SUPERVISOR_EMAIL)[-1] == (
        "Reminder: Supervisor review of 1821 is due 2024-03-15 17:00 UTC"
    )


def test_without_smtp_the_outbox_is_the_delivery(seeded: Engine, smtp: SmtpSink) -> None:
    acts = NotificationActivities(seeded, None, 25, MAIL_FROM)
    result = acts.notify(_inp())
    assert (result.queued, result.sent) == (2, 0)
    rows = outbox_for(seeded, WF)
    assert [(r.status, r.sent_at, r.attempts) for r in rows] == [("pending", None, 0)] * 2
    assert smtp.messages == []
    assert outbox_for(seeded, "some-other-workflow") == []

    # A later attempt with a server configured delivers what is still pending.
    delivered = NotificationActivities(seeded, smtp.host, smtp.port, MAIL_FROM).notify(_inp())
    assert (delivered.queued, delivered.sent) == (0, 2)
    assert len(smtp.messages) == 2
    assert {r.status for r in outbox_for(seeded, WF)} == {"sent"}


def test_a_failed_delivery_keeps_the_rows_for_the_retry(seeded: Engine, smtp: SmtpSink) -> None:
    broken = NotificationActivities(seeded, "127.0.0.1", _closed_port(), MAIL_FROM)
    with pytest.raises(OSError):
        broken.notify(_inp())
    assert [r.status for r in outbox_for(seeded, WF)] == ["pending", "pending"]

    retry = NotificationActivities(seeded, smtp.host, smtp.port, MAIL_FROM).notify(_inp())
    assert (retry.queued, retry.sent) == (0, 2)
    assert len(smtp.messages) == 2


def test_a_row_written_concurrently_by_another_attempt_is_reused(
    seeded: Engine, smtp: SmtpSink, monkeypatch: pytest.MonkeyPatch
) -> None:
    NotificationActivities(seeded, None, 25, MAIL_FROM).notify(_inp(recipient_ids=[HR_SUPERVISOR_ID]))
    real_find = notifications._find
    calls: list[str] = []

    def find_misses_once(session, key):  # the other attempt commits right after our look-up
        calls.append(key)
        return None if len(calls) == 1 else real_find(session, key)

    monkeypatch.setattr(notifications, "_find", find_misses_once)
    acts = NotificationActivities(seeded, smtp.host, smtp.port, MAIL_FROM)
    result = acts.notify(_inp(recipient_ids=[HR_SUPERVISOR_ID]))
    assert len(calls) == 2  # the insert hit the unique key, and the row was reloaded
    assert (result.queued, result.sent) == (0, 1)
    assert len(outbox_for(seeded)) == 1
    assert smtp.subjects_to(SUPERVISOR_EMAIL)


def test_an_unknown_recipient_is_a_non_retryable_error_and_writes_nothing(
    seeded: Engine, smtp: SmtpSink
) -> None:
    acts = NotificationActivities(seeded, smtp.host, smtp.port, MAIL_FROM)
    with pytest.raises(ApplicationError) as caught:
        acts.notify(_inp(recipient_ids=[HR_SUPERVISOR_ID, "E9999"]))
    assert caught.value.non_retryable
    assert "E9999" in str(caught.value)
    assert outbox_for(seeded) == []
    assert smtp.messages == []


def test_inside_an_activity_logs_carry_the_workflow_and_never_names_or_addresses(
    seeded: Engine, smtp: SmtpSink
) -> None:
    env = ActivityEnvironment()
    env.info = dataclasses.replace(env.info, workflow_id=WF, workflow_run_id="run-1")
    acts = NotificationActivities(seeded, smtp.host, smtp.port, MAIL_FROM)
    with capture_logs() as logs:
        result = env.run(acts.notify, _inp())
    assert (result.queued, result.sent) == (2, 2)
    assert logs and all(e.get("workflow_id") == WF and e.get("run_id") == "run-1" for e in logs)
    assert any(e["event"] == "notify.sent" for e in logs)
    flat = repr(logs)
    for secret in (SUPERVISOR_EMAIL, SECRETARY_EMAIL, "Linnea", "Brandt", "Rosa", "Delgado"):
        assert secret not in flat


def test_templates_address_the_person_and_an_unknown_template_lists_its_params() -> None:
    subject, body = render(
        "escalation",
        {"step_title": "Union review", "due_at": "2024-04-01", "overdue": "E1026"},
        "Gary Holm",
        WF,
    )
    assert subject == "Escalated to you: Union review is overdue"
    assert body.startswith("Dear Gary Holm,") and "E1026" in body and WF in body

    subject, body = render("board_packet", {"meeting_date": "2024-05-07"}, "Rosa Delgado", WF)
    assert subject == f"Human Resources notice: board_packet ({WF})"
    assert "meeting_date: 2024-05-07" in body

    _, body = render(
        "decision_recorded", {"step_title": "Director review", "decision": "approve"}, "Victor Hale", None
    )
    assert "(no workflow)" in body  # a notice need not belong to a workflow
    with pytest.raises(jinja2.UndefinedError, match="decision"):  # but a decision it must state
        render("decision_recorded", {"step_title": "Director review"}, "Victor Hale", None)


def test_a_permanently_refused_address_is_recorded_failed_and_the_rest_still_go(
    seeded: Engine, smtp: SmtpSink
) -> None:
    smtp.handler.refuse.add(SUPERVISOR_EMAIL)
    acts = NotificationActivities(seeded, smtp.host, smtp.port, MAIL_FROM)
    result = acts.notify(_inp())  # no exception: a 550 will not change on retry

    assert result.sent == 1
    assert smtp.subjects_to(SECRETARY_EMAIL) and not smtp.subjects_to(SUPERVISOR_EMAIL)
    status = {row.recipient_id: (row.status, row.attempts) for row in outbox_for(seeded, WF)}
    assert status == {HR_SUPERVISOR_ID: ("failed", 1), BOARD_SECRETARY_ID: ("sent", 1)}
    acts.notify(_inp())  # a retry does not try the failed row again
    assert {row.recipient_id: row.attempts for row in outbox_for(seeded, WF)}[HR_SUPERVISOR_ID] == 1


# ----- one send per row, however many attempts run at once ----------------------------------

PEOPLE = [HR_SUPERVISOR_ID, BOARD_SECRETARY_ID, CITY_ADMINISTRATOR_ID, EMPLOYEE_SERVICES_DIRECTOR_ID]


def _queued(engine: Engine, recipient_ids: list[str]) -> NotifyInput:
    """The notice's outbox rows written and still pending (no SMTP server yet)."""
    inp = _inp(recipient_ids=recipient_ids)
    NotificationActivities(engine, None, 25, MAIL_FROM).notify(inp)
    return inp


def _row(engine: Engine, key: str) -> OutboxMessage:
    return next(r for r in outbox_for(engine) if r.key == key)


def _set_claim(engine: Engine, row_id: int, by: str, at: datetime) -> None:
    with Session(engine) as session:
        row = session.get(OutboxMessage, row_id)
        assert row is not None
        row.claimed_by, row.claimed_at = by, at
        session.add(row)
        session.commit()


def test_the_claim_lease_outlasts_an_smtp_exchange() -> None:
    assert notifications.CLAIM_LEASE > timedelta(seconds=notifications.SMTP_TIMEOUT_SECONDS)


def test_one_conditional_update_claims_a_row_for_one_attempt_at_a_time(seeded: Engine) -> None:
    inp = _queued(seeded, [HR_SUPERVISOR_ID])
    row_id = _row(seeded, f"{inp.key}:{HR_SUPERVISOR_ID}").id
    assert row_id is not None
    now = datetime.now(timezone.utc)
    assert notifications.claim_row(seeded, row_id, "attempt-a", now)
    assert not notifications.claim_row(seeded, row_id, "attempt-b", now + timedelta(seconds=1))
    later = now + notifications.CLAIM_LEASE + timedelta(seconds=1)  # attempt-a's lease has run out
    assert notifications.claim_row(seeded, row_id, "attempt-b", later)
    assert not notifications.claim_row(seeded, row_id, "attempt-a", later)


def test_two_deliveries_of_the_same_rows_at_once_send_each_row_exactly_once(
    seeded: Engine, smtp: SmtpSink
) -> None:
    inp = _queued(seeded, PEOPLE)
    smtp.handler.delay = 0.3  # a slow server: the two attempts overlap on every row
    start = threading.Barrier(2)

    def attempt() -> NotifyResult | ApplicationError:
        acts = NotificationActivities(seeded, smtp.host, smtp.port, MAIL_FROM)
        start.wait()
        try:
            return acts.notify(inp)
        except ApplicationError as exc:
            return exc

    with ThreadPoolExecutor(max_workers=2) as pool:
        outcomes = list(pool.map(lambda _: attempt(), range(2)))

    expected = sorted(message_id(f"{inp.key}:{person}") for person in PEOPLE)
    assert sorted(str(m["Message-ID"]) for m in smtp.messages) == expected
    for outcome in outcomes:  # an attempt that met a row the other was sending did not succeed
        if isinstance(outcome, ApplicationError):
            assert outcome.type == "OutboxRowBusy" and not outcome.non_retryable
            assert "is being sent by another attempt" in str(outcome)
    assert sum(o.sent for o in outcomes if isinstance(o, NotifyResult)) <= len(PEOPLE)
    rows = outbox_for(seeded, WF)
    assert [(r.status, r.attempts, r.claimed_by, r.claimed_at) for r in rows] == [("sent", 1, None, None)] * 4

    retry = NotificationActivities(seeded, smtp.host, smtp.port, MAIL_FROM).notify(inp)
    assert (retry.queued, retry.sent) == (0, 0) and len(smtp.messages) == len(PEOPLE)


def test_a_stale_claim_is_taken_over(seeded: Engine, smtp: SmtpSink) -> None:
    inp = _queued(seeded, [HR_SUPERVISOR_ID])
    row = _row(seeded, f"{inp.key}:{HR_SUPERVISOR_ID}")
    assert row.id is not None
    stale = datetime.now(timezone.utc) - notifications.CLAIM_LEASE - timedelta(seconds=5)
    _set_claim(seeded, row.id, "died-while-sending:1", stale)

    result = NotificationActivities(seeded, smtp.host, smtp.port, MAIL_FROM).notify(inp)
    assert result.sent == 1
    assert [str(m["Message-ID"]) for m in smtp.messages] == [message_id(row.key)]
    after = _row(seeded, row.key)
    assert (after.status, after.attempts, after.claimed_by, after.claimed_at) == ("sent", 1, None, None)


def test_a_row_claimed_by_a_live_attempt_is_left_to_it_and_this_attempt_fails_retryably(
    seeded: Engine, smtp: SmtpSink
) -> None:
    inp = _queued(seeded, [HR_SUPERVISOR_ID, BOARD_SECRETARY_ID])
    busy = _row(seeded, f"{inp.key}:{HR_SUPERVISOR_ID}")
    assert busy.id is not None
    _set_claim(seeded, busy.id, "sending-right-now:1", datetime.now(timezone.utc))
    acts = NotificationActivities(seeded, smtp.host, smtp.port, MAIL_FROM)

    with pytest.raises(ApplicationError) as caught:
        acts.notify(inp)
    assert caught.value.type == "OutboxRowBusy" and not caught.value.non_retryable
    assert caught.value.message == f"outbox row {busy.id} is being sent by another attempt"
    assert smtp.subjects_to(SUPERVISOR_EMAIL) == [] and len(smtp.subjects_to(SECRETARY_EMAIL)) == 1
    still = _row(seeded, busy.key)
    assert (still.status, still.attempts, still.claimed_by) == ("pending", 0, "sending-right-now:1")

    # The other attempt finishes: it marks the row sent and releases it; the retry succeeds.
    with Session(seeded) as session:
        row = session.get(OutboxMessage, busy.id)
        assert row is not None
        row.status, row.attempts, row.claimed_by, row.claimed_at = "sent", 1, None, None
        session.add(row)
        session.commit()
    assert acts.notify(inp).sent == 0
    assert smtp.subjects_to(SUPERVISOR_EMAIL) == []


def test_a_cancelled_attempt_stops_at_its_heartbeat_before_the_next_row(
    seeded: Engine, smtp: SmtpSink
) -> None:
    inp = _queued(seeded, [HR_SUPERVISOR_ID, BOARD_SECRETARY_ID])
    first, second = (_row(seeded, f"{inp.key}:{p}") for p in (HR_SUPERVISOR_ID, BOARD_SECRETARY_ID))
    env = ActivityEnvironment()
    beats: list[tuple[object, ...]] = []

    def on_heartbeat(*details: object) -> None:
        beats.append(details)
        if len(beats) == 2:  # the server timed the attempt out while it sent the first message
            env.cancel(ActivityCancellationDetails(timed_out=True))

    env.on_heartbeat = on_heartbeat
    acts = NotificationActivities(seeded, smtp.host, smtp.port, MAIL_FROM)
    with pytest.raises(CancelledError):
        env.run(acts.notify, inp)

    assert beats == [(first.id,), (second.id,)]  # one heartbeat before each message
    assert [str(m["Message-ID"]) for m in smtp.messages] == [message_id(first.key)]
    status = {r.key: (r.status, r.claimed_by) for r in outbox_for(seeded, WF)}
    assert status == {first.key: ("sent", None), second.key: ("pending", None)}


def test_a_cancel_during_a_send_lands_after_the_row_is_recorded_sent(seeded: Engine, smtp: SmtpSink) -> None:
    inp = _queued(seeded, [HR_SUPERVISOR_ID, BOARD_SECRETARY_ID])
    first, second = (_row(seeded, f"{inp.key}:{p}") for p in (HR_SUPERVISOR_ID, BOARD_SECRETARY_ID))
    smtp.handler.delay = 0.6
    env = ActivityEnvironment()
    timers: list[threading.Timer] = []

    def on_heartbeat(*details: object) -> None:
        if not timers:  # the cancel arrives while the first message is on the wire
            timers.append(threading.Timer(0.2, env.cancel))
            timers[0].start()

    env.on_heartbeat = on_heartbeat
    acts = NotificationActivities(seeded, smtp.host, smtp.port, MAIL_FROM)
    with pytest.raises(CancelledError):
        env.run(acts.notify, inp)
    timers[0].join()

    assert [str(m["Message-ID"]) for m in smtp.messages] == [message_id(first.key)]
    status = {r.key: (r.status, r.attempts, r.claimed_by) for r in outbox_for(seeded, WF)}
    assert status == {first.key: ("sent", 1, None), second.key: ("pending", 0, None)}
