"""Signed answers: every kind of bad credential refused by the workflow, nothing changed; the raw
``temporal workflow update``/``signal`` path (a client that signs nothing) refused; the "FAKE-1"
attempt of issue 11 repeated; a delegate's credential; the audit row records the credential's id.

On the time-skipping server with the real activities, SQLite/PostgreSQL and SMTP (``review``).
"""

from __future__ import annotations

import asyncio
import json
from datetime import date, datetime, timedelta, timezone

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlmodel import Session
from temporalio.client import Client, WorkflowHandle, WorkflowUpdateFailedError

from activities.db import utcnow
from schemas import jd_review as jd
from schemas.credentials import LINK, NO_CREDENTIAL
from schemas.human_step import DecisionInput, DecisionReceipt, WithdrawInput
from schemas.tables import Delegation
from service.identity import KeyRing
from service.signing import SigningInterceptor
from tests.conftest import venv_binary
from tests.review_harness import Review, board_resolution
from tests.signing import session_keyring, token_for, unsigned


def with_token(client: Client, token: str | None) -> Client:
    """The connection, sending ``token`` with every Update and signal whoever the actor is."""
    config = client.config()
    config["interceptors"] = [SigningInterceptor(lambda _actor: token)]
    return Client(**config)


async def refusal(client: Client, handle: WorkflowHandle, inp: DecisionInput) -> str:
    with pytest.raises(WorkflowUpdateFailedError) as err:
        await client.get_workflow_handle(handle.id).execute_update("decide", inp, result_type=DecisionReceipt)
    return str(err.value.cause)


def altered(token: str) -> str:
    """The token with one character of its claims changed (its signature no longer matches)."""
    head, body, sig = token.split(".")
    middle = len(body) // 2
    swapped = "A" if body[middle] != "A" else "B"
    return ".".join((head, body[:middle] + swapped + body[middle + 1 :], sig))


async def test_every_kind_of_bad_credential_is_refused_and_changes_nothing(review: Review):
    handle = await review.start()
    status = await review.wait_for_step(handle, "review-1")
    supervisor = status.open_steps[0].pending[0]
    answer = DecisionInput(actor_id=supervisor, decision="approve", step_id="review-1")
    past = datetime.now(timezone.utc) - timedelta(hours=2)
    foreign = KeyRing(signing_key=Ed25519PrivateKey.generate())
    cases = {
        None: "the answer carries no credential",
        token_for("E1001"): f"the credential names E1001, not {supervisor}",
        session_keyring().issue(supervisor, "default", timedelta(minutes=5), now=past)[0]: "has expired",
        altered(token_for(supervisor)): "not valid (altered, or its signature does not match)",
        foreign.issue(supervisor, "default", timedelta(minutes=5))[
            0
        ]: "not signed by a key this service trusts",
        token_for(supervisor, namespace="elsewhere"): "for another namespace",
        token_for(supervisor, workflow_id="jd-review-1821-other"): "for another workflow",
        token_for(supervisor, step_id="union-1"): "for step union-1, not review-1",
        token_for(supervisor, purpose=LINK): "for opening a decision link, not for answers",
        "not-a-token": "not valid (malformed)",
    }
    for token, reason in cases.items():
        assert reason in await refusal(with_token(review.client, token), handle, answer), reason
    # HR's commands too: the credential must name the HR actor
    other = with_token(review.client, token_for("E1005")).get_workflow_handle(handle.id)
    with pytest.raises(WorkflowUpdateFailedError) as err:
        await other.execute_update(
            "withdraw", WithdrawInput(actor_id="E1008", reason="forged"), result_type=str
        )
    assert "the credential names E1005, not E1008" in str(err.value.cause)
    # nothing changed: no answer, only the step's opening on record
    status = await review.status(handle)
    assert supervisor in status.open_steps[0].pending and not status.open_steps[0].answers
    assert [row.action for row in review.audit(handle.id)] == ["opened"]

    receipt = await review.decide(handle, supervisor, "approve", step_id="review-1")  # signed: taken
    assert receipt.actor_id == supervisor
    rows = await review.wait_for_audit(handle.id, 2)
    answered = [row for row in rows if row.action == "approve"]
    assert len(answered) == 1 and answered[0].token_id is not None and len(answered[0].token_id) == 24
    assert answered[0].actor_id == supervisor
    await handle.terminate("done")


async def test_the_fake_1_attempt_of_issue_11_changes_nothing(review: Review):
    """Six Updates, as the reviewers, the union, the directors and the Board, from a client that
    signs nothing (the raw ``temporal workflow update`` path), adopting resolution FAKE-1."""
    handle = await review.start()
    status = await review.wait_for_step(handle, "review-1")
    raw = unsigned(review.client)
    p = status.open_steps[0].pending
    attempts = [
        *(DecisionInput(actor_id=person, decision="approve", step_id="review-1") for person in p),
        DecisionInput(actor_id="E1023", decision="agreeable", step_id="union-1"),
        DecisionInput(actor_id="E1009", decision="approve", step_id="signatures-1"),
        DecisionInput(actor_id="E1004", decision="approve", step_id="signatures-1"),
        DecisionInput(
            actor_id="E1003", decision="approve", step_id="board-1", details=board_resolution("FAKE-1")
        ),
    ][:6]
    reasons = [await refusal(raw, handle, inp) for inp in attempts]
    assert len(reasons) == 6 and set(reasons) == {f"InputRefused: {NO_CREDENTIAL}"}
    for person in p:  # the same as plain signals: logged and dropped
        signal = DecisionInput(actor_id=person, decision="approve")
        await raw.get_workflow_handle(handle.id).signal("decide", signal)
    await asyncio.sleep(0.5)
    status = await review.status(handle)
    assert status.stage == jd.REVIEW and status.outcome is None
    assert sorted(status.open_steps[0].pending) == sorted(p) and not status.open_steps[0].answers
    assert [row.action for row in review.audit(handle.id)] == ["opened"]
    await handle.terminate("done")


async def test_a_signed_signal_is_taken_and_an_unsigned_one_dropped(review: Review):
    handle = await review.start()
    status = await review.wait_for_step(handle, "review-1")
    first, *rest = status.open_steps[0].pending
    await (
        unsigned(review.client)
        .get_workflow_handle(handle.id)
        .signal("decide", DecisionInput(actor_id=first, decision="approve"))
    )
    await handle.signal("decide", DecisionInput(actor_id=first, decision="approve"))  # signed
    status = await review.wait_for(handle, lambda s: first not in s.open_steps[0].pending)
    rows = await review.wait_for_audit(handle.id, 2)
    taken = [row for row in rows if row.action == "approve"]
    assert [row.actor_id for row in taken] == [first] and taken[0].token_id
    await handle.terminate("done")


async def test_a_delegate_signs_for_the_participant_and_is_recorded_on_behalf(review: Review):
    probe = await review.start()
    supervisor = (await review.wait_for_step(probe, "review-1")).open_steps[0].pending[0]
    await probe.terminate("probe")
    with Session(review.engine) as s:
        s.add(
            Delegation(
                delegator_id=supervisor,
                delegate_id="E1030",
                starts_on=date.today() - timedelta(days=1),
                ends_on=date.today() + timedelta(days=60),
                reason="on leave",
                created_at=utcnow(),
            )
        )
        s.commit()
    handle = await review.start()
    await review.wait_for_step(handle, "review-1")
    # the delegate's credential, the answer naming the participant: recorded as the delegate's
    as_delegate = with_token(review.client, token_for("E1030")).get_workflow_handle(handle.id)
    receipt = await as_delegate.execute_update(
        "decide",
        DecisionInput(actor_id=supervisor, decision="approve", step_id="review-1"),
        result_type=DecisionReceipt,
    )
    assert (receipt.actor_id, receipt.person_id) == ("E1030", supervisor)
    rows = await review.wait_for_audit(handle.id, 2)
    row = next(r for r in rows if r.action == "approve")
    assert (row.actor_id, row.on_behalf_of) == ("E1030", supervisor) and row.token_id
    await handle.terminate("done")


async def test_the_temporal_cli_is_refused_without_a_credential_and_taken_with_one(review: Review):
    """``temporal workflow update execute`` as a shell user types it, then with ``--headers``."""
    handle = await review.start()
    supervisor = (await review.wait_for_step(handle, "review-1")).open_steps[0].pending[0]
    address = review.client.service_client.config.target_host
    payload = json.dumps({"actor_id": supervisor, "decision": "approve", "step_id": "review-1"})
    base = [venv_binary("temporal"), "workflow", "update", "execute", "--address", address]
    base += ["--workflow-id", handle.id, "--name", "decide", "--input", payload]

    async def temporal(*extra: str) -> tuple[int, str]:
        proc = await asyncio.create_subprocess_exec(
            *base, *extra, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
        )
        out, _ = await asyncio.wait_for(proc.communicate(), 60)
        return proc.returncode or 0, out.decode()

    code, out = await temporal()
    assert code != 0 and "the answer carries no credential" in out
    code, out = await temporal("--headers", f'hr_credential="{token_for(supervisor)}"')
    assert code == 0, out
    status = await review.status(handle)
    assert supervisor not in status.open_steps[0].pending
    await handle.terminate("done")
