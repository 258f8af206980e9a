"""The Temporal client, configured the same way for the worker, the CLI and tests."""

from __future__ import annotations

from collections.abc import Sequence

from temporalio.client import Client, Interceptor
from temporalio.common import HeaderCodecBehavior

from service.codec import data_converter
from service.settings import Settings


async def connect(settings: Settings, interceptors: Sequence[Interceptor] = ()) -> Client:
    """Connects to the configured Temporal server with the pydantic data converter.

    With ``HR_CODEC_KEY`` set, the converter encrypts every payload (``service/codec.py``);
    a worker built on this client inherits the converter.
    """
    headers = HeaderCodecBehavior.CODEC if settings.codec_key else HeaderCodecBehavior.NO_CODEC
    return await Client.connect(
        settings.temporal_address,
        namespace=settings.temporal_namespace,
        data_converter=data_converter(settings),
        interceptors=interceptors,
        # With a key, headers are encrypted too: an answer's credential is not readable in history.
        header_codec_behavior=headers,
    )
