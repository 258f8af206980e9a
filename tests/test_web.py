"""The approvers' web application's routes against real workflows on the dev server: sign-in,
the inbox, a step's page with its redline, answers (taken, or refused with the workflow's reason),
CSRF, and decision links (used once; expired, altered, reused and foreign ones refused, logged
without their contents)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from structlog.testing import capture_logs

from schemas.credentials import LINK
from service.identity import KeyRing, load_keyring, set_password

if TYPE_CHECKING:  # imported by pytest as a plugin (below), so that its asserts are rewritten
    from tests.web_stack import WebStack

pytest_plugins = ["tests.dev_server", "tests.web_stack"]

PASSWORD = "correct horse battery"
CSRF = re.compile(r'name="csrf" value="([0-9a-f]+)"')


def browser(stack: WebStack) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=stack.app())
    return httpx.AsyncClient(transport=transport, base_url=stack.settings.web_url)


async def sign_in(web: httpx.AsyncClient, person_id: str, password: str = PASSWORD) -> httpx.Response:
    form = await web.get("/login")
    csrf = CSRF.search(form.text)
    assert csrf is not None
    return await web.post(
        "/login", data={"person_id": person_id, "password": password, "csrf": csrf.group(1)}
    )


def csrf_of(page: httpx.Response) -> str:
    found = CSRF.search(page.text)
    assert found is not None, page.text
    return found.group(1)


async def test_sign_in_the_inbox_a_step_and_answers_taken_or_refused_with_the_reason(web_stack: WebStack):
    handle, status = await web_stack.open_review()
    step = status.open_steps[0]
    supervisor = step.pending[0]
    async with browser(web_stack) as web:
        assert (await web.get("/")).headers["location"] == "/login"  # not signed in
        refused = await sign_in(web, supervisor)
        assert refused.status_code == 401 and "unknown person or wrong password" in refused.text
        set_password(web_stack.engine, supervisor, PASSWORD)
        assert (await sign_in(web, supervisor, "wrong password!")).status_code == 401
        signed = await sign_in(web, supervisor)
        assert signed.status_code == 303 and "hr_session" in signed.cookies

        inbox = await web.get("/")
        assert inbox.status_code == 200 and handle.id in inbox.text and step.title in inbox.text
        assert "JobDescriptionReview" in inbox.text and 'name="viewport"' in inbox.text

        page = await web.get(f"/steps/{handle.id}/review-1")
        assert page.status_code == 200 and 'id="redline"' in page.text and "request changes" in page.text
        csrf = csrf_of(page)
        # a forged post (no CSRF token): refused, nothing changed
        forged = await web.post(f"/steps/{handle.id}/review-1", data={"decision": "approve"})
        assert forged.status_code == 403
        # the workflow's own refusal, shown on the page: a request for changes needs a comment
        missing = await web.post(
            f"/steps/{handle.id}/review-1", data={"decision": "request_changes", "csrf": csrf}
        )
        assert missing.status_code == 422
        assert "needs a comment" in missing.text and 'id="refusal"' in missing.text
        assert supervisor in (await web_stack.status(handle)).open_steps[0].pending
        done = await web.post(
            f"/steps/{handle.id}/review-1", data={"decision": "approve", "comment": "fine", "csrf": csrf}
        )
        assert done.status_code == 200 and "approve recorded" in done.text
        assert supervisor not in (await web_stack.status(handle)).open_steps[0].pending
        again = await web.post(f"/steps/{handle.id}/review-1", data={"decision": "approve", "csrf": csrf})
        assert again.status_code == 422 and f"{supervisor} has already answered step review-1" in again.text
    await handle.terminate("done")


async def test_a_decision_link_signs_in_once_for_its_step_and_bad_links_get_a_clear_page(web_stack: WebStack):
    handle, status = await web_stack.open_review()
    person = status.open_steps[0].pending[-1]
    link = await web_stack.link_mailed_to(person, handle.id)
    path = link.removeprefix(web_stack.settings.web_url)
    token = path.rsplit("/", 1)[1]
    keyring = load_keyring(web_stack.settings)
    foreign = KeyRing(signing_key=Ed25519PrivateKey.generate())
    expired, _ = keyring.issue(
        person,
        "default",
        timedelta(minutes=5),
        purpose=LINK,
        workflow_id=handle.id,
        step_id="review-1",
        now=datetime.now(timezone.utc) - timedelta(hours=1),
    )
    forged, _ = foreign.issue(person, "default", timedelta(days=1), purpose=LINK, workflow_id=handle.id)
    head, body, sig = token.split(".")
    altered = ".".join((head, body[:-2] + ("AA" if body[-2:] != "AA" else "BB"), sig))
    with capture_logs() as logs:
        async with browser(web_stack) as web:
            opened = await web.get(path)
            assert opened.status_code == 303 and opened.headers["location"] == f"/steps/{handle.id}/review-1"
            page = await web.get(opened.headers["location"])
            assert page.status_code == 200 and "Review the draft" in page.text
            # the link's sign-in is good for its step only
            assert (await web.get(f"/steps/{handle.id}/union-1")).status_code == 403
            assert (await web.get("/")).headers["location"] == f"/steps/{handle.id}/review-1"
            done = await web.post(
                f"/steps/{handle.id}/review-1", data={"decision": "approve", "csrf": csrf_of(page)}
            )
            assert done.status_code == 200, done.text
        async with browser(web_stack) as web:
            for bad, reason in [
                (token, "has been used already"),
                (expired, "has expired"),
                (altered, "not valid"),
                (forged, "not valid"),
                (
                    keyring.issue(person, "default", timedelta(days=1))[0],
                    "not valid",
                ),  # a sign-in, not a link
            ]:
                page = await web.get(f"/link/{bad}")
                assert page.status_code == 400 and reason in page.text and "hr_session" not in page.cookies
    assert person not in (await web_stack.status(handle)).open_steps[0].pending
    refusals = [entry for entry in logs if entry["event"] == "web.link_refused"]
    assert len(refusals) == 5
    assert token not in repr(logs) and expired not in repr(logs) and body not in repr(logs)
    await handle.terminate("done")


@pytest.mark.parametrize("kind", ["login"])
async def test_a_forged_sign_in_form_is_refused(web_stack: WebStack, kind: str):
    set_password(web_stack.engine, "E1008", PASSWORD)
    async with browser(web_stack) as web:
        page = await web.post("/login", data={"person_id": "E1008", "password": PASSWORD, "csrf": "0" * 64})
        assert page.status_code == 403 and "hr_session" not in page.cookies


async def test_the_demo_leaves_a_review_pending_and_prints_a_sign_in_link_that_opens_its_step(
    web_stack: WebStack,
):
    from cli.demo import leave_one_pending

    settings = web_stack.settings
    lines: list[str] = []
    link = await leave_one_pending(web_stack.client, settings, web_stack.engine, echo=lines.append)
    assert link is not None and any(link in line and "pending approver" in line for line in lines)
    workflow_id = lines[0].split()[0]
    async with browser(web_stack) as web:
        opened = await web.get(link.removeprefix(settings.web_url))
        assert opened.status_code == 303 and opened.headers["location"].startswith(f"/steps/{workflow_id}/")
    await web_stack.client.get_workflow_handle(workflow_id).terminate("done")


async def test_a_scorers_page_lists_their_candidates_and_takes_or_refuses_scores(hiring):  # type: ignore[no-untyped-def]
    """On the time-skipping server (a step's page reads the status query only): the oral board's
    scorer sees the candidates assigned to them; a score out of range is refused with the
    workflow's reason; their scores are recorded."""
    from activities.seed_recruitment import demo_application
    from service.settings import Settings
    from web.app import create_app

    handle = await hiring.open()
    await hiring.approve_and_post(handle)
    await hiring.apply(handle, [demo_application(n) for n in range(1, 4)])
    await hiring.close_applications(handle)
    await hiring.confirm_screen(handle)
    status = await hiring.wait_for_step(handle, "oral-board")
    scorer, assigned = next(iter(status.assignments["oral-board"].items()))
    # the test server's clock runs years ahead of the real one: a session long enough for it
    settings = Settings(web_url="http://testserver", auth_session_minutes=60 * 24 * 365 * 60)
    set_password(hiring.engine, scorer, PASSWORD)
    app = create_app(settings, hiring.engine, hiring.client, load_keyring(settings))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=settings.web_url) as web:
        await sign_in(web, scorer)
        page = await web.get(f"/steps/{handle.id}/oral-board")
        assert page.status_code == 200 and all(f'name="score_{a}"' in page.text for a in assigned)
        form = {"csrf": csrf_of(page)} | {f"score_{a}": "101" for a in assigned}
        refused = await web.post(f"/steps/{handle.id}/oral-board", data=form)
        assert refused.status_code == 422 and "101 is outside 0-100" in refused.text
        assert not (await hiring.status(handle)).candidates[0].oral
        form = {"csrf": csrf_of(page)} | {f"score_{a}": "80" for a in assigned}
        done = await web.post(f"/steps/{handle.id}/oral-board", data=form)
        assert done.status_code == 200 and "scores recorded for" in done.text
    status = await hiring.status(handle)
    assert scorer not in next(s for s in status.open_steps if s.step_id == "oral-board").pending
    await handle.terminate("done")


async def test_the_inbox_lists_a_workflow_whose_worker_is_down_without_waiting_for_it(web_stack: WebStack):
    """Its status query times out (``STATUS_TIMEOUT``); the row comes from its search attributes."""
    import asyncio
    import uuid

    from activities.seed import load_text
    from schemas import jd_review as jd
    from web.app import STATUS_TIMEOUT
    from worker import build_worker

    queue = f"down-{uuid.uuid4().hex[:6]}"
    cycle = f"d{uuid.uuid4().hex[:6]}"
    inp = jd.StartReviewInput(
        class_code="1821", cycle=cycle, requested_by="E1008", draft_text=load_text("1821_draft_2023")
    )
    async with build_worker(web_stack.client, web_stack.settings, web_stack.engine, task_queue=queue):
        handle = await web_stack.client.start_workflow(
            "JobDescriptionReview", inp, id=jd.review_workflow_id("1821", cycle), task_queue=queue
        )
        status = await web_stack.wait_for(handle, lambda s: any(st.pending for st in s.open_steps))
    supervisor = status.open_steps[0].pending[0]
    set_password(web_stack.engine, supervisor, PASSWORD)
    async with browser(web_stack) as web:
        await sign_in(web, supervisor)
        started = asyncio.get_running_loop().time()
        for _ in range(50):  # visibility catches up within moments
            inbox = await web.get("/")
            if handle.id in inbox.text:
                break
            await asyncio.sleep(0.2)
        elapsed = asyncio.get_running_loop().time() - started
    assert handle.id in inbox.text and "(status unavailable)" in inbox.text
    assert elapsed < 10 * STATUS_TIMEOUT.total_seconds()
    await handle.terminate("done")
