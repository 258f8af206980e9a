"""``hr recruitment`` and ``hr register`` end to end: the CLI as subprocesses, on the dev server.

One recruitment from opening to hire: imports checked whole (a duplicate or a bad row refuses
the file and changes nothing), the screen confirmed, the oral board scored from CSV files and
single scores (out-of-range and unassigned scores refused), a selection and an offer of a name
not certified refused, then offer, acceptance, a clear check and the hire; the register's
table; the search attributes and current details the Web UI shows while the panel scores.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from temporalio.api.sdk.v1 import WorkflowMetadata
from temporalio.client import WorkflowHandle

from schemas import recruitment as rc
from schemas.human_step import DecisionInput, DecisionReceipt
from schemas.search_attributes import HR_ACTION_TYPE, HR_CLASS_CODE, HR_PENDING_APPROVERS, HR_STAGE

if TYPE_CHECKING:  # imported by pytest as a plugin (below), so that its asserts are rewritten
    from tests.dev_server import Run, Stack

pytest_plugins = ["tests.dev_server"]

HR_SUPERVISOR = "E1005"
REQUESTER = "E1008"
HR_REVIEWER = "E1006"
HIRING_MANAGER = "E1015"
PANEL = ["E1010", "E1015", "E1016"]
ORAL = {"A001": 70, "A002": 90, "A003": 59, "A004": 80}
"""Every panel member gives the same score: finals equal these; A003 is below the 60 pass point."""

APPLICANTS = """name,email,education,experience,answer_1
Avery Lindqvist,avery@example.org,vocational,bookkeeping=3;clerical=3,Kept the books.
Blake Okafor,blake@example.org,associate,bookkeeping=4;clerical=2,Reconciled statements.
Casey Moreau,casey@example.org,bachelor,bookkeeping=2;clerical=5,Assisted the director.
Devon Iyer,devon@example.org,vocational,bookkeeping=3;clerical=3,Payables and receivables.
"""
DUPLICATE = """name,email,education,experience
Emery Castellanos,emery@example.org,vocational,bookkeeping=3;clerical=3
Blake Okafor,Blake@Example.org,associate,bookkeeping=4;clerical=2
"""
BAD_ROW_3 = """name,email,education,experience
Emery Castellanos,emery@example.org,vocational,bookkeeping=3;clerical=3
Finley Haugen,finley@example.org,associate,bookkeeping=2;clerical=3
Gray Nakashima,gray-at-example.org,vocational,bookkeeping=3;clerical=2
"""


def scores_csv(folder: Path, name: str, applicants: list[str]) -> str:
    path = folder / name
    path.write_text("applicant_id,score\n" + "".join(f"{a},{ORAL[a]}\n" for a in applicants))
    return str(path)


async def status_of(handle: WorkflowHandle) -> rc.RecruitmentStatus:
    return await handle.query("status", result_type=rc.RecruitmentStatus)


async def wait_until(
    handle: WorkflowHandle, what: str, ready: Callable[[rc.RecruitmentStatus], bool], timeout: float = 30
) -> rc.RecruitmentStatus:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        status = await status_of(handle)
        if ready(status):
            return status
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"{handle.id} never reached {what}; stage {status.stage}")
        await asyncio.sleep(0.1)


def step_open(step_id: str) -> Callable[[rc.RecruitmentStatus], bool]:
    return lambda s: any(st.step_id == step_id and st.pending for st in s.open_steps)


async def pending_approvers(handle: WorkflowHandle, expected: list[str]) -> list[str]:
    """``HrPendingApprovers`` once it equals ``expected`` (or its last value after a few seconds)."""
    deadline = asyncio.get_running_loop().time() + 5
    while True:
        attrs = (await handle.describe()).typed_search_attributes
        pending = sorted(attrs.get(HR_PENDING_APPROVERS) or [])
        if pending == expected or asyncio.get_running_loop().time() > deadline:
            return pending
        await asyncio.sleep(0.1)


def ok(run: Run) -> str:
    assert run.code == 0, run.err
    return run.out


def refused(run: Run, *fragments: str) -> str:
    assert run.code == 1, run.out
    message = run.err.strip()
    assert len(message.splitlines()) == 1, message
    for fragment in fragments:
        assert fragment in message, message
    return message


def table_row(output: str, applicant_id: str) -> list[str]:
    """The candidates table's row of ``applicant_id`` (``hr recruitment status``), as words."""
    return next(line.split() for line in output.splitlines() if line.split()[:1] == [applicant_id])


def register_row(output: str, applicant_id: str) -> list[str]:
    """The register table's row of ``applicant_id`` (``hr register show``): rank, id, name, …"""
    return next(line.split() for line in output.splitlines() if line.split()[1:2] == [applicant_id])


async def test_a_recruitment_from_the_command_line_to_the_hire(stack: Stack, tmp_path: Path) -> None:
    rid = f"R-E2E-{uuid.uuid4().hex[:6]}"
    wid = rc.recruitment_workflow_id(rid)
    handle = stack.client.get_workflow_handle(wid, result_type=rc.RecruitmentResult)
    applicants, duplicate, bad = tmp_path / "applicants.csv", tmp_path / "dup.csv", tmp_path / "bad.csv"
    applicants.write_text(APPLICANTS)
    duplicate.write_text(DUPLICATE)
    bad.write_text(BAD_ROW_3)

    # --- open, approve, import: all before the close, 30 s away (each `hr` starts slowly under load)
    opened = ok(await stack.hr("recruitment", "open", rid, "--as", REQUESTER, "--demo", "--closes-in", "30s"))
    assert f"started {wid}: Recruitment {rid} ITAT: Information Technology Accounting Technician" in opened
    await wait_until(handle, "announcement-1", step_open("announcement-1"))
    await handle.execute_update(
        "decide", DecisionInput(actor_id=HR_SUPERVISOR, decision="approve"), result_type=DecisionReceipt
    )
    await wait_until(handle, "accepting", lambda s: s.stage == rc.ACCEPTING)

    imported = ok(await stack.hr("recruitment", "import", rid, "--as", REQUESTER, str(applicants)))
    assert f"imported 4 application(s) from applicants.csv into {wid}: A001, A002, A003, A004" in imported
    refused(
        await stack.hr("recruitment", "import", rid, "--as", REQUESTER, str(duplicate)),
        "dup.csv refused: row 2: duplicate application: this applicant is A002",
        "nothing imported",
    )
    assert (await status_of(handle)).counts.applied == 4

    desc = await handle.describe()
    assert await desc.static_summary() == (
        f"Recruitment {rid} ITAT: Information Technology Accounting Technician (1 vacancy)"
    )
    assert desc.typed_search_attributes.get(HR_ACTION_TYPE) == rc.ACTION_TYPE
    assert desc.typed_search_attributes.get(HR_CLASS_CODE) == "ITAT"

    # --- a file with a bad row is refused whole, before anything is sent -------------------------
    refused(
        await stack.hr("recruitment", "import", rid, "--as", REQUESTER, str(bad)),
        "bad.csv refused, nothing sent: row 3: email 'gray-at-example.org' is not an e-mail address",
    )

    # --- the close, the screen -----------------------------------------------------------------
    await wait_until(handle, "mq-review", step_open("mq-review"))
    assert json.loads(ok(await stack.hr("recruitment", "status", rid, "--json")))["counts"]["applied"] == 4
    ok(await stack.hr("recruitment", "confirm-screen", rid, "--as", HR_REVIEWER))

    # --- the oral board (four qualified: no supplemental review) -----------------------------------
    status = await wait_until(handle, "oral-board", step_open("oral-board"))
    assert sorted(status.assignments["oral-board"]) == PANEL
    attrs = (await handle.describe()).typed_search_attributes
    assert attrs.get(HR_ACTION_TYPE) == rc.ACTION_TYPE and attrs.get(HR_STAGE) == rc.ORAL_BOARD
    assert await pending_approvers(handle, PANEL) == PANEL

    scored = ok(
        await stack.hr(
            "recruitment",
            "score",
            rid,
            "--as",
            "E1010",
            "--file",
            scores_csv(tmp_path, "e1010.csv", list(ORAL)),
        )
    )
    assert "recorded 4 score(s) by E1010 at oral-board" in scored and "every assigned candidate" in scored
    assert await pending_approvers(handle, ["E1015", "E1016"]) == ["E1015", "E1016"]

    refused(
        await stack.hr("recruitment", "score", rid, "--as", "E1015", "--applicant", "A001", "--score", "101"),
        "refused: A001: 101 is outside 0-100",
    )
    refused(
        await stack.hr("recruitment", "score", rid, "--as", "E1015", "--applicant", "A005", "--score", "80"),
        "refused: A005: A005 is not assigned to E1015",
    )
    ok(
        await stack.hr(
            "recruitment",
            "score",
            rid,
            "--as",
            "E1015",
            "--file",
            scores_csv(tmp_path, "e1015.csv", list(ORAL)),
        )
    )
    assert await pending_approvers(handle, ["E1016"]) == ["E1016"]
    metadata = await handle.query("__temporal_workflow_metadata", result_type=WorkflowMetadata)
    assert "**Stage:** oral_board" in metadata.current_details
    assert "**Counts:** applied 4 · qualified 4 · oral board 4 · on register 0" in metadata.current_details

    partial = ok(
        await stack.hr(
            "recruitment",
            "score",
            rid,
            "--as",
            "E1016",
            "--step",
            "oral-board",
            "--file",
            scores_csv(tmp_path, "e1016.csv", ["A001", "A002", "A003"]),
        )
    )
    assert "still to score: A004" in partial
    last = ok(
        await stack.hr("recruitment", "score", rid, "--as", "E1016", "--applicant", "A004", "--score", "80")
    )
    assert "E1016 has scored every assigned candidate" in last

    # --- the register, certification, selection ---------------------------------------------------
    await wait_until(handle, "selection-1", step_open("selection-1"))
    shown = ok(await stack.hr("recruitment", "status", rid))
    assert "stage: selection" in shown
    assert "counts: applied 4 · qualified 4 · oral board 4 · on register 3" in shown
    assert f"waiting for: {HIRING_MANAGER}" in shown
    ranks = {a: table_row(shown, a) for a in ORAL}  # ... FINAL RANK DISPOSITION
    assert {a: (row[-3], row[-2], row[-1]) for a, row in ranks.items()} == {
        "A002": ("90", "1", "on_register"),
        "A004": ("80", "2", "on_register"),
        "A001": ("70", "3", "on_register"),
        "A003": ("59", "-", "did_not_pass"),
    }
    assert "certified: A002, A004, A001" in shown

    register = ok(await stack.hr("register", "show", rid))
    assert register_row(register, "A002")[:4] == ["1", "A002", "Blake", "Okafor"]
    assert register_row(register, "A004")[:4] == ["2", "A004", "Devon", "Iyer"]
    assert "A003" not in register  # below the pass point: not on the register

    # a later vacancy certifies from the register; a candidate who withdraws is taken off it
    certified = ok(
        await stack.hr("register", "certify", rid, "--as", HR_REVIEWER, "--request-id", "IT-REQ-7")
    )
    assert "A002 Blake Okafor, A004 Devon Iyer, A001 Avery Lindqvist" in certified
    refused(
        await stack.hr(
            "register", "remove", rid, "--as", HR_REVIEWER, "--applicant", "A001", "--reason", "bored"
        ),
        "refused: reason must be one of withdrawn",
    )
    ok(
        await stack.hr(
            "register", "remove", rid, "--as", HR_REVIEWER, "--applicant", "A001", "--reason", "withdrawn"
        )
    )
    register = ok(await stack.hr("register", "show", rid))
    # certified twice: by the recruitment, then for the later vacancy
    assert register_row(register, "A001")[-3:] == ["removed", "(withdrawn)", "2"]
    assert register_row(register, "A002")[-2:] == ["active", "2"]

    refused(
        await stack.hr("recruitment", "select", rid, "--as", HIRING_MANAGER, "--applicant", "A003"),
        # the register told the recruitment that A001 withdrew
        "refused: A003 is not certified to the department (certified: A002, A004)",
    )
    ok(await stack.hr("recruitment", "select", rid, "--as", HIRING_MANAGER, "--applicant", "A004"))

    # --- offer, acceptance, background check, hire ----------------------------------------------------
    await wait_until(handle, "offer-1", step_open("offer-1"))
    start = (date.today() + timedelta(days=30)).isoformat()
    refused(
        await stack.hr(
            "recruitment", "offer", rid, "--as", HR_REVIEWER, "--applicant", "A003", "--start-date", start
        ),
        "refused: A003 is not certified to the department",
    )
    offered = ok(
        await stack.hr(
            "recruitment", "offer", rid, "--as", HR_REVIEWER, "--applicant", "A004", "--start-date", start
        )
    )
    assert f"conditional offer made to A004: position P-ITAT-02, start {start}" in offered
    await wait_until(handle, "offer-answer-1", step_open("offer-answer-1"))
    ok(await stack.hr("recruitment", "answer-offer", rid, "accept", "--as", HR_REVIEWER))
    await wait_until(handle, "background-1", step_open("background-1"))
    checked = ok(
        await stack.hr(
            "recruitment", "check", rid, "--as", HR_REVIEWER, "--applicant", "A004", "--check", "criminal",
            "--result", "clear",
        )
    )  # fmt: skip
    assert "checks so far: criminal clear" in checked

    result = await asyncio.wait_for(handle.result(), 30)
    assert (result.outcome, result.applicant_id) == (rc.HIRED, "A004")
    final = ok(await stack.hr("recruitment", "status", rid))
    assert "Completed" in final.splitlines()[0] and "stage: hired" in final
    assert f"outcome: hired (employee {result.employee_id})" in final
    assert table_row(final, "A004")[-1] == "hired"
    assert (await handle.describe()).typed_search_attributes.get(HR_STAGE) == rc.HIRED

    deadline = asyncio.get_running_loop().time() + 10
    while "hired" not in register_row((register := ok(await stack.hr("register", "show", rid))), "A004"):
        assert asyncio.get_running_loop().time() < deadline, register
        await asyncio.sleep(0.3)
    assert "closed · vacancies filled 1/1 (P-ITAT-02)" in register


async def test_the_recruitment_demo_runs_to_a_hire(stack: Stack) -> None:
    from cli.recruitment_demo import run_recruitment_demo

    lines: list[str] = []
    result = await run_recruitment_demo(
        stack.client, stack.settings, stack.engine, echo=lines.append, close_in=timedelta(seconds=3)
    )

    assert result.outcome == rc.HIRED and result.applicant_id == "A004", lines
    assert "  selection-1: E1015 select A004 (step closed)" in lines
    assert any(line.startswith("  mq-review: E1006 overrides A009: qualified") for line in lines)
    assert (
        "  register: 1. A001 82, 2. A004 78, 3. A002 76, 4. A003 76, 5. A005 60; A007 54 did not pass"
        in lines
    )
    table = "\n".join(lines).split("CERTIFIED", 1)[1]  # the register, printed last
    assert register_row(table, "A004")[1:6] == ["A004", "Applicant", "04", "78", "90"]
    assert register_row(table, "A004")[-2] == "hired"
