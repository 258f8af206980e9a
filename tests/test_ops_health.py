"""`hr admin health`: one line per part, a non-zero exit when any fails, and nothing changed."""

from __future__ import annotations

from typing import TYPE_CHECKING

from temporalio.testing import WorkflowEnvironment

from service.codec import new_key
from tests.smtp_server import SmtpSink

if TYPE_CHECKING:
    from tests.ops_support import OpsStack

pytest_plugins = ["tests.ops_support"]

NAMES = ["temporal", "namespace", "search attributes", "store", "smtp", "codec key"]


def _lines(out: str) -> dict[str, str]:
    lines = out.strip().splitlines()
    assert [line[5:].split("  ")[0].strip() for line in lines] == NAMES, out
    return {line[5:23].strip(): line for line in lines}


async def test_health_all_good(ops_stack: OpsStack):
    smtp = SmtpSink().start()
    try:
        run = await ops_stack.hr_here(
            "admin",
            "health",
            HR_SMTP_HOST=smtp.host,
            HR_SMTP_PORT=str(smtp.port),
            HR_CODEC_KEY=new_key(),
            HR_CODEC_KEY_ID="hr-2",
            HR_CODEC_PREVIOUS_KEYS=f"hr-1:{new_key()}",
        )
    finally:
        smtp.stop()
    print(run.out)
    assert run.code == 0, run.out + run.err
    lines = _lines(run.out)
    assert all(line.startswith("ok ") for line in lines.values()), run.out
    assert "(server " in lines["temporal"]
    assert "the newest" in lines["store"]
    assert lines["codec key"].endswith("encrypts with hr-2; decrypts hr-2, hr-1")


async def test_health_against_a_server_without_the_search_attributes(ops_stack: OpsStack):
    from tests.dev_server import temporal_cli

    bare = await WorkflowEnvironment.start_local(
        dev_server_existing_path=temporal_cli(), dev_server_log_level="error"
    )
    try:
        target = bare.client.service_client.config.target_host
        run = await ops_stack.hr_here("admin", "health", HR_TEMPORAL_ADDRESS=target)
    finally:
        await bare.shutdown()
    assert run.code == 1
    lines = _lines(run.out)
    assert lines["temporal"].startswith("ok ") and lines["namespace"].startswith("ok ")
    assert lines["search attributes"].startswith("FAIL search attributes")
    assert "missing HrActionType" in lines["search attributes"]
    assert lines["search attributes"].endswith("run `hr admin setup`")


async def test_health_when_everything_is_down(ops_stack: OpsStack, tmp_path):
    from tests.ops_support import free_port

    (tmp_path / "empty.db").touch()
    run = await ops_stack.hr_here(
        "admin",
        "health",
        HR_TEMPORAL_ADDRESS=f"127.0.0.1:{free_port()}",
        HR_DATABASE_URL=f"sqlite:///{tmp_path / 'empty.db'}",
        HR_SMTP_HOST="127.0.0.1",
        HR_SMTP_PORT=str(free_port()),
    )
    assert run.code == 1
    lines = _lines(run.out)
    assert lines["temporal"].startswith("FAIL temporal") and "connection refused" in lines["temporal"]
    assert lines["namespace"].startswith("FAIL") and lines["search attributes"].startswith("FAIL")
    assert lines["store"].startswith("FAIL") and "no schema; run `hr db upgrade`" in lines["store"]
    assert lines["smtp"].startswith("FAIL smtp") and "refused" in lines["smtp"].lower()
    assert lines["codec key"].startswith("ok ") and "NOT encrypted" in lines["codec key"]
    assert (tmp_path / "empty.db").stat().st_size == 0  # a check writes nothing

    missing = await ops_stack.hr_here("admin", "health", HR_DATABASE_URL=f"sqlite:///{tmp_path / 'none.db'}")
    assert missing.code == 1 and "none.db: no such file; run `hr db upgrade`" in missing.out
    assert not (tmp_path / "none.db").exists()
