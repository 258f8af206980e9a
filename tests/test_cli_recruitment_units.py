"""Unit tests of ``cli/recruitment_open.py`` that need no server: reading an announcement file."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from cli.recruitment_open import load_announcement
from cli.support import CliError

ANNOUNCEMENT = {
    "class_code": "ITAT",
    "title": "Information Technology Accounting Technician",
    "department_code": "FIN",
    "vacancies": 1,
    "pay_min": 30.0,
    "pay_max": 40.0,
}


@pytest.fixture
def pacific_time() -> Iterator[None]:
    """Local time is US Pacific (UTC-8 in December), so that local is not UTC."""
    if not hasattr(time, "tzset"):
        pytest.skip("time.tzset is not available here")
    before = os.environ.get("TZ")
    os.environ["TZ"] = "America/Los_Angeles"
    time.tzset()
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("TZ", None)
        else:
            os.environ["TZ"] = before
        time.tzset()


def announcement_file(folder: Path, closes_at: str) -> Path:
    path = folder / "announcement.json"
    path.write_text(json.dumps(ANNOUNCEMENT | {"closes_at": closes_at}))
    return path


def test_a_closing_time_without_a_zone_is_local_time(tmp_path: Path, pacific_time: None) -> None:
    announcement, _ = load_announcement(announcement_file(tmp_path, "2026-12-04T16:30:00"), None, None)
    assert announcement.closes_at.tzinfo is not None
    assert announcement.closes_at.utcoffset() == timedelta(hours=-8)
    assert announcement.closes_at == datetime(2026, 12, 5, 0, 30, tzinfo=timezone.utc)


def test_a_closing_time_in_utc_stays_utc(tmp_path: Path, pacific_time: None) -> None:
    announcement, _ = load_announcement(announcement_file(tmp_path, "2026-12-04T16:30:00Z"), None, None)
    assert announcement.closes_at.utcoffset() == timedelta(0)
    assert announcement.closes_at == datetime(2026, 12, 4, 16, 30, tzinfo=timezone.utc)


def test_a_closing_time_that_is_no_time_is_refused_in_one_line(tmp_path: Path) -> None:
    with pytest.raises(CliError) as refused:
        load_announcement(announcement_file(tmp_path, "next Friday"), None, None)
    message = str(refused.value)
    assert message.startswith("announcement.json: ") and "closes_at" in message
    assert len(message.splitlines()) == 1
