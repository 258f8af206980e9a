"""Times ``record_step`` (a human step's records of one moment) on a SQLite file: issue 13.

    python -m bench.record_step_timing [-n 300] [--db /tmp/x.db]

Each call is one step moment as the review writes them, with keys of its own: a step opening
(the delegations looked up, the "opened" audit row, the invitation to three people), an answer
(its audit row), and an escalation (two audit rows, an escalation notice and an overdue notice).
Prints calls per second and milliseconds per moment, and how many commits the database saw.
Runs with whatever ``activities.notifications`` is on the path, so the same script measures a
tree before and after a change (``PYTHONPATH=<other tree> python -m bench.record_step_timing``).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path

from sqlalchemy import event

from activities.db import create_schema, make_engine
from activities.notifications import NotificationActivities
from activities.seed import seed_city
from schemas.human_step import AuditInput, DelegationQuery, NotifyInput, StepRecords

AT = datetime(2026, 1, 5, tzinfo=UTC)
PEOPLE = ["E1001", "E1008", "E1009"]


def _audit(wf: str, step: str, action: str) -> AuditInput:
    return AuditInput(
        key=f"{wf}:run:{step}:{action}",
        workflow_id=wf,
        run_id="run",
        step_id=step,
        actor_id="system",
        action=action,
        comment="to E1008: overdue E1001" if action.startswith("escalated") else None,
        at=AT,
    )


def _notice(wf: str, step: str, template: str, people: list[str], extra: dict[str, str]) -> NotifyInput:
    params = {
        "workflow_id": wf,
        "stage": "review",
        "step_id": step,
        "step_title": "Review the draft (round 1)",
        "due_at": "2026-01-19 17:00 UTC",
        "allowed": "approve, request_changes",
        "command": "hr decide",
    } | extra
    return NotifyInput(
        key=f"{wf}:run:{step}:{template}:{len(people)}",
        workflow_id=wf,
        run_id="run",
        recipient_ids=people,
        template=template,
        params=params,
    )


def moments(i: int) -> list[StepRecords]:
    wf = f"bench-{i}"
    return [
        StepRecords(
            audits=[_audit(wf, "review-1", "opened")],
            notices=[_notice(wf, "review-1", "step_opened", PEOPLE, {})],
            delegations=DelegationQuery(person_ids=PEOPLE, on=date(2026, 1, 5)),
        ),
        StepRecords(audits=[_audit(wf, "review-1", "answer:E1001")]),
        StepRecords(
            audits=[_audit(wf, "review-1", "escalated:E1008"), _audit(wf, "review-1", "escalated:E1009")],
            notices=[
                _notice(wf, "review-1", "escalation", ["E1008"], {"overdue": "E1001"}),
                _notice(wf, "review-1", "overdue", ["E1001"], {}),
            ],
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=300, help="review-like sets of three moments")
    parser.add_argument("--db", type=Path, default=None, help="the SQLite file (a fresh one by default)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = args.db or Path(tmp) / "hr.db"
        engine = make_engine(f"sqlite:///{path}")
        create_schema(engine)
        seed_city(engine)
        activities = NotificationActivities(engine)
        for records in moments(-1):  # warm up: imports, templates, the connection pool
            activities.record_step(records)
        commits = 0

        def committed(_conn: object) -> None:
            nonlocal commits
            commits += 1

        event.listen(engine, "commit", committed)
        per_moment: list[float] = []
        started = time.perf_counter()
        for i in range(args.n):
            for records in moments(i):
                t0 = time.perf_counter()
                activities.record_step(records)
                per_moment.append(time.perf_counter() - t0)
        elapsed = time.perf_counter() - started
        retry_started = time.perf_counter()
        for records in moments(0):  # a retry of moments on record: nothing new
            activities.record_step(records)
        retry = (time.perf_counter() - retry_started) / 3
        engine.dispose()
    calls = len(per_moment)
    print(
        f"{calls} moments in {elapsed:.2f} s: {calls / elapsed:.0f}/s, "
        f"mean {statistics.fmean(per_moment) * 1000:.2f} ms, "
        f"p50 {statistics.median(per_moment) * 1000:.2f} ms, "
        f"p95 {statistics.quantiles(per_moment, n=20)[18] * 1000:.2f} ms; "
        f"{commits / calls:.2f} commits per moment; a retried moment {retry * 1000:.2f} ms"
    )


if __name__ == "__main__":
    main()
