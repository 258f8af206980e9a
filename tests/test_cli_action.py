"""``hr action request`` refuses a bad request with the reason, before anything is started (no
Temporal server: the address goes nowhere), and prints the employee's actions on record."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlmodel import Session
from typer.testing import CliRunner

import starter
from activities.seed import seed_city
from schemas.tables import PersonnelAction
from service.settings import get_settings


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_bad_request_is_refused_in_one_line_and_nothing_is_started(engine, db_url):
    seed_city(engine)
    today = datetime.now(timezone.utc).date()
    with Session(engine) as s:
        s.add(
            PersonnelAction(
                id="E1016-transfer-1",
                workflow_id="personnel-action-E1016-transfer-1",
                run_id="r",
                employee_id="E1016",
                kind="transfer",
                status="scheduled",
                requested_by="E1006",
                effective_on=today + timedelta(days=20),
                details={},
                created_at=datetime.now(timezone.utc),
            )
        )
        s.commit()
    env = {"HR_DATABASE_URL": db_url, "HR_TEMPORAL_ADDRESS": "127.0.0.1:1", "HR_LOG_LEVEL": "ERROR"}

    def hr(*args: str) -> tuple[int, str]:
        get_settings.cache_clear()
        result = CliRunner().invoke(starter.app, ["action", *args], env=env)
        get_settings.cache_clear()
        return result.exit_code, result.output

    soon = (today + timedelta(days=10)).isoformat()
    cases = [
        (
            ["E9999", "resignation", "--as", "E1006", "--effective-on", soon],
            "refused: unknown employee E9999",
        ),
        (
            ["E1016", "pay_change", "--as", "E1006", "--effective-on", soon, "--pay-step", "4"],
            "refused: E1016 already has transfer transfer-1 in flight",
        ),
        (
            [
                "E1025",
                "resignation",
                "--as",
                "E1006",
                "--effective-on",
                (today - timedelta(days=31)).isoformat(),
            ],
            "refused: the effective date",
        ),
        (["E1025", "termination", "--as", "E1025", "--effective-on", soon], "refused: E1025 has no HR role"),
        (["E1025", "release", "--as", "E1006", "--effective-on", soon], "a release comes from the probation"),
        (["E1025", "demotion", "--as", "E1006", "--effective-on", soon], "kind must be one of resignation"),
        (["E1025", "resignation", "--as", "E1006", "--effective-on", "15/01/2027"], "--effective-on must be"),
        (
            ["E1025", "promotion", "--as", "E1006", "--effective-on", soon, "--class", "ITAT"],
            "refused: a promotion needs the new class and the new position",
        ),
    ]
    for args, message in cases:
        code, output = hr("request", *args, "--reason", "test")
        assert code == 1, (args, output)
        assert output.startswith(message) and len(output.splitlines()) == 1, (args, output)
    code, output = hr(
        "request", "E1025", "resignation", "--as", "E1006", "--effective-on", soon, "--reason", " "
    )
    assert (code, output.strip()) == (1, "--reason must not be empty")

    code, output = hr("status", "E1016")
    assert code == 0 and "transfer-1" in output and "scheduled" in output
    assert hr("status", "E1025")[1].strip() == "no personnel actions on record for E1025"
