"""The client's TLS and API-key settings, against what runs here: the dev server has no TLS, so a
TLS-terminating proxy (Python's ssl, ALPN h2) in front of it stands in for a cluster's frontend,
with a certificate authority, server and client certificates made for the test."""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from temporalio.api.workflowservice.v1 import GetSystemInfoRequest
from temporalio.service import TLSConfig

from service.client import ClientConfigError, connect, tls_config
from service.settings import Settings

if TYPE_CHECKING:
    from tests.ops_support import OpsStack

pytest_plugins = ["tests.ops_support"]


def _cert(name: str, key, issuer_name, issuer_key, *, ca: bool = False, server: bool = False):  # noqa: ANN001, ANN202
    now = dt.datetime.now(dt.timezone.utc)
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
        .issuer_name(issuer_name or x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if server:
        builder = builder.add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
    return builder.sign(issuer_key or key, hashes.SHA256())


def _pem(folder: Path, stem: str, cert, key) -> tuple[Path, Path]:  # noqa: ANN001
    crt, pem_key = folder / f"{stem}.crt", folder / f"{stem}.key"
    crt.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    pem_key.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return crt, pem_key


@pytest.fixture(scope="module")
def pki(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("pki")
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = _cert("hr test CA", ca_key, None, None, ca=True)
    server_key, client_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    server = _cert("localhost", server_key, ca.subject, ca_key, server=True)
    client = _cert("hr-worker", client_key, ca.subject, ca_key)
    ca_crt, _ = _pem(folder, "ca", ca, ca_key)
    server_crt, server_key_file = _pem(folder, "server", server, server_key)
    client_crt, client_key_file = _pem(folder, "client", client, client_key)
    return {
        "ca": ca_crt,
        "server_crt": server_crt,
        "server_key": server_key_file,
        "client_crt": client_crt,
        "client_key": client_key_file,
    }


@asynccontextmanager
async def tls_proxy(target: str, pki: dict[str, Path], *, require_client_cert: bool) -> AsyncIterator[str]:
    """TLS on the outside (HTTP/2 by ALPN), the dev server's plain gRPC inside."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(pki["server_crt"], pki["server_key"])
    context.set_alpn_protocols(["h2"])
    if require_client_cert:
        context.verify_mode = ssl.CERT_REQUIRED
        context.load_verify_locations(pki["ca"])
    host, port = target.rsplit(":", 1)

    async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except (ConnectionError, ssl.SSLError):
            pass
        finally:
            writer.close()

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(host, int(port))
        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

    server = await asyncio.start_server(serve, "127.0.0.1", 0, ssl=context)
    try:
        yield f"localhost:{server.sockets[0].getsockname()[1]}"
    finally:
        server.close()


async def test_tls_with_the_cluster_ca_and_a_client_certificate(ops_stack: OpsStack, pki):
    async with tls_proxy(ops_stack.target, pki, require_client_cert=True) as address:
        good = Settings(
            temporal_address=address,
            temporal_tls_ca=str(pki["ca"]),
            temporal_tls_cert=str(pki["client_crt"]),
            temporal_tls_key=str(pki["client_key"]),
        )
        client = await connect(good)
        info = await client.workflow_service.get_system_info(GetSystemInfoRequest())
        assert info.server_version
        # without the client certificate the frontend refuses the handshake
        with pytest.raises(RuntimeError):
            await asyncio.wait_for(
                connect(Settings(temporal_address=address, temporal_tls_ca=str(pki["ca"]))), 15
            )
        # `hr admin health` over TLS, settings from the environment
        run = await ops_stack.hr_here(
            "admin",
            "health",
            HR_TEMPORAL_ADDRESS=address,
            HR_TEMPORAL_TLS_CA=str(pki["ca"]),
            HR_TEMPORAL_TLS_CERT=str(pki["client_crt"]),
            HR_TEMPORAL_TLS_KEY=str(pki["client_key"]),
        )
        assert run.out.splitlines()[0].startswith(f"ok   temporal           {address}"), run.out


async def test_an_api_key_implies_tls(ops_stack: OpsStack, pki):
    async with tls_proxy(ops_stack.target, pki, require_client_cert=False) as address:
        settings = Settings(
            temporal_address=address, temporal_api_key="not-a-real-key", temporal_tls_ca=str(pki["ca"])
        )
        client = await connect(settings)
        assert client.service_client.config.api_key == "not-a-real-key"
        assert isinstance(client.service_client.config.tls, TLSConfig)
    assert tls_config(Settings(temporal_api_key="k")) is True
    assert tls_config(Settings()) is False
    assert tls_config(Settings(temporal_tls=True)) is True
    # the plain dev server refuses a TLS client: the setting is really used
    with pytest.raises(RuntimeError):
        await asyncio.wait_for(connect(Settings(temporal_address=ops_stack.target, temporal_api_key="k")), 15)


def test_tls_settings_that_cannot_work_are_one_line(tmp_path, pki):
    not_pem = tmp_path / "ca.txt"
    not_pem.write_text("hello")
    cases: list[tuple[dict[str, Any], str]] = [
        (
            {"temporal_tls_ca": str(tmp_path / "missing.pem")},
            f"HR_TEMPORAL_TLS_CA: file {tmp_path / 'missing.pem'} does not exist",
        ),
        ({"temporal_tls_ca": str(not_pem)}, "HR_TEMPORAL_TLS_CA: " + str(not_pem) + " is not PEM text"),
        ({"temporal_tls_cert": str(pki["client_crt"])}, "HR_TEMPORAL_TLS_KEY is not set"),
        ({"temporal_tls_key": str(pki["client_key"])}, "HR_TEMPORAL_TLS_CERT is not set"),
    ]
    for fields, message in cases:
        with pytest.raises(ClientConfigError) as caught:
            tls_config(Settings(**fields))
        assert str(caught.value).startswith(message) and "\n" not in str(caught.value)


async def test_a_missing_tls_file_stops_the_cli_with_one_line(ops_stack: OpsStack, tmp_path):
    missing = tmp_path / "cluster-ca.pem"
    run = await ops_stack.hr("status", "any-workflow", HR_TEMPORAL_TLS_CA=str(missing))
    assert run.code == 1 and run.out == ""
    assert run.err.strip().splitlines() == [
        f"ClientConfigError: HR_TEMPORAL_TLS_CA: file {missing} does not exist; give a PEM file's path"
    ]
