"""Workflow code runs inside the SDK's sandbox, every line of it, the shared step code included.

Only activities, schemas and third-party modules are passed through (``worker.PASSED_THROUGH``);
the sandbox imports ``workflows.*`` afresh for each run, so its determinism checks apply there.
The proof: a wall-clock call put into the shared human step by this test fails the workflow task.
"""

from __future__ import annotations

import ast
import importlib.abc
import importlib.util
import sys
from pathlib import Path

from temporalio.api.enums.v1 import EventType

import workflows.human_step
from tests.harness_common import poll_until
from tests.review_harness import Review
from worker import PASSED_THROUGH

WORKFLOWS_DIR = Path(workflows.human_step.__file__).parent
OPENING = "        state = StepState(spec=spec, opened_at=workflow.now())"


class _PatchedModule(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Serves ``name`` from ``source`` instead of its file, to imports that look it up afresh."""

    def __init__(self, name: str, source: str, origin: str) -> None:
        self.name, self.source, self.origin = name, source, origin

    def find_spec(self, fullname, path, target=None):  # type: ignore[no-untyped-def]
        if fullname != self.name:
            return None
        return importlib.util.spec_from_loader(fullname, self, origin=self.origin)

    def exec_module(self, module) -> None:  # type: ignore[no-untyped-def]
        module.__file__ = self.origin
        exec(compile(self.source, self.origin, "exec"), module.__dict__)


async def test_a_wall_clock_call_in_the_shared_step_code_fails_the_workflow_task(review: Review):
    path = WORKFLOWS_DIR / "human_step.py"
    source = path.read_text()
    assert OPENING in source
    patched = _PatchedModule(
        "workflows.human_step",
        source.replace(OPENING, "        state = StepState(spec=spec, opened_at=datetime.now())"),
        str(path),
    )
    sys.meta_path.insert(0, patched)
    try:
        handle = await review.start()

        async def failures() -> list[str]:
            history = await handle.fetch_history()
            return [
                e.workflow_task_failed_event_attributes.failure.message
                for e in history.events
                if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED
            ]

        failed = await poll_until(failures, bool, timeout=30)
        assert "datetime.datetime.now" in failed[0]
    finally:
        sys.meta_path.remove(patched)
    await handle.terminate("test over")


def test_no_workflow_code_is_passed_through_the_sandbox():
    assert not any(name == "workflows" or name.startswith("workflows.") for name in PASSED_THROUGH)
    for module in sorted(WORKFLOWS_DIR.rglob("*.py")):
        tree = ast.parse(module.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.With) and "imports_passed_through" in ast.unparse(node.items[0]):
                names = [
                    name
                    for n in node.body
                    if isinstance(n, ast.Import | ast.ImportFrom)
                    for name in ([a.name for a in n.names] if isinstance(n, ast.Import) else [n.module])
                ]
                assert not [n for n in names if n and n.startswith("workflows")], module
