"""The approvers' web application against real workflows, for the route and browser tests.

A pytest plugin (``pytest_plugins = ["tests.dev_server", "tests.web_stack"]``): the session's dev
server (the inbox reads visibility, which the time-skipping server does not implement), a seeded
SQLite store, a real SMTP server, a worker with its mailer on a queue of its own, and the web
application bound to them. Its clients sign like a signed-in person's (``tests/signing.py``).
"""

from __future__ import annotations

import re
import socket
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from email.message import Message

import pytest_asyncio
from sqlalchemy import Engine
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from activities.db import create_schema, make_engine
from activities.seed import load_text, seed_city
from schemas import jd_review as jd
from service.identity import load_keyring
from service.settings import Settings
from tests.harness_common import mail_arrived, mailer_for_tests, poll_until
from tests.smtp_server import SmtpSink
from web.app import create_app
from worker import worker_and_mailer

LINK = re.compile(r"(https?://\S+/link/[A-Za-z0-9_\-.]+)")


@dataclass
class WebStack:
    env: WorkflowEnvironment
    settings: Settings
    engine: Engine
    smtp: SmtpSink
    task_queue: str

    @property
    def client(self):  # type: ignore[no-untyped-def]
        return self.env.client

    def app(self):  # type: ignore[no-untyped-def]
        return create_app(self.settings, self.engine, self.env.client, load_keyring(self.settings))

    async def start_review(self, requested_by: str = "E1008") -> WorkflowHandle:
        cycle = f"w{uuid.uuid4().hex[:8]}"
        inp = jd.StartReviewInput(
            class_code="1821", cycle=cycle, requested_by=requested_by, draft_text=load_text("1821_draft_2023")
        )
        return await self.client.start_workflow(
            "JobDescriptionReview",
            inp,
            id=jd.review_workflow_id("1821", cycle),
            task_queue=self.task_queue,
            result_type=jd.ReviewResult,
        )

    async def status(self, handle: WorkflowHandle) -> jd.ReviewStatus:
        return await handle.query("status", result_type=jd.ReviewStatus)

    async def wait_for(self, handle: WorkflowHandle, predicate, timeout: float = 30) -> jd.ReviewStatus:  # type: ignore[no-untyped-def]
        return await poll_until(lambda: self.status(handle), predicate, timeout)

    async def open_review(self) -> tuple[WorkflowHandle, jd.ReviewStatus]:
        handle = await self.start_review()
        status = await self.wait_for(handle, lambda s: any(st.step_id == "review-1" for st in s.open_steps))
        return handle, status

    async def link_mailed_to(self, person_id: str, workflow_id: str) -> str:
        """The decision link of the step-opened notice ``person_id`` received about ``workflow_id``."""
        address = _email(self.engine, person_id)

        def mine(messages: list[Message]) -> list[Message]:
            return [
                m
                for m in messages
                if m["To"] == address and workflow_id in _body(m) and LINK.search(_body(m))
            ]

        messages = await mail_arrived(self.smtp, lambda ms: bool(mine(ms)), timeout=20)
        found = LINK.search(_body(mine(messages)[0]))
        assert found is not None
        return found.group(1)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _body(message: Message) -> str:
    payload = message.get_payload(decode=True)
    return payload.decode() if isinstance(payload, bytes) else str(message.get_payload())


def _email(engine: Engine, person_id: str) -> str:
    from sqlmodel import Session

    from schemas.tables import Person

    with Session(engine) as s:
        person = s.get(Person, person_id)
        assert person is not None
        return person.email


@pytest_asyncio.fixture(loop_scope="session")
async def web_stack(dev_env: WorkflowEnvironment, tmp_path) -> AsyncIterator[WebStack]:
    port = free_port()
    db_url = f"sqlite:///{tmp_path / 'hr.db'}"
    engine = make_engine(db_url)
    create_schema(engine)
    seed_city(engine)
    smtp = SmtpSink().start()
    task_queue = f"web-{uuid.uuid4().hex[:8]}"
    settings = Settings(
        database_url=db_url,
        smtp_host=smtp.host,
        smtp_port=smtp.port,
        task_queue=task_queue,
        web_url=f"http://127.0.0.1:{port}",
    )
    try:
        async with worker_and_mailer(
            dev_env.client, settings, engine, task_queue=task_queue, mailer=mailer_for_tests(engine, smtp)
        ):
            yield WebStack(env=dev_env, settings=settings, engine=engine, smtp=smtp, task_queue=task_queue)
    finally:
        smtp.stop()
        engine.dispose()
