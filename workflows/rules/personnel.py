"""The rules of personnel actions (issue 9), as pure functions: who may request one, which
approvals it needs and from whom, which effective dates are allowed, which actions may be in
flight together for one employee, and when a promotion starts a new probation.

Each refusal is a one-line reason (ids, codes and dates only); ``None`` means allowed.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone

from schemas.employment import SEPARATIONS
from schemas.personnel_action import DIRECTOR, FINANCE, HR, RECEIVING_DIRECTOR, ApprovalStage

BACKDATE_DAYS = 30
"""An effective date may lie at most 30 days in the past (a resignation letter that reached HR
late, a pay change agreed at the start of the month): payroll corrects one pay period back."""
HORIZON_DAYS = 365
"""An effective date at most a year ahead (a retirement announced early)."""
APPROVAL_DAYS = 5
"""Each approval step is due 5 days after it opens (reminders, then escalation to the HR
supervisor; an approver is never defaulted)."""
WORK_ORDER_DAYS: dict[str, int] = {"it_deprovisioning": 1, "equipment_return": 5}
"""The IT service desk closes the accounts within a day of the effective date and records the
equipment's return within five."""


class RuleRefused(ValueError):
    """A request the rules refuse; the message is the one-line reason."""


@dataclass(frozen=True)
class InFlight:
    """Another action of the same employee that has not executed or ended."""

    action_id: str
    kind: str
    effective_on: date


def label(kind: str) -> str:
    """``pay_change`` -> ``pay change``."""
    return kind.replace("_", " ")


# ----- who requests, with what -------------------------------------------------------------------


def request_refusal(kind: str, requested_by: str, employee_id: str, hr_staff: Iterable[str]) -> str | None:
    """HR staff request every kind; the employee may request their own resignation."""
    if requested_by in set(hr_staff):
        return None
    if kind == "resignation" and requested_by == employee_id:
        return None
    if kind == "resignation":
        return f"{requested_by} may not request a resignation for {employee_id}: the employee or HR staff may"
    return f"{requested_by} has no HR role and may not request a {label(kind)}"


def fields_refusal(
    kind: str, new_class_code: str | None, new_position_id: str | None, new_pay_step: int | None
) -> str | None:
    """What each kind needs: a promotion a class and a position, a transfer a position (its class
    stays), a pay change a pay step; a separation none of them."""
    given = [
        name
        for name, value in (
            ("class", new_class_code),
            ("position", new_position_id),
            ("pay step", new_pay_step),
        )
        if value is not None
    ]
    if kind in SEPARATIONS:
        return f"a {label(kind)} takes no new {', '.join(given)}" if given else None
    if kind == "promotion":
        if new_class_code is None or new_position_id is None:
            return "a promotion needs the new class and the new position"
        return None
    if kind == "transfer":
        if new_position_id is None:
            return "a transfer needs the new position"
        if new_class_code is not None:
            return "a transfer keeps the classification; a new class is a promotion"
        return None
    if kind == "pay_change":
        if new_pay_step is None:
            return "a pay change needs the new pay step"
        if new_class_code is not None or new_position_id is not None:
            return "a pay change takes no new class or position (that is a promotion or a transfer)"
        return None
    return f"unknown kind of action {kind!r}"


def changes_pay(kind: str, new_pay_step: int | None) -> bool:
    """A promotion and a pay change always change pay; a transfer when it names a pay step."""
    return kind in ("promotion", "pay_change") or (kind == "transfer" and new_pay_step is not None)


# ----- dates ------------------------------------------------------------------------------------


def date_refusal(effective_on: date, today: date) -> str | None:
    """At most ``BACKDATE_DAYS`` in the past and ``HORIZON_DAYS`` ahead of ``today`` (UTC)."""
    earliest = today - timedelta(days=BACKDATE_DAYS)
    latest = today + timedelta(days=HORIZON_DAYS)
    if effective_on < earliest:
        return (
            f"the effective date {effective_on} is more than {BACKDATE_DAYS} days in the past "
            f"(the earliest allowed is {earliest})"
        )
    if effective_on > latest:
        return (
            f"the effective date {effective_on} is more than {HORIZON_DAYS} days ahead "
            f"(the latest allowed is {latest})"
        )
    return None


def effective_at(effective_on: date) -> datetime:
    """When an action takes effect: the start of its effective date, UTC."""
    return datetime.combine(effective_on, time(0), tzinfo=timezone.utc)


# ----- conflicts --------------------------------------------------------------------------------


def compatible(kind: str, effective_on: date, other_kind: str, other_on: date) -> bool:
    """Whether two actions of one employee may be in flight together.

    - Two separations never are.
    - A release (the probation's decision) goes with any action that is not a separation: it
      executes today, and the other then finds the employee separated and ends void.
    - A separation and a pay change are, when the pay change takes effect first (a step
      increase before a retirement date): strictly earlier.
    - Anything else is not: promotion, transfer and pay change each change the position or pay.
    """
    a_sep, b_sep = kind in SEPARATIONS, other_kind in SEPARATIONS
    if a_sep and b_sep:
        return False
    if "release" in (kind, other_kind):
        return True
    if a_sep and other_kind == "pay_change":
        return other_on < effective_on
    if b_sep and kind == "pay_change":
        return effective_on < other_on
    return False


def conflict_refusal(
    employee_id: str, kind: str, effective_on: date, in_flight: Sequence[InFlight]
) -> str | None:
    """The first action in flight (oldest first) the new one may not run alongside, named."""
    for other in in_flight:
        if not compatible(kind, effective_on, other.kind, other.effective_on):
            return (
                f"{employee_id} already has {label(other.kind)} {other.action_id} in flight "
                f"(effective {other.effective_on}); a {label(kind)} cannot run alongside it: "
                "cancel that one first or wait until it has executed"
            )
    return None


# ----- approvals --------------------------------------------------------------------------------


def first_eligible(candidates: Iterable[str | None], excluded: set[str]) -> str | None:
    """The first candidate given who is not excluded (the employee, the requester)."""
    return next((c for c in candidates if c is not None and c not in excluded), None)


def approval_chain(
    kind: str,
    *,
    employee_id: str,
    requested_by: str,
    new_pay_step: int | None,
    director_id: str | None,
    supervisor_id: str | None,
    hr_supervisor_id: str,
    hr_staff: Iterable[str],
    finance_ids: Iterable[str],
    target_director_id: str | None = None,
) -> list[ApprovalStage]:
    """The approvals an action needs, in order.

    - A release: none (its approval was the probation's decision).
    - Otherwise the department director, then (a transfer into another department) the receiving
      department's director, then HR, then finance when pay changes (``changes_pay``).
    - Nobody approves an action about themselves or one they requested: the director's step goes
      to the employee's supervisor instead (a director's own action), then to the HR supervisor;
      HR's step is the HR supervisor's, or any other HR staff member's when the HR supervisor is
      the employee or the requester; finance's is any member of the finance role.
    - One person in two capacities (the finance director for a finance employee) answers each step.

    Raises:
        RuleRefused: nobody is left to approve a step (the directory lacks the role).
    """
    if kind == "release":
        return []
    excluded = {employee_id, requested_by}
    director = first_eligible([director_id, supervisor_id, hr_supervisor_id], excluded)
    if director is None:
        raise RuleRefused(f"nobody may approve for the department of {employee_id}")
    chain = [ApprovalStage(role=DIRECTOR, approvers=[director])]
    if kind == "transfer" and target_director_id is not None and target_director_id != director_id:
        receiving = first_eligible([target_director_id, hr_supervisor_id], excluded)
        if receiving is None:
            raise RuleRefused("nobody may approve for the receiving department")
        chain.append(ApprovalStage(role=RECEIVING_DIRECTOR, approvers=[receiving]))
    if hr_supervisor_id not in excluded:
        chain.append(ApprovalStage(role=HR, approvers=[hr_supervisor_id]))
    else:
        others = sorted(set(hr_staff) - excluded)
        if not others:
            raise RuleRefused("no other HR staff member may approve this action")
        chain.append(ApprovalStage(role=HR, approvers=others, mode="any"))
    if changes_pay(kind, new_pay_step):
        finance = sorted(set(finance_ids) - excluded)
        if not finance:
            raise RuleRefused("the directory names no finance approver (role finance)")
        chain.append(ApprovalStage(role=FINANCE, approvers=finance, mode="any"))
    return chain


# ----- execution --------------------------------------------------------------------------------


def needs_probation(
    kind: str, current_class_code: str | None, new_class_code: str | None, probation_months: int
) -> bool:
    """Seed 004: a probation in each classification. A promotion into another classification
    starts a probation of the new classification's length (six months unless it says otherwise);
    a promotion within the classification (another position of the same class) or into a class
    without probation (0 months) starts none."""
    return (
        kind == "promotion"
        and new_class_code is not None
        and new_class_code != current_class_code
        and probation_months > 0
    )
