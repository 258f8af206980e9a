"""Recorded histories replay against today's workflow code (``python -m tests.record_histories``).

A change that would break runs in flight fails here; make it with ``workflow.patched`` or a new
workflow version instead.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

from worker import WORKFLOWS

HISTORIES = sorted((Path(__file__).parent / "histories").glob("*.json"))


def test_there_are_recorded_histories():
    assert {p.stem for p in HISTORIES} >= {
        "jd_review_adopted",
        "jd_review_rounds_no_response_tabled",
        "jd_sweep",
        "recruitment_hired_after_background_answer",
        "eligibility_register_first_run",
    }


@pytest.mark.parametrize("path", HISTORIES, ids=[p.stem for p in HISTORIES])
async def test_history_replays_without_nondeterminism(path: Path):
    history = WorkflowHistory.from_json(path.stem, path.read_text())
    replayer = Replayer(workflows=WORKFLOWS, data_converter=pydantic_data_converter)
    result = await replayer.replay_workflow(history, raise_on_replay_failure=True)
    assert result.replay_failure is None
