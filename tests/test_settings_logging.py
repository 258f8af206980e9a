"""Settings come from HR_* variables; logs are JSON lines when asked, bound to workflow ids."""

from __future__ import annotations

import json
import logging

import structlog

from service.logging import configure_logging
from service.settings import Settings


def test_settings_read_hr_variables_and_keep_defaults():
    settings = Settings.from_env(
        {
            "HR_TEMPORAL_ADDRESS": "temporal.city.example:7233",
            "HR_SMTP_PORT": "2525",
            "HR_LOG_FORMAT": "json",
            "HR_SMTP_HOST": "",
        }
    )
    assert settings.temporal_address == "temporal.city.example:7233"
    assert settings.smtp_port == 2525 and settings.smtp_host is None
    assert settings.log_format == "json"
    assert settings.database_url == "sqlite:///var/hr.db"


def test_json_logs_are_one_object_per_line_with_bound_ids(capsys):
    configure_logging(Settings(log_format="json"))
    try:
        structlog.get_logger("t").bind(workflow_id="jd-review-1821-2026", run_id="r-1").info(
            "audit recorded", step_id="review-1"
        )
        logging.getLogger("temporalio.worker").warning("from the SDK")
        lines = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line.strip()]
    finally:
        configure_logging(Settings())
    first, second = lines
    assert first["event"] == "audit recorded" and first["workflow_id"] == "jd-review-1821-2026"
    assert first["run_id"] == "r-1" and first["level"] == "info" and "timestamp" in first
    assert second["event"] == "from the SDK" and second["level"] == "warning"
