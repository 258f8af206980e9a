"""The Temporal Web UI in a real browser (Debian's chromium, headless, driven by Playwright).

A dev server of its own with its Web UI and the codec server (the UI's codec endpoint carries
the token in its path, as `hr dev` gives it); a worker and seed 001's recruitment, applicants'
names and all, run to a hire with the payload codec on. Then, in Chromium:

- the workflow list filtered by ``HrActionType`` shows the recruitment and nothing else;
- the detail page shows the summary and the current details (User Metadata), the input decoded
  and, in the timeline, readable summaries of the timers ("reminder offer-answer-1") and
  activities ("notify step_opened …");
- the event history, decoded with the codec token, shows the applicants' names (the import
  Update's input); the same page with the token stripped from the codec requests shows only
  ciphertext.

Screenshots go to the test's output folder (printed at the end).
"""

from __future__ import annotations

import re
import secrets
import uuid
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote

import pytest
from playwright.async_api import Browser, Page, Route, async_playwright
from temporalio.testing import WorkflowEnvironment

from activities.db import create_schema, make_engine
from cli.recruitment_demo import run_recruitment_demo
from schemas import recruitment as rc
from schemas.search_attributes import ALL_KEYS
from service.codec import codec_from_settings, data_converter, new_key
from service.codec_server import CodecServer, ui_origins
from service.settings import Settings
from tests.signing import signing_interceptors
from tests.smtp_server import _free_port as free_port
from worker import build_worker

CHROMIUM = "/usr/bin/chromium"
"""Debian's chromium (`apt-get install chromium`; .ci/run installs it): Playwright never downloads one."""
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
WAIT_MS = 20_000


async def _body_text(page: Page) -> str:
    """The page's text and that of its frames (the UI renders summaries and details in iframes)."""
    parts = [await page.inner_text("body")]
    for frame in page.frames:
        if frame is not page.main_frame:
            try:
                parts.append(await frame.inner_text("body", timeout=2000))
            except Exception:  # noqa: BLE001 (a frame without a body)
                pass
    return "\n".join(parts)


async def _wait_for_text(page: Page, *texts: str, timeout_ms: int = WAIT_MS) -> str:
    """Polls the page (and its frames) until every text is shown; returns the text."""
    waited = 0
    while True:
        shown = await _body_text(page)
        if all(t in shown for t in texts):
            return shown
        if waited >= timeout_ms:
            missing = [t for t in texts if t not in shown]
            raise AssertionError(f"not shown on {page.url}: {missing}")
        await page.wait_for_timeout(250)
        waited += 250


@pytest.fixture
def chromium_path() -> str:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium (.ci/run does)")
    return CHROMIUM


async def test_the_web_ui_shows_a_recruitment_decoded_only_with_the_token(chromium_path, tmp_path):
    from tests.dev_server import temporal_cli

    screens = tmp_path / "screens"
    screens.mkdir()
    ui_port = free_port()
    token = secrets.token_urlsafe(16)
    settings = Settings(
        codec_key=new_key(),
        database_url=f"sqlite:///{tmp_path / 'hr.db'}",
        task_queue=f"ui-{uuid.uuid4().hex[:6]}",
        ui_url=f"http://localhost:{ui_port}",
    )
    codec = codec_from_settings(settings)
    assert codec is not None
    codec_server = CodecServer(codec, auth_token=token, allowed_origins=ui_origins(settings.ui_url)).start()
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=temporal_cli(),
        search_attributes=ALL_KEYS,
        data_converter=data_converter(settings),
        ui=True,
        ui_port=ui_port,
        dev_server_extra_args=["--ui-codec-endpoint", codec_server.endpoint, "--ui-disable-news-fetch"],
        dev_server_log_level="error",
        interceptors=signing_interceptors(),
    )
    engine = make_engine(settings.database_url)
    try:
        create_schema(engine)
        target = env.client.service_client.config.target_host
        settings = settings.model_copy(update={"temporal_address": target})
        async with build_worker(env.client, settings, engine):
            result = await run_recruitment_demo(
                env.client, settings, engine, echo=lambda _: None, close_in=timedelta(seconds=5)
            )
            assert result.outcome == rc.HIRED
            async with async_playwright() as playwright:
                browser = await playwright.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
                try:
                    await _look(browser, settings, result, token, screens, env)
                finally:
                    await browser.close()
    finally:
        await env.shutdown()
        codec_server.stop()
        engine.dispose()
    print(f"screenshots in {screens}")


async def _look(
    browser: Browser,
    settings: Settings,
    result: rc.RecruitmentResult,
    token: str,
    screens: Path,
    env: WorkflowEnvironment,
) -> None:
    base = f"{settings.ui_url}/namespaces/default"
    workflow_id = rc.recruitment_workflow_id(result.recruitment_id)
    history = await env.client.get_workflow_handle(workflow_id).fetch_history()
    run_id = history.run_id
    apply_event = next(
        e.event_id
        for e in history.events
        if e.HasField("workflow_execution_update_accepted_event_attributes")
        and e.workflow_execution_update_accepted_event_attributes.accepted_request.input.name == "apply"
    )
    page = await browser.new_page(viewport={"width": 1400, "height": 1000})

    # the list, filtered by HrActionType: the recruitment only (not its register, not the onboarding)
    query = quote(f'HrActionType="{rc.ACTION_TYPE}"')
    await page.goto(f"{base}/workflows?query={query}")
    listed = await _wait_for_text(page, workflow_id, "Recruitment")
    assert result.register_workflow_id not in listed and f"onboarding-{result.employee_id}" not in listed
    await page.screenshot(path=screens / "1-list-filtered-by-HrActionType.png", full_page=True)

    # the detail page: the input decoded, readable timers and activities in the timeline
    await page.goto(f"{base}/workflows/{workflow_id}")
    shown = await _wait_for_text(
        page, '"recruitment_id"', '"requested_by"', "notify step_opened ", "record audit "
    )
    # a step's reminder timer, by its summary: "reminder <step id>" (the timeline shows the latest rows)
    assert re.search(r"^reminder [a-z]+(-[a-z]+)*-\d+$", shown, re.MULTILINE), shown[-3000:]
    await page.screenshot(path=screens / "2-detail-decoded-timeline.png", full_page=True)

    # the summary and the current details
    await page.get_by_role("tab", name="User Metadata").click()
    await _wait_for_text(
        page,
        f"Recruitment {result.recruitment_id} ITAT: Information Technology Accounting Technician",
        "Stage:",
        "hired",
        "Counts:",
    )
    await page.screenshot(path=screens / "3-summary-and-current-details.png", full_page=True)

    # the event history, decoded with the token: the applicants' names of the import (its event)
    event_url = f"{base}/workflows/{workflow_id}/{run_id}/history/events/{apply_event}"
    await page.goto(event_url)
    await page.wait_for_timeout(3000)
    await page.screenshot(path=screens / "4-history-decoded-with-token.png", full_page=True)
    await _wait_for_text(page, "Applicant 01", "applicant01@example.org")

    # the same pages with the token stripped from every codec request: ciphertext only
    refused: list[int] = []
    without = await browser.new_context(viewport={"width": 1400, "height": 1000})

    async def strip_token(route: Route) -> None:
        response = await route.fetch(url=route.request.url.replace(f"/t/{token}", ""))
        refused.append(response.status)
        await route.fulfill(response=response)

    await without.route(f"**/t/{token}/**", strip_token)
    bare = await without.new_page()
    await bare.goto(f"{base}/workflows/{workflow_id}")
    await _wait_for_text(bare, "Input", "Result")
    await bare.wait_for_timeout(2000)
    shown = await _body_text(bare)
    assert '"recruitment_id"' not in shown and '"requested_by"' not in shown
    await bare.screenshot(path=screens / "5-detail-encrypted-without-token.png", full_page=True)
    await bare.goto(event_url)
    await _wait_for_text(bare, "Update Accepted")
    await bare.wait_for_timeout(2000)
    shown = await _body_text(bare)
    assert "Applicant 01" not in shown and "applicant01@example.org" not in shown
    assert '"encoding": "YmluYXJ5L2VuY3J5cHRlZA=="' in shown  # base64 of binary/encrypted: ciphertext
    await bare.screenshot(path=screens / "6-history-encrypted-without-token.png", full_page=True)
    assert refused and set(refused) <= {401}, refused  # the codec server refused every request
    await without.close()
