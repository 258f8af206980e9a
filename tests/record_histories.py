"""Records workflow histories for the replay tests: ``python -m tests.record_histories``.

Run it only when a workflow change is meant to be incompatible (and then bump the workflow's
version); otherwise the committed histories must keep replaying against the new code, which is
what ``tests/test_replay.py`` checks.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import uuid
from datetime import date, timedelta
from pathlib import Path

from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from activities.db import make_engine
from activities.seed import seed_city
from schemas import jd_review as jd
from schemas.human_step import DecisionInput
from schemas.search_attributes import indexed_types
from service.settings import Settings
from tests.conftest import venv_binary
from tests.recruitment_harness import Hiring
from tests.review_harness import Review, approve_all
from tests.smtp_server import SmtpSink
from worker import build_worker

HERE = Path(__file__).parent / "histories"


async def _record(review: Review) -> dict[str, str]:
    histories: dict[str, str] = {}

    handle = await review.start()
    await review.drive(handle, approve_all)
    await handle.result()
    histories["jd_review_adopted"] = (await handle.fetch_history()).to_json()

    handle = await review.start()
    status = await review.wait_for_step(handle, "review-1")
    silent, objector = status.open_steps[0].pending[-1], status.open_steps[0].pending[0]
    await review.decide(handle, objector, "request_changes", comment="name the benefits representative")
    await review.env.sleep(timedelta(days=18))
    await review.wait_for_step(handle, "hr-1-review")
    await review.decide(handle, "E1008", "revise", text="Human Resources Technician\n\nRevised.\n")
    await review.wait_for_step(handle, "review-2")

    def second_round(step_id: str, person: str) -> DecisionInput | None:
        if step_id.startswith("board-1"):
            return DecisionInput(actor_id=person, decision="table", comment="next meeting")
        return None if person == silent and step_id == "review-2" else approve_all(step_id, person)

    for person in (await review.status(handle)).open_steps[0].pending:
        if person != silent:
            await review.decide(handle, person, "approve")
    await review.env.sleep(timedelta(days=18))
    await review.drive(handle, second_round)
    await handle.result()
    histories["jd_review_rounds_no_response_tabled"] = (await handle.fetch_history()).to_json()

    sweep = await review.client.start_workflow(
        "JobDescriptionReviewSweep",
        jd.SweepInput(cycle="rec", requested_by="E1008", as_of=date(2026, 11, 23), batch_size=2),
        id="jd-sweep-rec",
        task_queue=review.task_queue,
        result_type=jd.SweepResult,
    )
    await sweep.result()
    histories["jd_sweep"] = (await sweep.fetch_history()).to_json()
    return histories


async def _record_recruitment(hiring: Hiring) -> dict[str, str]:
    from activities.seed_recruitment import demo_application
    from schemas import recruitment as rc
    from tests.test_eligibility_register import _certify, _register

    histories: dict[str, str] = {}
    handle = await hiring.open(checks=["criminal", "mvr"])
    await hiring.approve_and_post(handle)
    await hiring.apply(handle, [demo_application(n) for n in range(1, 4)] + [demo_application(4, clerical=1)])
    await hiring.close_applications(handle)
    await hiring.confirm_screen(handle)
    await hiring.score_step(handle, "oral-board", {"A001": 90, "A002": 80, "A003": 70})
    await hiring.select_offer_accept(handle, "A001")
    await hiring.wait_for_step(handle, "background-1")
    await hiring.record_check(handle, "A001", "criminal", rc.POTENTIALLY_DISQUALIFYING)
    await hiring.record_check(handle, "A001", "mvr")
    await hiring.wait_for_step(handle, "candidate-answer-1")
    await hiring.decide(handle, "E1006", "responded", comment="court record shows the charge dismissed")
    await hiring.wait_for_step(handle, "background-decision-1")
    await hiring.decide(handle, "E1005", "proceed", comment="dismissed charge; not job related")
    await handle.result()
    histories["recruitment_hired_after_background_answer"] = (await handle.fetch_history()).to_json()

    register = await _register(hiring, max_history_events=40)
    for n in range(1, 5):
        await _certify(register, f"r{n}")
    history = await hiring.client.get_workflow_handle(
        register.id, run_id=register.result_run_id
    ).fetch_history()
    histories["eligibility_register_first_run"] = history.to_json()
    await register.terminate("recorded")
    return histories


async def main() -> None:
    """Records the named sets (``review``, ``recruitment``), or all of them."""
    wanted = set(sys.argv[1:]) or {"review", "recruitment"}
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=venv_binary("temporal-test-server"), data_converter=pydantic_data_converter
    )
    await env.client.operator_service.add_search_attributes(
        AddSearchAttributesRequest(namespace=env.client.namespace, search_attributes=indexed_types())
    )
    smtp = SmtpSink().start()
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/hr.db"
        engine = make_engine(url)
        seed_city(engine)
        settings = Settings(database_url=url, smtp_host=smtp.host, smtp_port=smtp.port)
        queue = f"record-{uuid.uuid4().hex[:6]}"
        histories: dict[str, str] = {}
        async with build_worker(env.client, settings, engine, task_queue=queue):
            if "review" in wanted:
                histories |= await _record(Review(env=env, engine=engine, smtp=smtp, task_queue=queue))
            if "recruitment" in wanted:
                histories |= await _record_recruitment(
                    Hiring(env=env, engine=engine, smtp=smtp, task_queue=queue)
                )
    smtp.stop()
    await env.shutdown()
    HERE.mkdir(exist_ok=True)
    for name, text in histories.items():
        (HERE / f"{name}.json").write_text(text)
        print(f"wrote {HERE / name}.json")


if __name__ == "__main__":
    asyncio.run(main())
