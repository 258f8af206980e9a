"""Settings come from HR_* variables; logs are JSON lines when asked, bound to workflow ids."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
import structlog
from pydantic_settings import BaseSettings

from service.logging import configure_logging
from service.settings import Settings, SettingsError, get_settings


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


def test_settings_are_pydantic_settings_reading_hr_variables_in_any_case(monkeypatch, tmp_path):
    assert issubclass(Settings, BaseSettings)
    monkeypatch.setenv("HR_SMTP_PORT", "2526")
    monkeypatch.setenv("hr_log_format", "json")
    monkeypatch.setenv("HR_SMTP_HOST", "")  # empty means unset
    monkeypatch.setenv("HR_NOT_A_SETTING", "ignored")
    monkeypatch.delenv("HR_AUTH_KEY_DIR")  # the session's keys (tests/conftest.py): not this test's
    monkeypatch.delenv("HR_AUTH_TOKEN_DIR")
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text("HR_LOG_LEVEL=DEBUG\n")  # no .env file is read

    for settings in (Settings(), Settings.from_env()):
        assert (settings.smtp_port, settings.log_format, settings.smtp_host) == (2526, "json", None)
        assert settings.log_level == "INFO" and settings.model_fields_set == {"smtp_port", "log_format"}
    # Keyword arguments win over the environment; a given mapping replaces it.
    assert Settings(smtp_port=2727, smtp_host="mail").smtp_port == 2727
    assert Settings.from_env({"HR_TASK_QUEUE": "q"}).smtp_port == 25
    get_settings.cache_clear()
    try:
        assert get_settings().smtp_port == 2526 and get_settings() is get_settings()
    finally:
        get_settings.cache_clear()


def test_a_bad_value_is_one_line_naming_the_variable_never_the_value():
    with pytest.raises(SettingsError) as caught:
        Settings.from_env({"HR_SMTP_PORT": "twenty-five"})
    assert str(caught.value) == (
        "invalid settings: HR_SMTP_PORT: "
        "Input should be a valid integer, unable to parse string as an integer"
    )
    with pytest.raises(SettingsError) as both:
        Settings.from_env({"HR_SMTP_PORT": "twenty-five", "HR_CODEC_KEY_ID": "clé-1"})
    message = str(both.value)
    assert message.startswith("invalid settings: HR_SMTP_PORT: ") and "; HR_CODEC_KEY_ID must be" in message
    assert "twenty-five" not in message and "clé" not in message and "\n" not in message


def test_the_cli_prints_one_line_and_exits_2_on_a_bad_hr_value():
    hr = Path(sys.executable).parent / "hr"
    env = dict(os.environ, HR_SMTP_PORT="twenty-five")
    done = subprocess.run([str(hr), "status", "x"], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2, done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert "invalid settings: HR_SMTP_PORT: " in done.stderr and "twenty-five" not in done.stderr


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
