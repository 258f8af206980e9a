"""The payload codec: AES-256-GCM encryption of every payload that leaves the client or worker.

With ``HR_CODEC_KEY`` set, workflow inputs and results, activity arguments, Update and signal
arguments, query results, memos and failure messages reach the Temporal server only encrypted:
applicant names, e-mail addresses and comments never appear in clear text in workflow history.
Search attributes, workflow ids, task queues and type names are not payloads and are never
encrypted; they must carry ids only.

An encrypted payload is ``nonce (12 bytes) || ciphertext+tag`` with the metadata
``encoding: binary/encrypted`` and ``encryption-key-id: <key id>``; the key id is also bound to
the ciphertext as associated data, so a payload relabelled with another key id does not decrypt.
Decoding leaves payloads without that encoding untouched, so histories recorded before the key
was configured still replay.

Key rotation: the codec holds several keys by id. ``HR_CODEC_KEY`` (id ``HR_CODEC_KEY_ID``)
encrypts; it and every key of ``HR_CODEC_PREVIOUS_KEYS`` (``id:key,id:key``) decrypt, so a key
can be replaced while processes are open. The payload format is unchanged: each payload names
its key id, and one whose key is gone fails with an error naming that id.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import os
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from temporalio.api.common.v1 import Payload
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import (
    DataConverter,
    DefaultFailureConverterWithEncodedAttributes,
    PayloadCodec,
)

if TYPE_CHECKING:
    from service.settings import Settings

ENCODING = b"binary/encrypted"
KEY_ID_METADATA = "encryption-key-id"
KEY_BYTES = 32
NONCE_BYTES = 12
TAG_BYTES = 16


class CodecKeyError(ValueError):
    """The configured key text is not a base64-encoded 32-byte key."""


class PayloadDecryptionError(ValueError):
    """An encrypted payload names a key this codec does not hold, or does not decrypt with it."""


def new_key() -> str:
    """A fresh random 256-bit key, as URL-safe base64 (the form ``HR_CODEC_KEY`` takes)."""
    return base64.urlsafe_b64encode(AESGCM.generate_key(bit_length=256)).decode("ascii")


def key_from_env_value(text: str) -> bytes:
    """The 32 key bytes from base64 text (standard or URL-safe alphabet, padding optional).

    The error message never contains the text itself: it is a secret.
    """
    compact = "".join(text.split())
    if not compact:
        raise CodecKeyError("HR_CODEC_KEY is empty; create a key with `hr admin new-codec-key`")
    standard = compact.replace("-", "+").replace("_", "/").rstrip("=")
    standard += "=" * (-len(standard) % 4)
    try:
        key = base64.b64decode(standard, validate=True)
    except (binascii.Error, ValueError):
        raise CodecKeyError(
            "HR_CODEC_KEY is not valid base64; create a key with `hr admin new-codec-key`"
        ) from None
    if len(key) != KEY_BYTES:
        raise CodecKeyError(
            f"HR_CODEC_KEY must encode {KEY_BYTES} bytes (AES-256), not {len(key)}; "
            "create a key with `hr admin new-codec-key`"
        )
    return key


class EncryptionCodec(PayloadCodec):
    """AES-256-GCM with a random 96-bit nonce per payload, labelled with the key's id."""

    def __init__(self, key: bytes, key_id: str, previous: Mapping[str, bytes] | None = None) -> None:
        """``key`` (id ``key_id``) encrypts; it and every ``previous`` key (by id) decrypt."""
        super().__init__()
        for kid, k in {key_id: key, **(previous or {})}.items():
            if len(k) != KEY_BYTES:
                raise CodecKeyError(f"the codec key {kid!r} must be {KEY_BYTES} bytes, not {len(k)}")
            if not kid:
                raise CodecKeyError("the codec key id must not be empty")
        if key_id in (previous or {}) and previous and previous[key_id] != key:
            raise CodecKeyError(f"key id {key_id!r} names two different keys (HR_CODEC_PREVIOUS_KEYS)")
        self.key_id = key_id
        self._aead = AESGCM(key)
        self._decrypting = {kid: AESGCM(k) for kid, k in (previous or {}).items()}
        self._decrypting[key_id] = self._aead

    @property
    def key_ids(self) -> list[str]:
        """Every key id this codec decrypts, the encrypting one first."""
        return [self.key_id, *sorted(k for k in self._decrypting if k != self.key_id)]

    def __repr__(self) -> str:  # never the key
        return f"EncryptionCodec(key_id={self.key_id!r}, key_ids={self.key_ids!r})"

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return self.encode_sync(payloads)

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return self.decode_sync(payloads)

    # Synchronous forms, for the codec server's request threads.

    def encode_sync(self, payloads: Iterable[Payload]) -> list[Payload]:
        return [self.encrypt_payload(p) for p in payloads]

    def decode_sync(self, payloads: Iterable[Payload]) -> list[Payload]:
        return [self.decrypt_payload(p) if is_encrypted(p) else p for p in payloads]

    def encrypt_payload(self, payload: Payload) -> Payload:
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._aead.encrypt(nonce, payload.SerializeToString(), self.key_id.encode())
        return Payload(
            metadata={"encoding": ENCODING, KEY_ID_METADATA: self.key_id.encode()},
            data=nonce + sealed,
        )

    def decrypt_payload(self, payload: Payload) -> Payload:
        key_id = payload.metadata.get(KEY_ID_METADATA, b"").decode(errors="replace")
        aead = self._decrypting.get(key_id)
        if aead is None:
            others = ", ".join(repr(k) for k in self.key_ids[1:]) or "none"
            raise PayloadDecryptionError(
                f"payload encrypted with key id {key_id or '(none)'!r}, but the configured key is "
                f"{self.key_id!r} (HR_CODEC_KEY_ID) and the previous keys are {others} "
                f"(HR_CODEC_PREVIOUS_KEYS); add {key_id or '(none)'!r}:<its key> to HR_CODEC_PREVIOUS_KEYS"
            )
        data = payload.data
        if len(data) < NONCE_BYTES + TAG_BYTES:
            raise PayloadDecryptionError(f"encrypted payload too short ({len(data)} bytes)")
        try:
            plain = aead.decrypt(data[:NONCE_BYTES], data[NONCE_BYTES:], key_id.encode())
        except InvalidTag:
            raise PayloadDecryptionError(
                f"payload labelled with key id {key_id!r} does not decrypt with the key of that id "
                "(a different key under the same id, or corrupted data)"
            ) from None
        return Payload.FromString(plain)


def is_encrypted(payload: Payload) -> bool:
    return payload.metadata.get("encoding") == ENCODING


def codec_from_settings(settings: Settings) -> EncryptionCodec | None:
    """The codec for ``HR_CODEC_KEY`` / ``HR_CODEC_KEY_ID``; None when no key is configured."""
    if settings.codec_key is None:  # a blank HR_CODEC_KEY is None too (service/settings.py)
        return None
    previous = getattr(settings, "codec_previous_keys", None)
    return EncryptionCodec(
        key_from_env_value(settings.codec_key.get_secret_value()),
        settings.codec_key_id,
        parse_previous_keys(previous.get_secret_value()) if previous is not None else None,
    )


def parse_previous_keys(text: str) -> dict[str, bytes]:
    """``HR_CODEC_PREVIOUS_KEYS``: ``id:base64key`` pairs, comma-separated, into ``{id: key}``.

    Errors name the key id (or the entry's position), never a key.
    """
    keys: dict[str, bytes] = {}
    for position, entry in enumerate((e.strip() for e in text.split(",")), start=1):
        if not entry:
            continue
        key_id, sep, value = entry.rpartition(":")
        key_id = key_id.strip()
        if not sep or not key_id:
            raise CodecKeyError(
                f"HR_CODEC_PREVIOUS_KEYS entry {position} is not 'id:key' (e.g. hr-1:<base64 key>)"
            )
        if key_id in keys:
            raise CodecKeyError(f"HR_CODEC_PREVIOUS_KEYS names key id {key_id!r} twice")
        try:
            keys[key_id] = key_from_env_value(value)
        except CodecKeyError as err:
            raise CodecKeyError(
                f"HR_CODEC_PREVIOUS_KEYS key id {key_id!r}: {str(err).removeprefix('HR_CODEC_KEY ')}"
            ) from None
    return keys


def next_key_id(key_id: str) -> str:
    """The id of the key after ``key_id``: ``hr-1`` -> ``hr-2``, ``x`` -> ``x-2``."""
    stem, sep, number = key_id.rpartition("-")
    if sep and number.isdigit():
        return f"{stem}-{int(number) + 1}"
    return f"{key_id}-2"


def data_converter(settings: Settings) -> DataConverter:
    """The pydantic data converter, with encryption when a codec key is configured.

    With a key, failure messages and stack traces are moved into an encoded attribute as
    well (a refusal message could quote an applicant's name); clients with the codec see
    them as before, the Web UI through the codec server.
    """
    codec = codec_from_settings(settings)
    if codec is None:
        return pydantic_data_converter
    return dataclasses.replace(
        pydantic_data_converter,
        payload_codec=codec,
        failure_converter_class=DefaultFailureConverterWithEncodedAttributes,
    )
