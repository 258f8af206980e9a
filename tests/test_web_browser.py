"""End to end in a real browser (Debian's headless chromium, driven by Playwright): the decision
link from the e-mail the SMTP server received signs the supervisor in for the review step; a
request for changes without a comment is refused with the workflow's reason on the page; the
approval is taken and the review moves on to its next stage.

Set ``HR_TEST_SCREENSHOTS`` to a folder to keep the screenshots (they go to the test's
temporary folder otherwise). The browser is never downloaded: ``/usr/bin/chromium`` is used.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from playwright.async_api import async_playwright

from schemas import jd_review as jd
from schemas.human_step import DecisionInput, DecisionReceipt
from web.server import web_running

if TYPE_CHECKING:  # imported by pytest as a plugin (below)
    from tests.web_stack import WebStack

pytest_plugins = ["tests.dev_server", "tests.web_stack"]

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]


async def test_a_decision_link_opened_in_chromium_signs_off_a_review_step(
    web_stack: WebStack, tmp_path: Path
):
    if not CHROMIUM.exists():  # a missing browser is a failure, never a skip
        pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium (.ci/run does)")
    handle, status = await web_stack.open_review()
    supervisor, *others = status.open_steps[0].pending
    for person in others:  # everyone else answers first (signed, as their own clients do)
        await handle.execute_update(
            "decide",
            DecisionInput(actor_id=person, decision="approve", step_id="review-1"),
            result_type=DecisionReceipt,
        )
    link = await web_stack.link_mailed_to(supervisor, handle.id)
    port = int(web_stack.settings.web_url.rsplit(":", 1)[1])
    shots = tmp_path / "screens"
    shots.mkdir()
    async with web_running(web_stack.settings, web_stack.engine, web_stack.client, port=port):
        async with async_playwright() as playwright:
            chromium = await playwright.chromium.launch(
                executable_path=str(CHROMIUM), headless=True, args=ARGS
            )
            page = await chromium.new_page(viewport={"width": 390, "height": 844})  # a phone
            await page.goto(link)
            assert await page.locator("h1").inner_text() == "Review the draft (round 1)"
            assert "Human Resources" in await page.locator("#redline").inner_text()
            await page.check("input[value=request_changes]")
            await page.click("button[type=submit] >> text=Send")
            refusal = await page.locator("#refusal").inner_text()
            assert "decision 'request_changes' at step review-1 needs a comment" in refusal
            await page.screenshot(path=str(shots / "auth-refused.png"))
            await page.check("input[value=approve]")
            await page.fill("#comment", "Reads right; approved from the e-mail link.")
            await page.click("button[type=submit] >> text=Send")
            confirmation = await page.locator("#confirmation").inner_text()
            assert "approve recorded (step closed)" in confirmation
            await page.screenshot(path=str(shots / "auth-confirmation.png"), full_page=True)
            await chromium.close()
    moved = await web_stack.wait_for(handle, lambda s: s.stage not in (jd.DRAFTING, jd.REVIEW))
    assert moved.stage in (jd.UNION, jd.SIGNATURES)
    assert not any(s.step_id == "review-1" for s in moved.open_steps)
    if keep := os.environ.get("HR_TEST_SCREENSHOTS"):
        Path(keep).mkdir(parents=True, exist_ok=True)
        for shot in shots.iterdir():
            shutil.copy(shot, Path(keep) / shot.name)
    await handle.terminate("done")
