"""The deployment samples (deploy/) agree with the code: every variable is a setting, the sample
configuration is valid, and every service metric the Grafana dashboard reads is one the code emits."""

from __future__ import annotations

import json
import re
from pathlib import Path

from service.codec import new_key
from service.settings import Settings

REPO = Path(__file__).resolve().parents[1]
DEPLOY = REPO / "deploy"


def _variables(text: str) -> set[str]:
    """``HR_X`` names set in a file (not ``${HR_X}`` interpolations of the Compose file's own)."""
    return set(re.findall(r"(?<![{\w])(HR_[A-Z0-9_]+)(?=[=:])", text))


def test_every_variable_of_the_samples_is_a_setting():
    fields = {f"HR_{name.upper()}" for name in Settings.model_fields}
    for path in (DEPLOY / "hr.env.sample", DEPLOY / "compose.yaml"):
        found = _variables(path.read_text())
        assert found, path
        assert found <= fields, (path, sorted(found - fields))


def test_the_sample_configuration_is_valid():
    values: dict[str, str] = {}
    for line in (DEPLOY / "hr.env.sample").read_text().splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.partition("=")
            values[name] = value
    values["HR_CODEC_KEY"] = new_key()  # the sample says where the secret comes from
    settings = Settings.from_env(values)
    assert settings.metrics_port == 9464 and settings.sweep_schedule_timezone == "America/Los_Angeles"
    assert settings.database_url.startswith("postgresql://")


def test_the_dashboard_reads_metrics_the_code_emits():
    dashboard = json.loads((DEPLOY / "grafana" / "hr-dashboard.json").read_text())
    expressions = [t["expr"] for panel in dashboard["panels"] for t in panel["targets"]]
    used = {
        re.sub(r"_(bucket|count|sum)$", "", m) for e in expressions for m in re.findall(r"\bhr_[a-z_]+", e)
    }
    source = (REPO / "service" / "metrics.py").read_text() + (
        REPO / "workflows" / "observability.py"
    ).read_text()
    emitted = set(re.findall(r'"(hr_[a-z_]+)"', source))
    assert len(used) >= 10 and used <= emitted, sorted(used - emitted)
