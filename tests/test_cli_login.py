"""``hr user set-password``, ``hr login`` and ``hr logout`` as a user runs them (subprocesses), and
the CLI signing its answers and starts with the cached sign-in: with none, ``hr decide`` and
``hr review start`` refuse in one line (exit 2) before sending anything."""

from __future__ import annotations

import asyncio
import sys
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

from activities.seed import DEMO_REQUESTER_ID
from service.settings import Settings

if TYPE_CHECKING:
    from tests.dev_server import Run, Stack

pytest_plugins = ["tests.dev_server"]

REPO = Path(__file__).resolve().parents[1]
DRAFT_FILE = REPO / "activities" / "seed_data" / "1821_draft_2023.txt"


async def hr(stack: Stack, env: dict[str, str], *args: str, stdin: str = "") -> Run:
    from tests.dev_server import Run

    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "starter.py",
        *args,
        cwd=REPO,
        env=env,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(stdin.encode()), 90)
    run = Run(proc.returncode or 0, out.decode(), err.decode())
    assert "Traceback" not in run.err, run.err
    return run


async def test_set_password_login_and_the_cli_signing_with_the_cached_sign_in(stack: Stack, tmp_path: Path):
    env = stack.cli_env | {"HR_AUTH_TOKEN_DIR": str(tmp_path / "tokens")}  # nobody signed in here
    cycle = f"login{uuid.uuid4().hex[:6]}"
    hr_id = DEMO_REQUESTER_ID
    start = ("review", "start", "1821", "--as", hr_id, "--cycle", cycle, "--draft", str(DRAFT_FILE))
    unsigned = await hr(stack, env, *start)
    assert unsigned.code == 2 and unsigned.out == ""
    assert unsigned.err.strip() == (
        f"{hr_id} is not signed in (or the sign-in expired): run `hr login --as {hr_id}`"
    )
    assert not [w async for w in stack.client.list_workflows(f"WorkflowId = 'jd-review-1821-{cycle}'")]
    started = await stack.hr(
        "review", "start", "1821", "--as", DEMO_REQUESTER_ID, "--cycle", cycle, "--draft", str(DRAFT_FILE)
    )
    assert started.code == 0, started.err
    workflow_id = f"jd-review-1821-{cycle}"
    status = await stack.wait_for_stage(workflow_id, "review")
    supervisor = status["open_steps"][0]["pending"][0]

    refused = await hr(stack, env, "decide", workflow_id, "approve", "--as", supervisor)
    assert refused.code == 2
    assert refused.err.strip() == (
        f"{supervisor} is not signed in (or the sign-in expired): run `hr login --as {supervisor}`"
    )
    short = await hr(stack, env, "user", "set-password", supervisor, "--password-stdin", stdin="short\n")
    assert short.code == 1 and "a password needs at least 10 characters" in short.err
    unknown = await hr(stack, env, "user", "set-password", "E9999", "--password-stdin", stdin="x" * 12 + "\n")
    assert unknown.code == 1 and "unknown person E9999" in unknown.err
    secret = "a long secret\n"
    set_ = await hr(stack, env, "user", "set-password", supervisor, "--password-stdin", stdin=secret)
    assert set_.code == 0 and f"password set for {supervisor}" in set_.out
    wrong = await hr(stack, env, "login", "--as", supervisor, "--password-stdin", stdin="not the secret\n")
    assert wrong.code == 1 and "sign-in refused: unknown person or wrong password" in wrong.err
    assert "not the secret" not in wrong.err + wrong.out
    login = await hr(stack, env, "login", "--as", supervisor, "--password-stdin", stdin=secret)
    assert login.code == 0 and f"signed in as {supervisor} until" in login.out
    cached = Path(env["HR_AUTH_TOKEN_DIR"]) / f"{supervisor}.json"
    assert cached.stat().st_mode & 0o077 == 0  # only its owner may read it

    decided = await hr(stack, env, "decide", workflow_id, "approve", "--as", supervisor, "--step", "review-1")
    assert decided.code == 0, decided.err
    assert f"recorded approve by {supervisor}" in decided.out
    out = await hr(stack, env, "logout", "--as", supervisor)
    assert out.code == 0 and not cached.exists()
    await stack.client.get_workflow_handle(workflow_id).terminate("done")


def test_the_settings_name_the_embedded_key_folder_by_default():
    settings = Settings.from_env({})
    assert (settings.auth_key_dir, settings.auth_token_dir) == ("var/auth", "var/auth/tokens")


async def test_hr_web_serves_the_sign_in_page_on_its_own(stack: Stack):
    """``hr web`` (production: the web application alone) answers until it is stopped."""
    import signal
    import socket

    import httpx

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = stack.cli_env | {"HR_WEB_PORT": str(port)}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "starter.py", "web", cwd=REPO, env=env, stdout=asyncio.subprocess.PIPE
    )
    try:
        async with httpx.AsyncClient() as http:
            for _ in range(600):  # up to a minute: importing the app is slow on a loaded machine
                try:
                    page = await http.get(f"http://127.0.0.1:{port}/login")
                    break
                except httpx.TransportError:
                    await asyncio.sleep(0.1)
            else:
                raise AssertionError("hr web did not answer")
        assert page.status_code == 200 and 'name="password"' in page.text
        # The command says where it listens once it has seen the server start (it looks every
        # 50 ms, so a page can be served just before): wait for that line before stopping it.
        assert proc.stdout is not None
        said = (await asyncio.wait_for(proc.stdout.readline(), 30)).decode()
        assert f"listening on 127.0.0.1:{port}" in said, said
    finally:
        proc.send_signal(signal.SIGTERM)
        await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 0
