"""The rules of personnel actions at their boundaries (``workflows/rules/personnel.py``)."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from schemas.personnel_action import ApprovalStage
from workflows.rules import personnel as rules
from workflows.rules.personnel import InFlight

TODAY = date(2026, 12, 1)
HR_STAFF = ["E1005", "E1006", "E1007", "E1008"]


# ----- dates ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("days", "allowed"),
    [(-31, False), (-30, True), (-1, True), (0, True), (1, True), (365, True), (366, False)],
)
def test_an_effective_date_is_at_most_30_days_back_and_365_ahead(days: int, allowed: bool):
    problem = rules.date_refusal(TODAY + timedelta(days=days), TODAY)
    assert (problem is None) is allowed
    if days == -31:
        assert problem == (
            "the effective date 2026-10-31 is more than 30 days in the past "
            "(the earliest allowed is 2026-11-01)"
        )
    if days == 366:
        assert problem is not None and "the latest allowed is 2027-12-01" in problem


def test_an_action_takes_effect_at_the_start_of_its_day_utc():
    assert rules.effective_at(date(2027, 1, 15)) == datetime(2027, 1, 15, tzinfo=timezone.utc)


# ----- who requests, with what -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "requested_by", "allowed"),
    [
        ("resignation", "E1016", True),  # the employee, their own
        ("resignation", "E1006", True),  # HR
        ("resignation", "E1015", False),  # the supervisor is neither
        ("termination", "E1016", False),
        ("retirement", "E1016", False),
        ("promotion", "E1016", False),
        ("pay_change", "E1006", True),
        ("release", "E1006", True),
        ("release", "E1015", False),
    ],
)
def test_hr_staff_request_every_action_and_the_employee_only_their_resignation(
    kind: str, requested_by: str, allowed: bool
):
    problem = rules.request_refusal(kind, requested_by, "E1016", HR_STAFF)
    assert (problem is None) is allowed
    if requested_by == "E1015" and kind == "resignation":
        assert problem == "E1015 may not request a resignation for E1016: the employee or HR staff may"


@pytest.mark.parametrize(
    ("kind", "cls", "position", "step", "problem"),
    [
        ("resignation", None, None, None, None),
        ("termination", None, "P-1", 3, "a termination takes no new position, pay step"),
        ("promotion", "CI1659", "P-CI1659-04", None, None),
        ("promotion", "CI1659", "P-CI1659-04", 4, None),
        ("promotion", None, "P-CI1659-04", None, "a promotion needs the new class and the new position"),
        ("promotion", "CI1659", None, None, "a promotion needs the new class and the new position"),
        ("transfer", None, "P-ITAT-02", None, None),
        ("transfer", None, None, 3, "a transfer needs the new position"),
        (
            "transfer",
            "ITAT",
            "P-ITAT-02",
            None,
            "a transfer keeps the classification; a new class is a promotion",
        ),
        ("pay_change", None, None, 4, None),
        ("pay_change", None, None, None, "a pay change needs the new pay step"),
        ("pay_change", "ITAT", None, 4, "a pay change takes no new class or position"),
    ],
)
def test_each_kind_takes_what_it_changes_and_nothing_else(kind, cls, position, step, problem):
    found = rules.fields_refusal(kind, cls, position, step)
    if problem is None:
        assert found is None
    else:
        assert found is not None and found.startswith(problem)


@pytest.mark.parametrize(
    ("kind", "step", "changes"),
    [
        ("promotion", None, True),
        ("pay_change", 4, True),
        ("transfer", None, False),
        ("transfer", 3, True),
        ("resignation", None, False),
        ("release", None, False),
    ],
)
def test_pay_changes_with_a_promotion_a_pay_change_and_a_transfer_to_a_pay_step(kind, step, changes):
    assert rules.changes_pay(kind, step) is changes


# ----- conflicts ------------------------------------------------------------------------------------

JAN_15 = date(2027, 1, 15)


@pytest.mark.parametrize(
    ("kind", "on", "other", "other_on", "together"),
    [
        ("resignation", JAN_15, "retirement", JAN_15, False),  # two separations
        ("termination", JAN_15, "resignation", date(2027, 3, 1), False),
        ("release", JAN_15, "promotion", JAN_15, True),  # the probation's decision goes ahead
        ("release", JAN_15, "pay_change", JAN_15, True),
        ("release", JAN_15, "resignation", JAN_15, False),  # two separations still
        ("retirement", JAN_15, "pay_change", JAN_15 - timedelta(days=1), True),  # pay change first
        ("retirement", JAN_15, "pay_change", JAN_15, False),  # the same day: not first
        ("pay_change", JAN_15, "retirement", JAN_15 + timedelta(days=1), True),
        ("pay_change", JAN_15, "retirement", JAN_15, False),
        ("pay_change", JAN_15, "transfer", JAN_15 + timedelta(days=30), False),  # the example
        ("pay_change", JAN_15, "promotion", JAN_15, False),
        ("pay_change", JAN_15, "pay_change", JAN_15 + timedelta(days=60), False),
        ("promotion", JAN_15, "transfer", JAN_15, False),
        ("transfer", JAN_15, "transfer", JAN_15, False),
    ],
)
def test_which_actions_may_be_in_flight_together(kind, on, other, other_on, together):
    assert rules.compatible(kind, on, other, other_on) is together
    assert rules.compatible(other, other_on, kind, on) is together  # symmetric


def test_a_pay_change_during_a_pending_transfer_is_refused_naming_the_transfer():
    in_flight = [
        InFlight("retirement-20270601", "retirement", date(2027, 6, 1)),  # compatible: later
        InFlight("transfer-20270201", "transfer", date(2027, 2, 1)),
        InFlight("promotion-x", "promotion", date(2027, 3, 1)),
    ]
    assert rules.conflict_refusal("E1016", "pay_change", JAN_15, in_flight) == (
        "E1016 already has transfer transfer-20270201 in flight (effective 2027-02-01); a pay change "
        "cannot run alongside it: cancel that one first or wait until it has executed"
    )
    assert rules.conflict_refusal("E1016", "pay_change", JAN_15, in_flight[:1]) is None
    assert rules.conflict_refusal("E1016", "pay_change", JAN_15, []) is None


# ----- approvals ------------------------------------------------------------------------------------


def chain(kind: str, **kw) -> list[tuple[str, list[str], str]]:
    args = {
        "employee_id": "E1016",
        "requested_by": "E1006",
        "new_pay_step": None,
        "director_id": "E1010",
        "supervisor_id": "E1015",
        "hr_supervisor_id": "E1005",
        "hr_staff": HR_STAFF,
        "finance_ids": ["E1018"],
    } | kw
    stages: list[ApprovalStage] = rules.approval_chain(kind, **args)
    return [(s.role, s.approvers, s.mode) for s in stages]


def test_a_separation_needs_the_director_then_hr():
    expected = [("director", ["E1010"], "all"), ("hr", ["E1005"], "all")]
    assert chain("resignation", requested_by="E1016") == expected
    assert chain("termination") == expected
    assert chain("retirement") == expected


def test_pay_adds_finance_last():
    full = [("director", ["E1010"], "all"), ("hr", ["E1005"], "all"), ("finance", ["E1018"], "any")]
    assert chain("promotion") == full
    assert chain("pay_change", new_pay_step=4) == full
    assert chain("transfer", new_pay_step=4) == full
    assert chain("transfer") == full[:2]


def test_a_transfer_into_another_department_needs_its_director_too():
    assert chain("transfer", target_director_id="E1023") == [
        ("director", ["E1010"], "all"),
        ("receiving_director", ["E1023"], "all"),
        ("hr", ["E1005"], "all"),
    ]
    assert chain("transfer", target_director_id="E1010") == chain("transfer")  # the same department


def test_a_release_needs_no_approval_its_approval_was_the_probation_decision():
    assert chain("release") == []


def test_nobody_approves_an_action_about_themselves_or_one_they_requested():
    # The IT director resigns: their supervisor (the city administrator) approves for the department.
    assert chain("resignation", employee_id="E1010", requested_by="E1010", supervisor_id="E1001")[0] == (
        "director",
        ["E1001"],
        "all",
    )
    # The HR supervisor requests: any other HR staff member approves for HR.
    assert chain("termination", requested_by="E1005")[1] == ("hr", ["E1006", "E1007", "E1008"], "any")
    # The HR supervisor's own resignation, requested by E1006: E1007 or E1008.
    assert chain("resignation", employee_id="E1005", supervisor_id="E1004")[1] == (
        "hr",
        ["E1007", "E1008"],
        "any",
    )
    # The finance director's own pay change: no finance approver is left.
    with pytest.raises(rules.RuleRefused, match="no finance approver"):
        chain("pay_change", employee_id="E1018", new_pay_step=3, director_id="E1001")
    # A director with no supervisor and no HR supervisor left: nobody approves.
    with pytest.raises(rules.RuleRefused, match="nobody may approve"):
        chain(
            "termination", employee_id="E1005", director_id="E1005", supervisor_id=None, requested_by="E1006"
        )


# ----- probation ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "old", "new", "months", "starts"),
    [
        ("promotion", "ITAT", "AAC30", 6, True),  # into another class: its probation
        ("promotion", None, "AAC30", 6, True),  # from no position on record
        ("promotion", "CI1659", "CI1659", 6, False),  # another position of the same class
        ("promotion", "ITAT", "AAC30", 0, False),  # a class without probation
        ("transfer", "ITAT", "ITAT", 6, False),
        ("pay_change", "ITAT", None, 6, False),
    ],
)
def test_a_promotion_into_another_classification_starts_its_probation(kind, old, new, months, starts):
    assert rules.needs_probation(kind, old, new, months) is starts
