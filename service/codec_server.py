"""The codec server: lets the Temporal Web UI (and ``temporal --codec-endpoint``) show decrypted payloads.

The UI posts ``{"payloads": [...]}`` (the proto JSON form of ``temporalio.api.common.v1.Payloads``)
to ``<endpoint>/decode`` (or ``/encode``), naming the namespace in the ``X-Namespace`` header;
``/<namespace>/decode`` and ``/<namespace>/encode`` are accepted as well. The answer has the same
form. The browser calls it cross-origin, so the UI's origin (``HR_UI_URL``) gets CORS headers and
preflight ``OPTIONS`` requests are answered.

With a token (``HR_CODEC_AUTH_TOKEN``, or the one ``hr dev`` makes) only requests that carry it see
clear text: ``Authorization: Bearer <token>``, or the token in the path, ``/t/<token>/decode``
(``/t/<token>/<namespace>/decode``), for a UI that cannot send headers: its codec endpoint is then
``http://127.0.0.1:8234/t/<token>``. Everyone else gets 401. The token is compared in constant
time and never logged.

Without a token the server is unauthenticated, and so it listens on a loopback address only and
answers only requests whose ``Origin`` is the Web UI on this machine (``HR_UI_URL`` when that is
``localhost`` or ``127.0.0.1``); anything else gets 403. It says so in the log at start.

The standard library's threading HTTP server is enough: requests are small and the work is
a few AES operations each.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import re
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import quote, unquote, urlparse

import structlog
from google.protobuf import json_format
from temporalio.api.common.v1 import Payloads

from service.codec import EncryptionCodec, codec_from_settings
from service.settings import Settings

log = structlog.get_logger(__name__)

MAX_BODY_BYTES = 16 * 1024 * 1024
ALLOWED_HEADERS = "Content-Type, X-Namespace, Authorization"
ALLOWED_METHODS = "POST, OPTIONS"
TOKEN_PREFIX = "t"
"""``/t/<token>/…``: the path that carries the token for a client that cannot send headers."""
_PATH_TOKEN = re.compile(r"/t/[^/\s?#]+")


class CodecServerError(RuntimeError):
    """The codec server cannot start (no key, the port is taken, no token off loopback)."""


def is_loopback(host: str) -> bool:
    """``localhost``, ``127.0.0.0/8`` or ``::1`` (brackets allowed)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def codec_endpoint(url: str, token: str | None) -> str:
    """The endpoint for a UI: ``url``, with ``/t/<token>`` when there is a token."""
    return f"{url}/{TOKEN_PREFIX}/{quote(token, safe='')}" if token else url


def mask_token(text: str) -> str:
    """``text`` (an endpoint, a request line) with any path token replaced by ``***``."""
    return _PATH_TOKEN.sub(f"/{TOKEN_PREFIX}/***", text)


def ui_origins(ui_url: str) -> frozenset[str]:
    """The browser origins of the Web UI: ``HR_UI_URL``'s, with localhost and 127.0.0.1 both allowed."""
    parsed = urlparse(ui_url)
    if not parsed.scheme or not parsed.hostname:
        return frozenset()
    port = f":{parsed.port}" if parsed.port else ""
    hosts = {parsed.hostname}
    if parsed.hostname in ("localhost", "127.0.0.1"):
        hosts |= {"localhost", "127.0.0.1"}
    return frozenset(f"{parsed.scheme}://{host}{port}" for host in hosts)


NO_TOKEN_REFUSAL = (
    "this codec server has no token (HR_CODEC_AUTH_TOKEN): it answers the Web UI on this machine only"
)


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    server_version = "hr-codec-server"

    # ----- routing

    def do_OPTIONS(self) -> None:  # noqa: N802 (http.server's naming)
        # A preflight carries no credentials: it is answered without the token.
        if self.server.auth_token is None and not self._local_ui():
            self._error(HTTPStatus.FORBIDDEN, NO_TOKEN_REFUSAL)
            return
        self._send(HTTPStatus.NO_CONTENT, None)

    def do_POST(self) -> None:  # noqa: N802
        operation, path_token = self._route()
        if operation is None:
            self._error(
                HTTPStatus.NOT_FOUND,
                "POST /decode, /encode, /<namespace>/decode or /<namespace>/encode (after /t/<token>)",
            )
            return
        if self.server.auth_token is None:
            if path_token is not None or not self._local_ui():
                self._error(HTTPStatus.FORBIDDEN, NO_TOKEN_REFUSAL)
                return
        elif not self._authorized(path_token):
            self._error(
                HTTPStatus.UNAUTHORIZED,
                "the token is required: an 'Authorization: Bearer <token>' header or the path /t/<token>/",
            )
            return
        length = self.headers.get("Content-Length")
        if length is None or not length.isdigit():
            self._error(HTTPStatus.LENGTH_REQUIRED, "Content-Length is required")
            return
        if int(length) > MAX_BODY_BYTES:
            self._error(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, f"at most {MAX_BODY_BYTES} bytes")
            return
        body = self.rfile.read(int(length))
        self._body_read = True
        try:
            payloads = json_format.Parse(body, Payloads())
        except json_format.ParseError as err:
            self._error(HTTPStatus.BAD_REQUEST, f'expected {{"payloads": [...]}}: {err}')
            return
        codec = self.server.codec
        try:
            if operation == "encode":
                result = codec.encode_sync(payloads.payloads)
            else:
                result = codec.decode_sync(payloads.payloads)
        except ValueError as err:
            self._error(HTTPStatus.BAD_REQUEST, str(err))
            return
        answer = json_format.MessageToJson(Payloads(payloads=result)).encode()
        self._send(HTTPStatus.OK, answer)

    def do_GET(self) -> None:  # noqa: N802
        self._error(HTTPStatus.METHOD_NOT_ALLOWED, "the codec server answers POST (and OPTIONS) only")

    def _route(self) -> tuple[str | None, str | None]:
        """The operation (``encode``, ``decode``) and the token given in the path, if any."""
        parts = [unquote(p) for p in urlparse(self.path).path.split("/") if p]
        path_token = None
        if len(parts) >= 3 and parts[0] == TOKEN_PREFIX:  # (/t/decode: the namespace "t")
            path_token, parts = parts[1], parts[2:]
        if len(parts) in (1, 2) and parts[-1] in ("encode", "decode"):
            return parts[-1], path_token
        return None, path_token

    def _authorized(self, path_token: str | None) -> bool:
        token = self.server.auth_token
        if not token:
            return False
        if path_token is not None:
            return hmac.compare_digest(path_token.encode(), token.encode())
        given = self.headers.get("Authorization", "")
        scheme, _, credential = given.partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(credential.strip().encode(), token.encode())

    def _local_ui(self) -> bool:
        """Without a token: a loopback client whose ``Origin`` is the Web UI on this machine."""
        return (
            is_loopback(self.client_address[0]) and self.headers.get("Origin") in self.server.allowed_origins
        )

    # ----- answers

    def _error(self, status: HTTPStatus, message: str) -> None:
        self.close_connection = True  # the request's body may be unread
        self._discard_unread_body()
        self._send(status, json.dumps({"message": message}).encode())

    def _discard_unread_body(self) -> None:
        """Reads a refused POST's body (when its length is given and allowed) before answering.
        Closing a socket with unread data makes the kernel reset the connection, and the client
        (a browser) then sees "connection reset" instead of the refusal."""
        if self.command != "POST" or getattr(self, "_body_read", False):
            return
        length = self.headers.get("Content-Length")
        if length is not None and length.isdigit() and int(length) <= MAX_BODY_BYTES:
            self.rfile.read(int(length))
        self._body_read = True

    def _send(self, status: HTTPStatus, body: bytes | None) -> None:
        self.send_response(status)
        origin = self.headers.get("Origin")
        if origin and origin in self.server.allowed_origins:
            self.send_header("Access-Control-Allow-Origin", origin)
            self.send_header("Access-Control-Allow-Methods", ALLOWED_METHODS)
            self.send_header("Access-Control-Allow-Headers", ALLOWED_HEADERS)
            self.send_header("Access-Control-Allow-Credentials", "true")
            self.send_header("Access-Control-Max-Age", "600")
        self.send_header("Vary", "Origin")
        if status == HTTPStatus.UNAUTHORIZED:
            self.send_header("WWW-Authenticate", 'Bearer realm="hr-codec"')
        self.send_header("Cache-Control", "no-store")
        if body is None:
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 (the base class's name)
        log.debug("codec server request", client=self.client_address[0], line=mask_token(format % args))


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(
        self,
        address: tuple[str, int],
        codec: EncryptionCodec,
        auth_token: str | None,
        allowed_origins: frozenset[str],
    ) -> None:
        self.codec = codec
        self.auth_token = auth_token
        self.allowed_origins = allowed_origins
        super().__init__(address, _Handler)


class CodecServer:
    """A codec server in a background thread: ``start()`` it, ``stop()`` it, or use ``with``."""

    def __init__(
        self,
        codec: EncryptionCodec,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        auth_token: str | None = None,
        allowed_origins: frozenset[str] | set[str] = frozenset({"http://localhost:8233"}),
    ) -> None:
        self.codec = codec
        self.host = host
        self.port = port
        self.auth_token = auth_token or None
        # Without a token only the Web UI on this machine is answered.
        self.allowed_origins = frozenset(
            o for o in allowed_origins if self.auth_token or is_loopback(urlparse(o).hostname or "")
        )
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """The endpoint to give the Web UI (``--ui-codec-endpoint``) or ``temporal --codec-endpoint``."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def endpoint(self) -> str:
        """``url`` with the token in the path (``/t/<token>``) for a UI that cannot send headers.

        A secret: give it to the UI, print ``mask_token(endpoint)``.
        """
        return codec_endpoint(self.url, self.auth_token)

    def start(self) -> CodecServer:
        """Binds (port 0 picks a free one, then ``port`` tells which) and serves in a daemon thread.

        Without a token only a loopback address is accepted (``CodecServerError`` otherwise).
        """
        if self._server is not None:
            return self
        if self.auth_token is None and not is_loopback(self.host):
            raise CodecServerError(
                f"without HR_CODEC_AUTH_TOKEN the codec server listens on loopback only "
                f"(127.0.0.1), not on {self.host}; set a token to serve other machines"
            )
        try:
            server = _Server((self.host, self.port), self.codec, self.auth_token, self.allowed_origins)
        except OSError as err:
            raise CodecServerError(
                f"the codec server cannot listen on {self.host}:{self.port}: {err.strerror or err}"
            ) from None
        self._server = server
        self.port = server.server_address[1]
        self._thread = threading.Thread(target=server.serve_forever, name="hr-codec-server", daemon=True)
        self._thread.start()
        log.info(
            "codec server started",
            url=self.url,
            key_id=self.codec.key_id,
            token_required=self.auth_token is not None,
        )
        if self.auth_token is None:
            log.warning(
                "codec server unauthenticated: loopback only, answering the Web UI on this machine only",
                url=self.url,
                origins=sorted(self.allowed_origins),
            )
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        log.info("codec server stopped", url=self.url)

    def __enter__(self) -> CodecServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def codec_server_for(
    settings: Settings, *, host: str = "127.0.0.1", port: int | None = None, auth_token: str | None = None
) -> CodecServer:
    """A (not yet started) codec server for the configured key, token and Web UI origin.

    ``auth_token`` (``hr dev``'s own) is used when ``HR_CODEC_AUTH_TOKEN`` is unset.
    """
    codec = codec_from_settings(settings)
    if codec is None:
        raise CodecServerError("HR_CODEC_KEY is not set; create a key with `hr admin new-codec-key`")
    configured = settings.codec_auth_token.get_secret_value() if settings.codec_auth_token else None
    return CodecServer(
        codec,
        host=host,
        port=settings.codec_port if port is None else port,
        auth_token=configured or auth_token,
        allowed_origins=ui_origins(settings.ui_url),
    )


def run_codec_server(settings: Settings, host: str = "127.0.0.1", port: int | None = None) -> None:
    """Serves in the calling thread until interrupted (Ctrl-C)."""
    server = codec_server_for(settings, host=host, port=port).start()
    try:
        threading.Event().wait()
    finally:
        server.stop()
