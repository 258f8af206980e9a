"""Logs carry ids only: no name or e-mail address in any format, no local variables in a
traceback, no pydantic input, one line per failed activity attempt.

The demos run as subprocesses, as a user runs them (``hr demo``, ``hr demo --recruitment``), each
on a dev server of its own with the codec on and ``HR_LOG_LEVEL=INFO``: the review in the console
format and the recruitment in JSON, side by side. A forced failure runs in both formats: this
module, run as ``python -m tests.test_logs_carry_no_pii``, starts a worker whose activity holds an
applicant's name and e-mail address in its locals and fails three times (an ``ApplicationError``,
a pydantic error that would echo the address, an SQL error with the person's values).
"""

from __future__ import annotations

import asyncio
import csv
import json
import logging
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
from collections.abc import Callable, Set
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import structlog
from pydantic import BaseModel, Field
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select
from temporalio import activity, workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError

from activities.db import make_engine
from activities.seed import PEOPLE, email_for
from activities.seed_recruitment import demo_application
from schemas.tables import Applicant, Person
from service.codec import new_key
from service.logging import configure_logging
from service.settings import Settings
from tests.signing import signing_interceptors

REPO = Path(__file__).resolve().parents[1]
HR = Path(sys.executable).parent / "hr"

NAME = "Jordan Q. Applicant"
EMAIL = "jordan.applicant@mail.example"
PROBE_WORKFLOW_ID = "pii-probe-R-1-A001"
ADDRESS = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")
"""Any e-mail address."""
TIMESTAMPED = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d")
"""How every console record starts; a traceback's lines do not."""


def personal_data() -> set[str]:
    """Every name and e-mail address the demos handle: the seeded city's people, the demo's
    applicants (``demo_application``) and those of ``examples/applicants.csv``, and the probe's."""
    found = {NAME, EMAIL}
    for person in PEOPLE:
        found |= {person.name, email_for(person.name)}
    for n in range(1, 10):
        application = demo_application(n)
        found |= {application.name, str(application.email)}
    with open(REPO / "examples" / "applicants.csv", newline="", encoding="utf-8") as rows:
        for row in csv.DictReader(rows):
            found |= {row["name"], row["email"]}
    return found


def stored_personal_data(db_file: Path) -> set[str]:
    """The names and e-mail addresses in a demo's store: its people (the seed's, and the one it
    hired) and its applicants."""
    engine = make_engine(f"sqlite:///{db_file}")
    try:
        with Session(engine) as session:
            found = {v for p in session.exec(select(Person)).all() for v in (p.name, p.email)}
            found |= {v for a in session.exec(select(Applicant)).all() for v in (a.name, a.email)}
    finally:
        engine.dispose()
    return found


def leaks(text: str, allowed_lines: re.Pattern[str] | None = None, also: Set[str] = frozenset()) -> list[str]:
    """The names and addresses in ``text`` (outside lines matching ``allowed_lines``)."""
    if allowed_lines is not None:
        text = "\n".join(line for line in text.splitlines() if not allowed_lines.match(line))
    named = sorted(item for item in personal_data() | also if item.lower() in text.lower())
    return named + [m.group(0) for m in ADDRESS.finditer(text)]


# --------------------------------------------------------------------------- in process


def _logged(capsys: pytest.CaptureFixture[str], emit: Callable[[], object], **settings: Any) -> str:
    """What ``emit()`` logs (on stderr) with logging configured from ``settings``."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    configure_logging(Settings(**settings))
    try:
        emit()
    finally:
        configure_logging(Settings())
        root.handlers[:] = handlers  # none left writing to capsys's stream after the test
        root.setLevel(level)
    return capsys.readouterr().err


def _fails_holding_an_address(applicant_id: str) -> None:
    applicant_email = EMAIL  # a local the traceback must not show
    applicant_name = NAME
    raise ValueError(
        f"applicant {applicant_id} could not be checked ({len(applicant_email + applicant_name)})"
    )


@pytest.mark.parametrize("log_format", ["console", "json"])
def test_a_traceback_shows_frames_but_no_local_variables(capsys, log_format: str) -> None:
    def emit() -> None:
        for logger in (structlog.get_logger("hr.test"), logging.getLogger("hr.test")):
            try:
                _fails_holding_an_address("A001")
            except ValueError:
                logger.exception("check failed")

    err = _logged(capsys, emit, log_format=log_format)
    assert not leaks(err), err
    if log_format == "json":
        records = [json.loads(line) for line in err.splitlines()]
        assert len(records) == 2
        shown = [record["exception"] for record in records]
    else:
        shown = err.split("check failed")[1:]
        assert "locals" not in err and "╭" not in err
    for traceback_text in shown:
        assert traceback_text.lstrip().startswith("Traceback (most recent call last):")
        assert "in _fails_holding_an_address" in traceback_text
        assert "ValueError: applicant A001 could not be checked" in traceback_text


class _Contact(BaseModel):
    email: str = Field(pattern=r"^[^@]+@[^@]+\.org$")


@pytest.mark.parametrize("log_format", ["console", "json"])
def test_a_pydantic_error_in_a_traceback_names_the_field_not_the_input(capsys, log_format: str) -> None:
    def emit() -> None:
        try:
            try:
                _Contact.model_validate({"email": EMAIL})
            except ValueError as err:
                raise RuntimeError("contact of A001 refused") from err
        except RuntimeError:
            structlog.get_logger("hr.test").exception("refused")

    err = _logged(capsys, emit, log_format=log_format)
    assert not leaks(err), err
    shown = json.loads(err)["exception"] if log_format == "json" else err
    assert "1 validation error for _Contact: email: string_pattern_mismatch" in shown
    assert "RuntimeError: contact of A001 refused" in shown


def _sdk_failed_attempt(attempt: int) -> None:
    """What the SDK logs when an activity attempt fails (``temporalio.worker._activity``)."""
    details = {
        "activity_id": "7",
        "activity_type": "check_applicant",
        "attempt": attempt,
        "namespace": "default",
        "task_queue": "q",
        "workflow_id": PROBE_WORKFLOW_ID,
        "workflow_run_id": "run-1",
        "workflow_type": "PiiProbe",
    }
    try:
        _fails_holding_an_address("A001")
    except ValueError:
        logging.getLogger("temporalio.activity").warning(
            f"Completing activity as failed ({details})",
            exc_info=True,
            extra={"__temporal_error_identifier": "ActivityFailure", "temporal_activity": details},
        )


@pytest.mark.parametrize("log_format", ["console", "json"])
def test_a_failed_activity_attempt_is_one_line_with_its_attempt_number(capsys, log_format: str) -> None:
    def three_attempts() -> None:
        for n in (1, 2, 3):
            _sdk_failed_attempt(n)

    err = _logged(capsys, three_attempts, log_format=log_format)

    assert not leaks(err), err
    lines = err.splitlines()
    assert len(lines) == 3, err
    if log_format == "json":
        records = [json.loads(line) for line in lines]
        for attempt, record in enumerate(records, start=1):
            assert record["event"] == "Completing activity as failed" and record["attempt"] == attempt
            assert (record["workflow_id"], record["run_id"]) == (PROBE_WORKFLOW_ID, "run-1")
            assert (record["activity"], record["error_type"]) == ("check_applicant", "ValueError")
            assert record["error"].startswith("applicant A001 could not be checked")
            assert "exception" not in record and "exc_info" not in record
            assert record["where"].endswith("in _fails_holding_an_address")
    else:
        for attempt, line in enumerate(lines, start=1):
            assert "Completing activity as failed" in line and f"attempt={attempt} " in line
            assert f"workflow_id={PROBE_WORKFLOW_ID}" in line and "run_id=run-1" in line
            assert "error_type=ValueError" in line and "Traceback" not in line


def test_the_sdk_says_no_more_than_info_and_its_warnings_stay_visible(capsys) -> None:
    def emit() -> None:
        assert logging.getLogger("temporalio").getEffectiveLevel() == logging.INFO
        logging.getLogger("temporalio.worker._activity").debug(
            "Completing activity with completion: %s", EMAIL
        )
        logging.getLogger("temporalio.worker").warning("worker warning for A001")
        structlog.get_logger("hr.test").debug("our own debug record")

    err = _logged(capsys, emit, log_level="DEBUG")
    assert EMAIL not in err and "worker warning for A001" in err and "our own debug record" in err


def test_sql_errors_do_not_show_the_parameters() -> None:
    engine = make_engine("sqlite://")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE person (id TEXT PRIMARY KEY, name TEXT, email TEXT UNIQUE)"))
        conn.execute(text("INSERT INTO person VALUES ('E1', :name, :email)"), {"name": NAME, "email": EMAIL})
    with pytest.raises(IntegrityError) as caught, engine.begin() as conn:
        conn.execute(text("INSERT INTO person VALUES ('E2', :name, :email)"), {"name": NAME, "email": EMAIL})
    assert "UNIQUE constraint failed: person.email" in str(caught.value)
    assert NAME not in str(caught.value) and EMAIL not in str(caught.value)
    engine.dispose()


# --------------------------------------------------------------------------- subprocesses


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env(folder: Path, log_format: str) -> dict[str, str]:
    """A state of its own (dev server, store, ports), the codec on, logs at INFO."""
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("HR_")}
    env.update(
        HR_TEMPORAL_ADDRESS=f"localhost:{_free_port()}",
        HR_UI_URL=f"http://localhost:{_free_port()}",
        HR_CODEC_PORT=str(_free_port()),
        HR_CODEC_KEY=new_key(),
        HR_DEV_DB_FILENAME=str(folder / "temporal-dev.db"),
        HR_DATABASE_URL=f"sqlite:///{folder / 'hr.db'}",
        HR_LOG_FORMAT=log_format,
        HR_LOG_LEVEL="INFO",
        CI="1",
    )
    return env


class _Run:
    """A subprocess whose stdout and stderr go to files (no pipe to fill up)."""

    def __init__(self, args: list[str], folder: Path, log_format: str) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.folder, self.log_format = folder, log_format
        self._out, self._err = open(folder / "stdout", "wb"), open(folder / "stderr", "wb")
        self.proc = subprocess.Popen(
            args, cwd=REPO, env=_env(folder, log_format), stdout=self._out, stderr=self._err
        )

    def wait(self, timeout: float) -> tuple[int, str, str]:
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.send_signal(signal.SIGTERM)  # stops its dev server too
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            raise
        finally:
            self._out.close()
            self._err.close()
        return code, (self.folder / "stdout").read_text(), (self.folder / "stderr").read_text()


def _records(err: str, log_format: str) -> list[str]:
    """The log's lines, each checked to be one whole record of its format."""
    lines = [line for line in err.splitlines() if line.strip()]
    for line in lines:
        if log_format == "json":
            assert isinstance(json.loads(line), dict), line
        else:
            assert TIMESTAMPED.match(line), f"not a record of its own: {line!r}"
    return lines


REGISTER_ROW = re.compile(r"^\s+\d+\s+A\d{3}\s")
"""A row of the register table the recruitment demo prints at the end (as ``hr register show``
does): it shows the applicant's name by design. It is the demo's output, not its log."""


def test_the_demos_log_ids_only(tmp_path: Path) -> None:
    review = _Run([str(HR), "demo", "--no-keep-running"], tmp_path / "review", "console")
    recruitment = _Run(
        [str(HR), "demo", "--recruitment", "--no-keep-running"], tmp_path / "recruitment", "json"
    )
    sizes = {}
    for run, logged, people in ((review, "audit recorded", 30), (recruitment, "hire recorded", 30 + 9)):
        code, out, err = run.wait(timeout=240)
        assert code == 0, err[-3000:]
        stored = stored_personal_data(run.folder / "hr.db")
        assert len(stored) >= 2 * people
        lines = _records(err, run.log_format)
        sizes[run.log_format] = (len(lines), len(err))
        assert logged in err  # INFO records were written
        assert not leaks(err, also=stored), leaks(err, also=stored)
        in_output = leaks(out, allowed_lines=REGISTER_ROW, also=stored)
        assert not in_output, in_output
    print(f"log lines and characters: {sizes}")


@pytest.mark.parametrize("log_format", ["console", "json"])
def test_a_failing_activity_logs_one_line_per_attempt(tmp_path: Path, log_format: str) -> None:
    run = _Run([sys.executable, "-m", "tests.test_logs_carry_no_pii"], tmp_path, log_format)
    code, out, err = run.wait(timeout=120)
    assert code == 0, err[-3000:]
    assert "the probe failed after 3 attempts" in out

    lines = _records(err, log_format)
    assert not leaks(err), leaks(err)
    assert "Traceback" not in err and "input_value" not in err and "[parameters:" not in err
    failed = [line for line in lines if "Completing activity as failed" in line]
    assert len(failed) == 3, err
    for attempt, line in enumerate(failed, start=1):
        if log_format == "json":
            record = json.loads(line)
            assert (record["attempt"], record["workflow_id"]) == (attempt, PROBE_WORKFLOW_ID)
            assert record["run_id"] and record["activity"] == "check_applicant"
        else:
            assert f"attempt={attempt} " in line and f"workflow_id={PROBE_WORKFLOW_ID}" in line
    assert "type=StoreBusy" in failed[0] or '"error_type": "StoreBusy"' in failed[0]
    assert "email: string_pattern_mismatch" in failed[1]
    assert "UNIQUE constraint failed" in failed[2]


# --------------------------------------------------------------------------- the forced failure


class ProbeApplication(BaseModel):
    applicant_id: str
    name: str
    email: str


@activity.defn(name="check_applicant")
async def check_applicant(application: ProbeApplication) -> str:
    """Fails on each of three attempts, with the applicant's name and address in its locals."""
    applicant = application.model_dump()
    attempt = activity.info().attempt
    if attempt == 1:
        raise ApplicationError(f"applicant {application.applicant_id}: the store is busy", type="StoreBusy")
    if attempt == 2:
        _Contact.model_validate(applicant)  # its message would show the address
    engine = make_engine("sqlite://")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE applicant (id TEXT, name TEXT, email TEXT UNIQUE)"))
        insert = text("INSERT INTO applicant VALUES (:applicant_id, :name, :email)")
        conn.execute(insert, applicant)
        conn.execute(insert, applicant)
    return "never"


@workflow.defn(name="PiiProbe", sandboxed=False)
class PiiProbe:
    @workflow.run
    async def run(self, application: ProbeApplication) -> str:
        return await workflow.execute_activity(
            check_applicant,
            application,
            start_to_close_timeout=timedelta(seconds=20),
            retry_policy=RetryPolicy(
                initial_interval=timedelta(milliseconds=100), backoff_coefficient=1.0, maximum_attempts=3
            ),
        )


async def _fail_three_times() -> int:
    """Runs the probe on a time-skipping test server with this process's ``HR_*`` settings."""
    from temporalio.client import WorkflowFailureError
    from temporalio.testing import WorkflowEnvironment
    from temporalio.worker import Worker

    from service.codec import data_converter

    settings = Settings.from_env()
    configure_logging(settings)
    server = shutil.which("temporal-test-server", path=str(Path(sys.executable).parent))
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=server,
        data_converter=data_converter(settings),
        interceptors=signing_interceptors(),
    )
    try:
        async with Worker(
            env.client, task_queue="pii-probe", workflows=[PiiProbe], activities=[check_applicant]
        ):
            try:
                await env.client.execute_workflow(
                    PiiProbe.run,
                    ProbeApplication(applicant_id="A001", name=NAME, email=EMAIL),
                    id=PROBE_WORKFLOW_ID,
                    task_queue="pii-probe",
                )
            except WorkflowFailureError:
                print("the probe failed after 3 attempts")
                return 0
    finally:
        await env.shutdown()
    return 1


if __name__ == "__main__":
    from cli.support import hard_exit

    hard_exit(asyncio.run(_fail_three_times()))  # as the CLI does: the SDK's threads outlive Python
