"""The Temporal client, configured the same way for the worker, the CLI and tests."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from temporalio.client import Client, Interceptor
from temporalio.common import HeaderCodecBehavior
from temporalio.runtime import Runtime
from temporalio.service import TLSConfig

from service.codec import data_converter
from service.settings import Settings


class ClientConfigError(ValueError):
    """The client's TLS or API-key settings cannot be used (names the variable and the file)."""


def _read(path: str | None, variable: str) -> bytes | None:
    if not path:
        return None
    file = Path(path).expanduser()
    try:
        data = file.read_bytes()
    except FileNotFoundError:
        raise ClientConfigError(f"{variable}: file {file} does not exist; give a PEM file's path") from None
    except OSError as err:
        raise ClientConfigError(f"{variable}: cannot read {file}: {err.strerror or err}") from None
    if b"-----BEGIN" not in data:
        raise ClientConfigError(f"{variable}: {file} is not PEM text (no '-----BEGIN' line)")
    return data


def tls_config(settings: Settings) -> TLSConfig | bool:
    """The client's TLS: False (plain, the dev server), True (system roots) or a ``TLSConfig``.

    A certificate needs its key and the other way round (mTLS); an API key implies TLS.
    Every file is read here, so a missing one fails before any connection is tried.
    """
    ca = _read(settings.temporal_tls_ca, "HR_TEMPORAL_TLS_CA")
    cert = _read(settings.temporal_tls_cert, "HR_TEMPORAL_TLS_CERT")
    key = _read(settings.temporal_tls_key, "HR_TEMPORAL_TLS_KEY")
    if (cert is None) != (key is None):
        missing = "HR_TEMPORAL_TLS_KEY" if key is None else "HR_TEMPORAL_TLS_CERT"
        raise ClientConfigError(f"{missing} is not set: a client certificate needs its private key and back")
    if ca or cert or settings.temporal_tls_server_name:
        return TLSConfig(
            server_root_ca_cert=ca,
            client_cert=cert,
            client_private_key=key,
            domain=settings.temporal_tls_server_name,
        )
    return bool(settings.temporal_tls or settings.temporal_api_key)


async def connect(
    settings: Settings, interceptors: Sequence[Interceptor] = (), *, runtime: Runtime | None = None
) -> Client:
    """Connects to the configured Temporal server with the pydantic data converter.

    With ``HR_CODEC_KEY`` set, the converter encrypts every payload (``service/codec.py``);
    a worker built on this client inherits the converter. TLS and an API key come from the
    settings (``tls_config``); ``runtime`` carries a worker's metrics (service/metrics.py).
    """
    api_key = settings.temporal_api_key.get_secret_value() if settings.temporal_api_key else None
    headers = HeaderCodecBehavior.CODEC if settings.codec_key else HeaderCodecBehavior.NO_CODEC
    return await Client.connect(
        settings.temporal_address,
        namespace=settings.temporal_namespace,
        data_converter=data_converter(settings),
        tls=tls_config(settings),
        api_key=api_key,
        runtime=runtime,
        interceptors=interceptors,
        # With a key, headers are encrypted too: an answer's credential is not readable in history.
        header_codec_behavior=headers,
    )
