"""The payload codec: encryption round trip, no clear text in history, the codec server, settings."""

from __future__ import annotations

import asyncio
import base64
import json
import socket
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import pytest
import structlog
from google.protobuf import json_format
from pydantic import BaseModel, SecretStr, ValidationError
from temporalio import workflow
from temporalio.api.common.v1 import Payload, Payloads
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from service.codec import (
    CodecKeyError,
    EncryptionCodec,
    PayloadDecryptionError,
    data_converter,
    key_from_env_value,
    new_key,
)
from service.codec_server import (
    CodecServer,
    CodecServerError,
    codec_server_for,
    is_loopback,
    mask_token,
    ui_origins,
)
from service.settings import Settings, SettingsError
from service.signing import SigningInterceptor
from tests.conftest import venv_binary
from tests.signing import signing_interceptors

NAME = "Jordan Q. Applicant"
EMAIL = "jordan.applicant@mail.example"
COMMENT = "strong panel interview, references pending"
UI_ORIGIN = "http://localhost:8233"


def _settings(**extra: Any) -> Settings:
    return Settings(codec_key=new_key(), **extra)


def _plain_payload(text: str) -> Payload:
    return pydantic_data_converter.payload_converter.to_payloads([text])[0]


# --------------------------------------------------------------------------- unit


async def test_encode_decode_round_trip_and_ciphertext_hides_the_plaintext():
    codec = EncryptionCodec(key_from_env_value(new_key()), "hr-test")
    original = [_plain_payload(f"{NAME} <{EMAIL}>"), _plain_payload(COMMENT)]

    encoded = await codec.encode(original)

    for payload in encoded:
        assert payload.metadata["encoding"] == b"binary/encrypted"
        assert payload.metadata["encryption-key-id"] == b"hr-test"
        raw = payload.SerializeToString()
        assert NAME.encode() not in raw and EMAIL.encode() not in raw and COMMENT.encode() not in raw
    # A fresh nonce each time: the same plaintext never gives the same ciphertext.
    assert (await codec.encode(original[:1]))[0].data != encoded[0].data
    assert await codec.decode(encoded) == original


async def test_unencrypted_payloads_pass_through_decode():
    codec = EncryptionCodec(key_from_env_value(new_key()), "hr-test")
    plain = _plain_payload("recorded before the key was set")
    assert await codec.decode([plain]) == [plain]


async def test_unknown_key_id_and_wrong_key_fail_clearly():
    key = key_from_env_value(new_key())
    encoded = await EncryptionCodec(key, "hr-1").encode([_plain_payload(NAME)])

    with pytest.raises(PayloadDecryptionError, match=r"key id 'hr-1'.*configured key is 'hr-2'"):
        await EncryptionCodec(key, "hr-2").decode(encoded)
    with pytest.raises(PayloadDecryptionError, match="does not decrypt"):
        await EncryptionCodec(key_from_env_value(new_key()), "hr-1").decode(encoded)
    # The key id is bound to the ciphertext: relabelling a payload does not get it decrypted.
    relabelled = Payload()
    relabelled.CopyFrom(encoded[0])
    relabelled.metadata["encryption-key-id"] = b"hr-2"
    with pytest.raises(PayloadDecryptionError, match="does not decrypt"):
        await EncryptionCodec(key, "hr-2").decode([relabelled])


def test_keys_in_either_base64_alphabet_are_accepted_and_bad_ones_refused():
    raw = bytes(range(250, 256)) + bytes(26)  # bytes whose encodings differ between the alphabets
    standard = base64.b64encode(raw).decode()
    urlsafe = base64.urlsafe_b64encode(raw).decode()
    assert standard != urlsafe
    assert key_from_env_value(standard) == raw
    assert key_from_env_value(urlsafe) == raw
    assert key_from_env_value(urlsafe.rstrip("=") + "\n") == raw
    assert len(key_from_env_value(new_key())) == 32

    with pytest.raises(CodecKeyError, match="not valid base64"):
        key_from_env_value("this is not a key!")
    with pytest.raises(CodecKeyError, match="must encode 32 bytes.*not 16"):
        key_from_env_value(base64.b64encode(bytes(16)).decode())
    with pytest.raises(CodecKeyError, match="empty"):
        key_from_env_value("  ")


def test_data_converter_encrypts_only_with_a_key():
    assert data_converter(Settings()) is pydantic_data_converter
    converter = data_converter(_settings(codec_key_id="hr-9"))
    assert isinstance(converter.payload_codec, EncryptionCodec)
    assert converter.payload_codec.key_id == "hr-9"
    assert type(converter.payload_converter) is type(pydantic_data_converter.payload_converter)


# --------------------------------------------------------------------------- settings


def test_settings_read_the_codec_variables():
    key = new_key()
    settings = Settings.from_env(
        {
            "HR_CODEC_KEY": key,
            "HR_CODEC_KEY_ID": "hr-2026",
            "HR_CODEC_AUTH_TOKEN": "s3cret",
            "HR_CODEC_PORT": "9234",
        }
    )
    assert isinstance(settings.codec_key, SecretStr) and isinstance(settings.codec_auth_token, SecretStr)
    assert settings.codec_key.get_secret_value() == key and settings.codec_key_id == "hr-2026"
    assert settings.codec_auth_token.get_secret_value() == "s3cret" and settings.codec_port == 9234
    # Secrets stay out of the settings' repr and str (and so out of logs).
    for shown in (repr(settings), str(settings), repr(settings.model_dump()), settings.model_dump_json()):
        assert key not in shown and "s3cret" not in shown

    defaults = Settings.from_env({"HR_CODEC_KEY": "", "HR_CODEC_AUTH_TOKEN": ""})
    assert defaults.codec_key is None and defaults.codec_key_id == "hr-1"
    assert defaults.codec_auth_token is None and defaults.codec_port == 8234


def test_a_blank_codec_key_or_token_is_unset_however_it_is_given():
    for blank in ("", "  ", "\n", SecretStr(""), SecretStr(" ")):
        settings = Settings(codec_key=blank, codec_auth_token=blank)
        assert settings.codec_key is None and settings.codec_auth_token is None, repr(blank)
        assert data_converter(settings) is pydantic_data_converter
    # The key is kept without the whitespace around it; the codec uses its text.
    key = new_key()
    settings = Settings(codec_key=f" {key}\n", codec_auth_token="t0ken")
    assert settings.codec_key is not None and settings.codec_key.get_secret_value() == key
    codec = data_converter(settings).payload_codec
    assert isinstance(codec, EncryptionCodec)
    with codec_server_for(settings, port=0) as server:
        assert server.auth_token == "t0ken"


def test_validation_errors_never_show_the_key_or_the_token():
    key, token = new_key(), "tok-3f9a-operators"
    with pytest.raises(ValidationError) as direct:
        Settings(codec_key=key, codec_auth_token=token, codec_port="eighty", codec_key_id="bad id\x07")
    assert {e["loc"][0] for e in direct.value.errors()} == {"codec_port", "codec_key_id"}
    assert key not in str(direct.value) and token not in str(direct.value)
    assert "eighty" not in str(direct.value)

    with pytest.raises(SettingsError) as caught:
        Settings.from_env({"HR_CODEC_KEY": key, "HR_CODEC_AUTH_TOKEN": token, "HR_CODEC_PORT": "eighty"})
    message = str(caught.value)
    assert message.startswith("invalid settings: HR_CODEC_PORT: ") and len(message.splitlines()) == 1
    assert key not in message and token not in message and "eighty" not in message

    # A token of the wrong type is refused without showing it either.
    with pytest.raises(ValidationError) as typed:
        Settings(codec_auth_token=12345678)
    assert "12345678" not in str(typed.value)


def test_an_invalid_codec_key_is_refused_without_echoing_it():
    secret_ish = "not-a-base64-key-but-maybe-a-password!"
    with pytest.raises(SettingsError, match="HR_CODEC_KEY is not valid base64") as caught:
        Settings.from_env({"HR_CODEC_KEY": secret_ish})
    assert secret_ish not in str(caught.value)

    short = base64.b64encode(b"sixteen byte key").decode()
    with pytest.raises(SettingsError, match="HR_CODEC_KEY must encode 32 bytes") as caught:
        Settings.from_env({"HR_CODEC_KEY": short})
    assert short not in str(caught.value)
    with pytest.raises(ValueError) as direct:
        Settings(codec_key=short)
    assert short not in str(direct.value)


# --------------------------------------------------------------------------- history


class Application(BaseModel):
    name: str
    email: str


class Comment(BaseModel):
    author_id: str
    text: str


class Summary(BaseModel):
    greeting: str
    comments: list[str]


@workflow.defn(name="CodecProbe", sandboxed=False)  # the test module imports cryptography
class CodecProbe:
    """Holds an application until an Update says it is done; PII travels in every kind of payload."""

    def __init__(self) -> None:
        self._comments: list[str] = []
        self._done = False

    @workflow.run
    async def run(self, application: Application) -> Summary:
        await workflow.wait_condition(lambda: self._done)
        return Summary(greeting=f"Dear {application.name} <{application.email}>", comments=self._comments)

    @workflow.update
    async def comment(self, comment: Comment) -> int:
        if comment.text.startswith("refuse:"):
            raise ApplicationError(f"comment refused: {comment.text}", non_retryable=True)
        self._comments.append(comment.text)
        return len(self._comments)

    @workflow.signal
    def done(self) -> None:
        self._done = True


async def test_history_holds_no_clear_text_with_a_key():
    settings = _settings()
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=venv_binary("temporal-test-server"),
        data_converter=data_converter(settings),
        interceptors=signing_interceptors(),
    )
    try:
        client = env.client
        task_queue = f"codec-{uuid.uuid4().hex[:8]}"
        async with Worker(client, task_queue=task_queue, workflows=[CodecProbe]):
            handle = await client.start_workflow(
                CodecProbe.run,
                Application(name=NAME, email=EMAIL),
                id=f"codec-probe-{uuid.uuid4().hex[:8]}",
                task_queue=task_queue,
            )
            assert await handle.execute_update(CodecProbe.comment, Comment(author_id="E1", text=COMMENT)) == 1
            with pytest.raises(WorkflowUpdateFailedError) as refused:
                await handle.execute_update(
                    CodecProbe.comment, Comment(author_id="E1", text=f"refuse:{EMAIL}")
                )
            # The codec's client reads the (encrypted) failure message as it was raised.
            assert f"comment refused: refuse:{EMAIL}" in str(refused.value.cause)
            await handle.signal(CodecProbe.done)
            result = await handle.result()
        assert result == Summary(greeting=f"Dear {NAME} <{EMAIL}>", comments=[COMMENT])

        # A client without the codec sees the history as the server stores it.
        plain = Client(
            client.service_client, namespace=client.namespace, data_converter=pydantic_data_converter
        )
        history = await plain.get_workflow_handle(handle.id).fetch_history()
        raw = b"".join(event.SerializeToString() for event in history.events)
        for secret in (NAME, EMAIL, COMMENT, "comment refused"):
            assert secret.encode() not in raw, f"{secret!r} in clear text in the history"
        payloads = [
            event_of(history, "workflow_execution_started_event_attributes").input.payloads[0],
            event_of(history, "workflow_execution_completed_event_attributes").result.payloads[0],
        ]
        assert all(p.metadata["encoding"] == b"binary/encrypted" for p in payloads)
        # Decoded with the codec, the same payloads are the original values.
        decoded = await client.data_converter.decode(payloads[:1], [Application])
        assert decoded == [Application(name=NAME, email=EMAIL)]
    finally:
        await env.shutdown()


async def test_with_a_key_an_answers_credential_is_encrypted_in_history_too():
    """``service.client.connect`` encrypts headers with the payload key: the credential an Update
    carries (``hr_credential``) is not in clear text in the history; the worker still reads it."""
    from service.client import connect
    from tests.signing import token_for

    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=venv_binary("temporal-test-server"), data_converter=pydantic_data_converter
    )
    try:
        target = env.client.service_client.config.target_host
        settings = _settings().model_copy(update={"temporal_address": target})
        token = token_for("E1")
        client = await connect(settings, interceptors=[SigningInterceptor(lambda _actor: token)])
        task_queue = f"codec-{uuid.uuid4().hex[:8]}"
        async with Worker(client, task_queue=task_queue, workflows=[CodecProbe]):
            handle = await client.start_workflow(
                CodecProbe.run,
                Application(name=NAME, email=EMAIL),
                id=f"codec-probe-{uuid.uuid4().hex[:8]}",
                task_queue=task_queue,
            )
            assert await handle.execute_update(CodecProbe.comment, Comment(author_id="E1", text=COMMENT)) == 1
            await handle.signal(CodecProbe.done)
            await handle.result()
        history = await env.client.get_workflow_handle(handle.id).fetch_history()
        raw = b"".join(event.SerializeToString() for event in history.events)
        assert b"hr_credential" in raw and token.encode() not in raw
        accepted = event_of(history, "workflow_execution_update_accepted_event_attributes")
        header = accepted.accepted_request.input.header.fields["hr_credential"]
        assert header.metadata["encoding"] == b"binary/encrypted"
    finally:
        await env.shutdown()


def event_of(history, attribute: str):
    """The first event of ``history`` that has ``attribute`` set."""
    return next(getattr(e, attribute) for e in history.events if e.HasField(attribute))


# --------------------------------------------------------------------------- codec server


def _post(url: str, body: bytes, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(
        url, data=body, method="POST", headers={"Content-Type": "application/json", **(headers or {})}
    )
    return _send(request)


def _send(request: urllib.request.Request) -> tuple[int, dict[str, str], bytes]:
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, dict(answer.headers), answer.read()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), err.read()


def _payloads_json(payloads: list[Payload]) -> bytes:
    return json_format.MessageToJson(Payloads(payloads=payloads)).encode()


def _decoded(answer: bytes) -> list[Any]:
    """The values of a codec server's answer (payloads in their proto JSON form)."""
    payloads = json_format.Parse(answer, Payloads()).payloads
    return pydantic_data_converter.payload_converter.from_payloads(payloads)


async def test_codec_server_decodes_and_encodes_with_cors():
    settings = _settings()
    codec = data_converter(settings).payload_codec
    assert isinstance(codec, EncryptionCodec)
    encrypted = await codec.encode([_plain_payload(EMAIL)])
    body = _payloads_json(encrypted)

    with codec_server_for(settings, port=0) as server:
        for path in ("/default/decode", "/decode"):
            status, headers, answer = await asyncio.to_thread(
                _post, server.url + path, body, {"Origin": UI_ORIGIN, "X-Namespace": "default"}
            )
            assert status == 200, answer
            assert headers["Access-Control-Allow-Origin"] == UI_ORIGIN
            decoded = json_format.Parse(answer, Payloads()).payloads
            assert pydantic_data_converter.payload_converter.from_payloads(decoded) == [EMAIL]

        status, _, answer = await asyncio.to_thread(
            _post,
            server.url + "/default/encode",
            _payloads_json([_plain_payload(NAME)]),
            {"Origin": UI_ORIGIN},
        )
        assert status == 200
        sealed = json_format.Parse(answer, Payloads()).payloads
        assert sealed[0].metadata["encoding"] == b"binary/encrypted" and NAME.encode() not in answer
        assert await codec.decode(sealed) == [_plain_payload(NAME)]

        preflight = urllib.request.Request(
            server.url + "/default/decode",
            method="OPTIONS",
            headers={
                "Origin": UI_ORIGIN,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "content-type,x-namespace",
            },
        )
        status, headers, _ = await asyncio.to_thread(_send, preflight)
        assert status in (200, 204)
        assert headers["Access-Control-Allow-Origin"] == UI_ORIGIN
        assert "POST" in headers["Access-Control-Allow-Methods"]
        allowed = {h.strip().lower() for h in headers["Access-Control-Allow-Headers"].split(",")}
        assert {"content-type", "x-namespace", "authorization"} <= allowed

        # A bad body and an unknown path are refused.
        status, _, answer = await asyncio.to_thread(
            _post, server.url + "/decode", b"{not json", {"Origin": UI_ORIGIN}
        )
        assert status == 400 and "payloads" in json.loads(answer)["message"]
        status, _, _ = await asyncio.to_thread(_post, server.url + "/default/other", body)
        assert status == 404


async def test_a_codec_server_without_a_token_answers_only_the_ui_on_this_machine():
    settings = _settings(ui_url=UI_ORIGIN)
    codec = data_converter(settings).payload_codec
    assert isinstance(codec, EncryptionCodec)
    body = _payloads_json(await codec.encode([_plain_payload(EMAIL)]))

    with structlog.testing.capture_logs() as logged, codec_server_for(settings, port=0) as server:
        assert server.auth_token is None and server.host == "127.0.0.1"
        for origin in (UI_ORIGIN, "http://127.0.0.1:8233"):
            status, headers, answer = await asyncio.to_thread(
                _post, server.url + "/decode", body, {"Origin": origin}
            )
            assert status == 200 and _decoded(answer) == [EMAIL]
            assert headers["Access-Control-Allow-Origin"] == origin
        # A page of another origin, a client that names none, another port: 403, nothing decoded.
        for headers in (
            {"Origin": "http://evil.example"},
            {"Origin": "http://localhost:9999"},
            {"Origin": "null"},
            {},
        ):
            status, answer_headers, answer = await asyncio.to_thread(
                _post, server.url + "/decode", body, headers
            )
            assert status == 403, headers
            assert b"payloads" not in answer and "Access-Control-Allow-Origin" not in answer_headers
        status, _, _ = await asyncio.to_thread(
            _post, server.url + "/t/guess/decode", body, {"Origin": UI_ORIGIN}
        )
        assert status == 403
        preflight = urllib.request.Request(
            server.url + "/decode", method="OPTIONS", headers={"Origin": "http://evil.example"}
        )
        assert (await asyncio.to_thread(_send, preflight))[0] == 403
    # It says so at start.
    # (only the codec server's own: a worker of an earlier test may still log while it winds down)
    (warning,) = [e for e in logged if e["log_level"] == "warning" and "codec server" in e["event"]]
    assert "unauthenticated" in warning["event"] and "loopback only" in warning["event"]
    assert warning["origins"] == ["http://127.0.0.1:8233", UI_ORIGIN]

    # Without a token it listens on a loopback address only, and a UI elsewhere is never answered.
    for host in ("0.0.0.0", "::", "192.0.2.10"):
        with pytest.raises(CodecServerError, match="without HR_CODEC_AUTH_TOKEN .* loopback only"):
            codec_server_for(settings, host=host, port=0).start()
    remote_ui = codec_server_for(_settings(ui_url="https://temporal.city.example"), port=0)
    assert remote_ui.allowed_origins == frozenset()
    with_token = codec_server_for(_settings(ui_url="https://temporal.city.example", codec_auth_token="t"))
    assert with_token.allowed_origins == {"https://temporal.city.example"}
    assert is_loopback("localhost") and is_loopback("127.0.0.2") and is_loopback("[::1]")
    assert not is_loopback("0.0.0.0") and not is_loopback("temporal.city.example")


async def test_codec_server_with_a_token_refuses_requests_without_it():
    settings = _settings(codec_auth_token="operators-only")
    codec = data_converter(settings).payload_codec
    assert codec is not None
    body = _payloads_json(await codec.encode([_plain_payload(NAME)]))

    with codec_server_for(settings, port=0) as server:
        url = server.url + "/default/decode"
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic operators-only"}):
            status, answer_headers, answer = await asyncio.to_thread(
                _post, url, body, {"Origin": UI_ORIGIN, **headers}
            )
            assert status == 401, headers
            assert NAME.encode() not in answer
            # The UI can read the refusal: CORS headers come with it.
            assert answer_headers["Access-Control-Allow-Origin"] == UI_ORIGIN

        status, _, answer = await asyncio.to_thread(
            _post, url, body, {"Authorization": "Bearer operators-only"}
        )
        assert status == 200
        decoded = json_format.Parse(answer, Payloads()).payloads
        assert pydantic_data_converter.payload_converter.from_payloads(decoded) == [NAME]

        # A preflight carries no credentials and is answered anyway.
        preflight = urllib.request.Request(url, method="OPTIONS", headers={"Origin": UI_ORIGIN})
        status, headers, _ = await asyncio.to_thread(_send, preflight)
        assert status in (200, 204) and headers["Access-Control-Allow-Origin"] == UI_ORIGIN


async def test_the_token_can_be_carried_in_the_path():
    token = "operators/only+1"  # quoted in the endpoint
    settings = _settings(codec_auth_token=token)
    codec = data_converter(settings).payload_codec
    assert codec is not None
    body = _payloads_json(await codec.encode([_plain_payload(NAME)]))

    with structlog.testing.capture_logs() as logged, codec_server_for(settings, port=0) as server:
        assert server.endpoint == f"{server.url}/t/operators%2Fonly%2B1"
        assert mask_token(server.endpoint) == f"{server.url}/t/***"
        for path in ("/decode", "/default/decode"):
            status, _, answer = await asyncio.to_thread(_post, server.endpoint + path, body)
            assert status == 200, answer
            decoded = json_format.Parse(answer, Payloads()).payloads
            assert pydantic_data_converter.payload_converter.from_payloads(decoded) == [NAME]
        for wrong in ("operators", "operators%2Fonly%2B2", "", "x" * 64):
            status, _, answer = await asyncio.to_thread(
                _post, f"{server.url}/t/{wrong}/decode", body, {"Origin": UI_ORIGIN}
            )
            assert status in (401, 403, 404) and NAME.encode() not in answer, wrong
        # A wrong token in the path is not made good by a right header, nor the other way round.
        status, _, _ = await asyncio.to_thread(
            _post, f"{server.url}/t/wrong/decode", body, {"Authorization": f"Bearer {token}"}
        )
        assert status == 401
    assert not any(token in repr(event) or "operators%2F" in repr(event) for event in logged)
    assert (
        mask_token('"POST /t/s3cret/default/decode HTTP/1.1" 200 -')
        == '"POST /t/***/default/decode HTTP/1.1" 200 -'
    )


def test_codec_server_needs_a_key_and_allows_the_ui_origins():
    with pytest.raises(CodecServerError, match="HR_CODEC_KEY is not set"):
        codec_server_for(Settings())
    assert ui_origins("http://localhost:8233") == {"http://localhost:8233", "http://127.0.0.1:8233"}
    assert ui_origins("https://temporal.city.example") == {"https://temporal.city.example"}
    server = CodecServer(EncryptionCodec(bytes(32), "k"), port=8234)
    assert server.url == "http://127.0.0.1:8234"
    assert "k" in repr(server.codec) and str(bytes(32)) not in repr(server.codec)


# --------------------------------------------------------------------------- dev server


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_dev_server_runs_the_codec_server_for_its_ui(tmp_path: Path) -> None:
    from service.devserver import start_dev_server

    grpc_port, ui_port, codec_port = _free_port(), _free_port(), _free_port()
    settings = _settings(
        temporal_address=f"localhost:{grpc_port}",
        ui_url=f"http://localhost:{ui_port}",
        codec_port=codec_port,
        dev_db_filename=str(tmp_path / "temporal-dev.db"),
    )
    server, client = await start_dev_server(settings)
    try:
        assert server.codec_server is not None and server.codec_server.port == codec_port
        token = server.codec_server.auth_token  # made for this run: HR_CODEC_AUTH_TOKEN is unset
        assert token and len(token) >= 32
        endpoint = f"http://127.0.0.1:{codec_port}/t/{token}"
        assert server.process is not None
        args = list(server.process.args)  # type: ignore[arg-type]
        assert args[args.index("--ui-codec-endpoint") + 1] == endpoint
        assert server.codec_endpoint == f"http://127.0.0.1:{codec_port}/t/***"  # what hr dev prints
        assert token not in repr(server)
        assert isinstance(client.data_converter.payload_codec, EncryptionCodec)

        # The UI tells the browser where to decode: the token travels in the path.
        ui_settings = await asyncio.to_thread(_ui_settings, f"http://127.0.0.1:{ui_port}/api/v1/settings")
        assert ui_settings["Codec"]["Endpoint"] == endpoint

        encrypted = await client.data_converter.encode([COMMENT])
        status, _, answer = await asyncio.to_thread(
            _post, f"{endpoint}/default/decode", _payloads_json(encrypted), {"Origin": settings.ui_url}
        )
        assert status == 200
        decoded = json_format.Parse(answer, Payloads()).payloads
        assert pydantic_data_converter.payload_converter.from_payloads(decoded) == [COMMENT]
        # Without the token nobody gets clear text, not even the UI's origin.
        status, _, answer = await asyncio.to_thread(
            _post,
            f"http://127.0.0.1:{codec_port}/decode",
            _payloads_json(encrypted),
            {"Origin": settings.ui_url},
        )
        assert status == 401 and COMMENT.encode() not in answer
    finally:
        server.stop()
    assert server.codec_server is None
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", codec_port), timeout=1).close()


async def test_hr_dev_gives_its_ui_a_codec_endpoint_with_a_token() -> None:
    from service.devserver import dev_server_command

    made: list[str] = []
    for _ in range(2):
        settings = _settings(codec_port=_free_port(), ui_url="http://localhost:18233")
        args, codec_server = dev_server_command(settings)
        assert codec_server is not None
        try:
            endpoint = args[args.index("--ui-codec-endpoint") + 1]
            token = codec_server.auth_token
            assert token and endpoint == f"http://127.0.0.1:{settings.codec_port}/t/{token}"
            made.append(token)
            codec = data_converter(settings).payload_codec
            assert codec is not None
            body = _payloads_json(await codec.encode([_plain_payload(EMAIL)]))
            status, _, answer = await asyncio.to_thread(_post, endpoint + "/decode", body)
            assert status == 200 and _decoded(answer) == [EMAIL]
            status, _, _ = await asyncio.to_thread(
                _post, codec_server.url + "/decode", body, {"Origin": "http://localhost:18233"}
            )
            assert status == 401
        finally:
            codec_server.stop()
    assert made[0] != made[1]  # a new one each run

    # HR_CODEC_AUTH_TOKEN, when set, is the token; no key, or a headless server: no codec server.
    settings = _settings(codec_port=_free_port(), codec_auth_token="configured-token")
    args, codec_server = dev_server_command(settings)
    assert codec_server is not None
    codec_server.stop()
    assert args[args.index("--ui-codec-endpoint") + 1].endswith("/t/configured-token")
    for quiet in (
        dev_server_command(Settings(codec_port=_free_port())),
        dev_server_command(settings, headless=True),
    ):
        assert quiet[1] is None and "--ui-codec-endpoint" not in quiet[0]


def _ui_settings(url: str, timeout: float = 20) -> dict:
    """The Web UI's settings once it answers (it starts a moment after the frontend)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5) as answer:
                return json.loads(answer.read())
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.25)


def test_cli_refuses_a_bad_codec_key_in_one_line_without_echoing_it():
    import os
    import subprocess
    import sys
    from pathlib import Path

    hr = Path(sys.executable).parent / "hr"
    env = dict(os.environ, HR_CODEC_KEY="not-a-key-at-all")
    done = subprocess.run(
        [str(hr), "status", "recruitment-x"], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [done.stderr.strip()]
    assert "HR_CODEC_KEY" in done.stderr and "not-a-key-at-all" not in done.stderr


async def test_a_refused_request_with_a_large_body_gets_its_refusal_not_a_reset():
    """The server reads a refused request's body before answering: closing a socket with unread
    data resets the connection, and the UI would see "connection reset" instead of the 401."""
    settings = _settings(codec_auth_token="operators-only")
    body = b'{"payloads": [' + b" " * (4 * 1024 * 1024) + b"]}"
    with codec_server_for(settings, port=0) as server:
        for _ in range(5):
            status, _, answer = await asyncio.to_thread(
                _post, server.url + "/default/decode", body, {"Origin": UI_ORIGIN}
            )
            assert status == 401 and b"token is required" in answer
