"""The worker's capacity comes from HR_WORKER_* settings, and it keeps compiled workflow code."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from service.settings import Settings
from worker import capacity


def test_the_worker_capacity_is_read_from_hr_worker_variables():
    settings = Settings.from_env(
        {
            "HR_WORKER_MAX_CACHED_WORKFLOWS": "250",
            "HR_WORKER_MAX_CONCURRENT_WORKFLOW_TASKS": "7",
            "HR_WORKER_MAX_CONCURRENT_ACTIVITIES": "9",
            "HR_WORKER_ACTIVITY_THREADS": "9",
        }
    )
    options = capacity(settings)
    pool = options.pop("activity_executor")
    assert options == {
        "max_cached_workflows": 250,
        "max_concurrent_workflow_tasks": 7,
        "max_concurrent_activities": 9,
    }
    assert pool._max_workers == 9
    pool.shutdown()
    # the defaults: as many activity slots as threads (the SDK warns otherwise)
    defaults = capacity(Settings.from_env({}))
    assert defaults["max_concurrent_activities"] == defaults["activity_executor"]._max_workers
    defaults["activity_executor"].shutdown()


def test_with_pythondontwritebytecode_the_worker_still_caches_bytecode_outside_the_tree(tmp_path: Path):
    module = tmp_path / "some_workflow_module.py"
    module.write_text("VALUE = 1\n")
    prefix = tmp_path / "prefix"
    script = (
        "import sys, importlib, importlib.util\n"
        f"sys.path.insert(0, {str(tmp_path)!r})\n"
        f"sys.pycache_prefix = {str(prefix)!r}\n"
        "from worker import keep_bytecode\n"
        "keep_bytecode()\n"
        "import some_workflow_module\n"
        "print(importlib.util.cache_from_source(some_workflow_module.__file__))\n"
    )
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
    out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True)
    cached = Path(out.stdout.strip().splitlines()[-1])
    assert cached.is_file() and prefix in cached.parents
    assert not (tmp_path / "__pycache__").exists()
