"""The notify activity against a real database: it renders and queues, and sends nothing.

Delivery runs apart (``activities/mailer.py``, ``tests/test_mailer.py``); here the mailer is
run by hand after the activity, to see what the queued rows become.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime, timezone

import jinja2
import pytest
from sqlalchemy import Engine
from structlog.testing import capture_logs
from temporalio.activity import ActivityCancellationDetails
from temporalio.exceptions import ApplicationError, CancelledError
from temporalio.testing import ActivityEnvironment

from activities import notifications
from activities.mailer import Mailer
from activities.notifications import NotificationActivities, Recipient, message_id, outbox_for, render
from activities.seed import BOARD_SECRETARY_ID, HR_SUPERVISOR_ID, seed_city
from schemas.human_step import NotifyInput
from service.settings import Settings
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


def _mailer(engine: Engine, smtp: SmtpSink) -> Mailer:
    return Mailer(engine, smtp.host, smtp.port, MAIL_FROM)


def test_notify_queues_one_pending_row_per_recipient_and_sends_nothing(
    seeded: Engine, smtp: SmtpSink
) -> None:
    woken: list[bool] = []
    acts = NotificationActivities(seeded, on_queued=lambda: woken.append(True))
    before = datetime.now(timezone.utc)
    inp = _inp()
    result = acts.notify(inp)

    assert (result.queued, result.sent) == (2, 0)
    assert smtp.messages == [] and woken == [True]
    rows = outbox_for(seeded, WF)
    assert sorted((r.recipient_id, r.key, r.status, r.attempts, r.last_attempt_at) for r in rows) == sorted(
        [
            (HR_SUPERVISOR_ID, f"{inp.key}:{HR_SUPERVISOR_ID}", "pending", 0, None),
            (BOARD_SECRETARY_ID, f"{inp.key}:{BOARD_SECRETARY_ID}", "pending", 0, None),
        ]
    )
    for row in rows:  # due at once
        assert row.next_attempt_at is not None
        due = row.next_attempt_at.replace(tzinfo=row.next_attempt_at.tzinfo or timezone.utc)
        assert before <= due <= datetime.now(timezone.utc)
    assert {r.to_address for r in rows} == {SUPERVISOR_EMAIL, SECRETARY_EMAIL}


def test_the_mailer_delivers_what_notify_queued_and_marks_the_rows_sent(
    seeded: Engine, smtp: SmtpSink
) -> None:
    inp = _inp()
    NotificationActivities(seeded).notify(inp)
    done = _mailer(seeded, smtp).deliver_due()

    assert len(done.sent) == 2 and len(smtp.messages) == 2
    assert smtp.subjects_to(SUPERVISOR_EMAIL) == [
        "Action needed: Supervisor review of 1821 (due 2024-03-15 17:00 UTC)"
    ]
    assert len(smtp.subjects_to(SECRETARY_EMAIL)) == 1
    to_supervisor = next(m for m in smtp.messages if str(m["To"]) == SUPERVISOR_EMAIL)
    assert str(to_supervisor["From"]) == MAIL_FROM
    assert str(to_supervisor["Message-ID"]) == message_id(f"{inp.key}:{HR_SUPERVISOR_ID}")
    assert str(to_supervisor["X-HR-Workflow-Id"]) == WF
    assert SUPERVISOR_EMAIL in str(to_supervisor["X-Envelope-To"])
    body = to_supervisor.get_payload(decode=True).decode()
    assert "Dear Linnea Brandt" in body and WF in body and "2024-03-15 17:00 UTC" in body

    rows = outbox_for(seeded, WF)
    assert [(r.status, r.attempts, r.claimed_by, r.next_attempt_at, r.last_error) for r in rows] == [
        ("sent", 1, None, None, None)
    ] * 2
    assert all(r.sent_at is not None and r.last_attempt_at is not None for r in rows)


def test_a_repeated_call_with_the_same_key_adds_no_row_and_nothing_is_sent_twice(
    seeded: Engine, smtp: SmtpSink
) -> None:
    acts = NotificationActivities(seeded)
    mailer = _mailer(seeded, smtp)
    acts.notify(_inp())
    mailer.deliver_due()
    again = acts.notify(_inp())
    assert (again.queued, again.sent) == (0, 0)
    assert mailer.deliver_due().due == 0
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
    assert (other.queued, other.sent) == (1, 0)
    assert len(mailer.deliver_due().sent) == 1
    assert smtp.subjects_to(SUPERVISOR_EMAIL)[-1] == (
        "Reminder: Supervisor review of 1821 is due 2024-03-15 17:00 UTC"
    )


def test_without_smtp_there_is_no_mailer_and_the_outbox_is_the_delivery(
    seeded: Engine, smtp: SmtpSink
) -> None:
    assert Mailer.from_settings(Settings(database_url="sqlite://", smtp_host=None), seeded) is None
    result = NotificationActivities(seeded).notify(_inp())
    assert (result.queued, result.sent) == (2, 0)
    rows = outbox_for(seeded, WF)
    assert [(r.status, r.sent_at, r.attempts) for r in rows] == [("pending", None, 0)] * 2
    assert smtp.messages == []
    assert outbox_for(seeded, "some-other-workflow") == []

    # A mailer started later (a server configured since) delivers what is still pending.
    settings = Settings(database_url="sqlite://", smtp_host=smtp.host, smtp_port=smtp.port)
    mailer = Mailer.from_settings(settings, seeded)
    assert mailer is not None and len(mailer.deliver_due().sent) == 2
    assert len(smtp.messages) == 2
    assert {r.status for r in outbox_for(seeded, WF)} == {"sent"}


def test_rows_written_concurrently_by_another_attempt_are_reused(
    seeded: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    NotificationActivities(seeded).notify(_inp(recipient_ids=[HR_SUPERVISOR_ID]))
    real = notifications._existing_keys
    calls: list[list[str]] = []

    def misses_once(session, keys):  # the other attempt commits right after our look-up
        calls.append(keys)
        return set() if len(calls) == 1 else real(session, keys)

    monkeypatch.setattr(notifications, "_existing_keys", misses_once)
    result = NotificationActivities(seeded).notify(_inp())
    # The chunk's insert hit the unique key; it was written again row by row, keeping the row
    # the other attempt wrote and adding the missing one.
    assert len(calls) == 3
    assert (result.queued, result.sent) == (1, 0)
    assert sorted(r.recipient_id for r in outbox_for(seeded)) == sorted(
        [HR_SUPERVISOR_ID, BOARD_SECRETARY_ID]
    )


def test_an_unknown_recipient_is_a_non_retryable_error_and_writes_nothing(seeded: Engine) -> None:
    acts = NotificationActivities(seeded)
    with pytest.raises(ApplicationError) as caught:
        acts.notify(_inp(recipient_ids=[HR_SUPERVISOR_ID, "E9999"]))
    assert caught.value.non_retryable
    assert "E9999" in str(caught.value)
    assert outbox_for(seeded) == []


def test_inside_an_activity_logs_carry_the_workflow_and_never_names_or_addresses(
    seeded: Engine, smtp: SmtpSink
) -> None:
    env = ActivityEnvironment()
    env.info = dataclasses.replace(env.info, workflow_id=WF, workflow_run_id="run-1")
    acts = NotificationActivities(seeded)
    with capture_logs() as logs:
        result = env.run(acts.notify, _inp())
    assert (result.queued, result.sent) == (2, 0)
    assert logs and all(e.get("workflow_id") == WF and e.get("run_id") == "run-1" for e in logs)
    assert any(e["event"] == "notify.queued" for e in logs)
    with capture_logs() as mailer_logs:
        _mailer(seeded, smtp).deliver_due()
    assert [e["event"] for e in mailer_logs] == ["mail.sent"] * 2
    assert all(e.get("workflow_id") == WF and e.get("outbox_id") for e in mailer_logs)
    flat = repr(logs) + repr(mailer_logs)
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


# ----- a notice to many: chunks, heartbeats, a retry picks up where the last attempt stopped ----


def _many(n: int) -> list[Recipient]:
    return [
        Recipient(id=f"R-1:A{i:04d}", name=f"Applicant {i}", email=f"a{i}@mail.example") for i in range(n)
    ]


def _text(recipient: Recipient) -> tuple[str, str]:
    return (f"Notice for {recipient.id}", f"Dear {recipient.name},\n")


def test_a_large_notice_heartbeats_every_chunk_and_a_retry_writes_only_the_rest(seeded: Engine) -> None:
    acts = NotificationActivities(seeded)
    recipients = _many(2 * notifications.QUEUE_CHUNK + 50)
    env = ActivityEnvironment()
    beats: list[tuple[object, ...]] = []

    def on_heartbeat(*details: object) -> None:
        beats.append(details)
        if len(beats) == 5:  # the server timed the attempt out while it wrote the first chunk
            env.cancel(ActivityCancellationDetails(timed_out=True))

    env.on_heartbeat = on_heartbeat
    with pytest.raises(CancelledError):
        env.run(acts.queue, "notice", WF, recipients, _text)
    # Three heartbeats while rendering (0, 100, 200), then one before each chunk written: the
    # attempt stops at the next one, with the first chunk written and committed.
    assert beats == [(0,), (100,), (200,), (0,), (100,)]
    assert len(outbox_for(seeded, WF)) == notifications.QUEUE_CHUNK

    retry = ActivityEnvironment().run(acts.queue, "notice", WF, recipients, _text)
    assert (retry.queued, retry.sent) == (len(recipients) - notifications.QUEUE_CHUNK, 0)
    rows = outbox_for(seeded, WF)
    assert len(rows) == len(recipients) and len({r.key for r in rows}) == len(recipients)
