"""Codec key rotation: several keys by id, the newest encrypts, all decrypt; `hr admin rotate-key`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from temporalio.api.common.v1 import Payload
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from service.codec import (
    CodecKeyError,
    EncryptionCodec,
    PayloadDecryptionError,
    codec_from_settings,
    key_from_env_value,
    new_key,
    next_key_id,
    parse_previous_keys,
)
from service.settings import Settings, SettingsError
from tests.record_histories import REPLAY_CODEC_KEY
from worker import WORKFLOWS, workflow_runner

REPO = Path(__file__).resolve().parents[1]


def _payload(text: bytes) -> Payload:
    return Payload(metadata={"encoding": b"json/plain"}, data=text)


def _codec(settings: Settings) -> EncryptionCodec:
    codec = codec_from_settings(settings)
    assert codec is not None
    return codec


def test_rotation_round_trip_newest_encrypts_all_decrypt():
    old, new = new_key(), new_key()
    before = _codec(Settings(codec_key=old, codec_key_id="hr-1"))
    written_before = before.encode_sync([_payload(b'"Ada Lovelace"')])

    after = _codec(Settings(codec_key=new, codec_key_id="hr-2", codec_previous_keys=f"hr-1:{old}"))
    assert after.key_ids == ["hr-2", "hr-1"]
    written_after = after.encode_sync([_payload(b'"Grace Hopper"')])
    # the newest key encrypts...
    assert written_after[0].metadata["encryption-key-id"] == b"hr-2"
    # ...and both the old and the new payloads decrypt with the rotated codec
    assert after.decode_sync(written_before) == [_payload(b'"Ada Lovelace"')]
    assert after.decode_sync(written_after) == [_payload(b'"Grace Hopper"')]
    # the codec before the rotation cannot read the new payload: it says which key id it needs
    with pytest.raises(PayloadDecryptionError, match="key id 'hr-2'.*HR_CODEC_PREVIOUS_KEYS"):
        before.decode_sync(written_after)


def test_a_payload_whose_key_is_gone_names_the_key_id():
    old, new = new_key(), new_key()
    written = _codec(Settings(codec_key=old, codec_key_id="hr-1")).encode_sync([_payload(b"1")])
    dropped = _codec(Settings(codec_key=new, codec_key_id="hr-2"))
    with pytest.raises(PayloadDecryptionError) as caught:
        dropped.decode_sync(written)
    message = str(caught.value)
    assert "'hr-1'" in message and "add 'hr-1':<its key> to HR_CODEC_PREVIOUS_KEYS" in message
    assert old not in message and new not in message and "\n" not in message
    # a previous key under the right id but with the wrong bytes: refused, not garbage
    wrong = _codec(Settings(codec_key=new, codec_key_id="hr-2", codec_previous_keys=f"hr-1:{new_key()}"))
    with pytest.raises(PayloadDecryptionError, match="key id 'hr-1' does not decrypt"):
        wrong.decode_sync(written)


def test_previous_keys_setting_is_checked_without_echoing_a_key():
    key = new_key()
    assert parse_previous_keys(f" hr-1:{key} , hr-0:{key}") == {
        "hr-1": key_from_env_value(key),
        "hr-0": key_from_env_value(key),
    }
    for text, expected in [
        (f"hr-1:{key},hr-1:{key}", "names key id 'hr-1' twice"),
        ("hr-1:bm90IGEga2V5", "key id 'hr-1': must encode 32 bytes"),
        (key, "entry 1 is not 'id:key'"),
    ]:
        with pytest.raises(CodecKeyError, match=expected):
            parse_previous_keys(text)
    with pytest.raises(SettingsError, match="HR_CODEC_PREVIOUS_KEYS") as caught:
        Settings.from_env({"HR_CODEC_KEY": key, "HR_CODEC_PREVIOUS_KEYS": f"hr-0:{key[:20]}"})
    assert key[:20] not in str(caught.value)
    assert next_key_id("hr-1") == "hr-2" and next_key_id("hr-2026") == "hr-2027" and next_key_id("x") == "x-2"


async def test_the_encrypted_history_replays_after_a_rotation():
    """The shipped encrypted history (key id hr-1) replays with a rotated codec that keeps
    hr-1 as a previous key: the payload format is unchanged."""
    path = REPO / "tests" / "histories" / "jd_review_adopted_encrypted.json"
    history = WorkflowHistory.from_json("jd_review_adopted_encrypted", path.read_text())
    rotated = Settings(
        codec_key=new_key(), codec_key_id="hr-2", codec_previous_keys=f"hr-1:{REPLAY_CODEC_KEY}"
    )
    from service.codec import data_converter

    replayer = Replayer(
        workflows=WORKFLOWS, workflow_runner=workflow_runner(), data_converter=data_converter(rotated)
    )
    await replayer.replay_workflow(history)


def _hr(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("HR_")}
    return subprocess.run(
        [sys.executable, "starter.py", *args],
        cwd=REPO,
        env=clean | env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_rotate_key_prints_the_new_key_and_the_steps_never_the_old_key():
    old = new_key()
    done = _hr({"HR_CODEC_KEY": old, "HR_CODEC_KEY_ID": "hr-1"}, "admin", "rotate-key")
    assert done.returncode == 0, done.stderr
    printed = done.stdout.strip()
    assert len(key_from_env_value(printed)) == 32 and printed != old  # stdout: the new key only
    assert old not in done.stderr and "Traceback" not in done.stderr
    assert "new key id hr-2" in done.stderr
    assert "HR_CODEC_PREVIOUS_KEYS=hr-2:<new key>,hr-1:<the current HR_CODEC_KEY>" in done.stderr
    assert "HR_CODEC_KEY_ID=hr-2" in done.stderr

    taken = _hr({"HR_CODEC_KEY": old, "HR_CODEC_KEY_ID": "hr-1"}, "admin", "rotate-key", "--key-id", "hr-1")
    assert taken.returncode == 1 and taken.stdout == ""
    assert taken.stderr.strip() == "--key-id hr-1 is already in use (keys held: hr-1)"
    none = _hr({}, "admin", "rotate-key")
    assert none.returncode == 1 and len(none.stderr.strip().splitlines()) == 1
    assert "HR_CODEC_KEY is not set" in none.stderr


def test_the_codec_server_decodes_every_held_key_and_names_a_missing_one():
    """The Web UI's decoder after a rotation: old and new payloads decode; one whose key is gone
    is a 400 whose message names the key id (and never a key)."""
    import json
    import urllib.error
    import urllib.request

    from google.protobuf import json_format
    from temporalio.api.common.v1 import Payloads

    from service.codec_server import CodecServer

    old, new, gone = new_key(), new_key(), new_key()
    rotated = _codec(Settings(codec_key=new, codec_key_id="hr-3", codec_previous_keys=f"hr-2:{old}"))
    written = [
        *_codec(Settings(codec_key=old, codec_key_id="hr-2")).encode_sync([_payload(b'"old"')]),
        *rotated.encode_sync([_payload(b'"new"')]),
    ]
    lost = _codec(Settings(codec_key=gone, codec_key_id="hr-1")).encode_sync([_payload(b'"lost"')])

    def post(url: str, payloads: list[Payload]) -> tuple[int, bytes]:
        body = json_format.MessageToJson(Payloads(payloads=payloads)).encode()
        request = urllib.request.Request(
            f"{url}/decode", body, {"Content-Type": "application/json", "Authorization": "Bearer tok"}
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as answer:
                return answer.status, answer.read()
        except urllib.error.HTTPError as err:
            return err.code, err.read()

    with CodecServer(rotated, auth_token="tok") as server:
        status, body = post(server.url, written)
        assert status == 200
        decoded = json_format.Parse(body, Payloads()).payloads
        assert [p.data for p in decoded] == [b'"old"', b'"new"']
        status, body = post(server.url, lost)
    assert status == 400
    message = json.loads(body)["message"]
    assert "key id 'hr-1'" in message and "HR_CODEC_PREVIOUS_KEYS" in message
    assert gone not in message and old not in message and new not in message
