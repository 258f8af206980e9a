"""The leave's medical details in workflow history: the certification's diagnosis and the
request's reason travel in Update, workflow and activity payloads, which the codec encrypts;
search attributes and the summary (which it does not) never carry them."""

from __future__ import annotations

import base64
import json
from pathlib import Path

HISTORIES = Path(__file__).parent / "histories"
SECRETS = (b"recurrent migraine", b"migraines")


def _payloads(node: object, under: str = "") -> list[tuple[str, dict]]:
    """Every payload (a dict with ``metadata`` and ``data``) in a history's JSON, with the key of
    the field it sits under (``searchAttributes``, ``userMetadata``, ``input``...)."""
    found: list[tuple[str, dict]] = []
    if isinstance(node, dict):
        if "metadata" in node and "data" in node:
            found.append((under, node))
        for key, value in node.items():
            found += _payloads(value, key if key in ("searchAttributes", "userMetadata") else under)
    elif isinstance(node, list):
        for value in node:
            found += _payloads(value, under)
    return found


def _clear(payload: dict) -> bytes:
    return base64.b64decode(payload["data"])


def _marker_metadata(payload: dict) -> bool:
    """The SDK's own record of a local activity (its sequence number and type), in clear."""
    if base64.b64decode(payload["metadata"]["encoding"]) != b"json/plain":
        return False
    return {"seq", "activity_type"} <= set(json.loads(_clear(payload)))


def _history(name: str) -> dict:
    return json.loads((HISTORIES / f"{name}.json").read_text())


def test_without_the_codec_the_details_are_in_payloads_never_in_attributes_or_summary():
    """The plain history (no key) shows where the details travel, so the check below has teeth."""
    payloads = _payloads(_history("leave_intermittent_exhausted_referred"))
    carrying = {under for under, p in payloads if any(s in _clear(p) for s in SECRETS)}
    assert carrying and carrying.isdisjoint({"searchAttributes", "userMetadata"})
    assert any(under == "searchAttributes" for under, _ in payloads)


def test_with_the_codec_no_payload_carries_them_in_clear():
    payloads = _payloads(_history("leave_intermittent_exhausted_referred_encrypted"))
    data = [
        p
        for under, p in payloads
        if under not in ("searchAttributes", "userMetadata") and not _marker_metadata(p)
    ]
    assert len(data) > 50
    assert {base64.b64decode(p["metadata"]["encoding"]) for p in data} == {b"binary/encrypted"}
    for _, payload in payloads:
        assert not any(s in _clear(payload) for s in SECRETS)
