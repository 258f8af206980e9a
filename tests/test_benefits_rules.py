"""The enrollment rules called directly: windows, coverage dates, COBRA dates, who may join which
plan, tiers against dependants, what an election is refused for, and the defaults."""

from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from activities.benefits import plan_view
from activities.seed_benefits import PLANS
from schemas import benefits as bn
from schemas.decision_details import BenefitElections
from workflows.rules import benefits as rules

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=timezone.utc)
OFFERED = [plan_view(p) for p in PLANS if not p.departments]
SPOUSE = bn.Dependant(relation="spouse", date_of_birth=date(1988, 4, 17))
CHILD = bn.Dependant(relation="child", date_of_birth=date(2019, 9, 3))


def facts(
    department: str = "IT", active: bool = True, coverage: list[bn.Coverage] | None = None
) -> bn.EnrollmentFacts:
    return bn.EnrollmentFacts(
        employee_id="E2001",
        active=active,
        employment_status="permanent" if active else "separated",
        department_code=department,
        supervisor_id="E1011",
        hr_supervisor_id="E1005",
        hr_staff=["E1005", "E1008"],
        plans=[plan_view(p) for p in PLANS],
        coverage=coverage or [],
    )


def elect(plans: dict[str, str], *dependants: bn.Dependant) -> BenefitElections:
    return BenefitElections(
        plans=[bn.PlanChoice(plan_id=p, tier=t) for p, t in plans.items()],  # type: ignore[arg-type]
        dependants=list(dependants),
    )


def problem(
    elections: BenefitElections, *, now: datetime = NOW, event: str = bn.NEW_HIRE, offered=OFFERED
) -> str | None:  # type: ignore[no-untyped-def]
    window = rules.window(event, date(2026, 11, 20), offered, NOW, year=2027)
    return rules.election_problem(
        elections,
        offered,
        employee_id="E2001",
        event=event,
        event_on=date(2026, 11, 20),
        closes_at=window.closes_at,
        coverage_on=window.coverage_on,
        now=now,
    )


# ----- windows and dates -------------------------------------------------------------------------


def test_a_new_hire_window_runs_30_days_from_the_hire_date_unless_the_plan_says_otherwise():
    medical = [p for p in OFFERED if p.plan_id == "MED-PPO"]
    window = rules.window(bn.NEW_HIRE, date(2026, 12, 14), medical, NOW)
    assert window.closes_at == datetime(2027, 1, 13, 23, 59, tzinfo=timezone.utc)
    assert window.coverage_on == date(2027, 1, 1)  # the first of the next month
    assert rules.window(bn.NEW_HIRE, date(2027, 2, 1), medical, NOW).coverage_on == date(2027, 2, 1)
    pers = next(p for p in OFFERED if p.plan_id == "PERS-2")  # 90 days for the retirement plan
    assert rules.window(bn.NEW_HIRE, date(2026, 12, 14), OFFERED, NOW).closes_at.date() == date(2027, 3, 14)
    assert rules.plan_window_closes(pers, bn.NEW_HIRE, date(2026, 12, 14), NOW).date() == date(2027, 3, 14)
    assert rules.plan_window_closes(medical[0], bn.NEW_HIRE, date(2026, 12, 14), NOW).date() == date(
        2027, 1, 13
    )


def test_life_event_windows_and_coverage_dates():
    marriage = rules.window(bn.LIFE_EVENT, date(2026, 11, 10), OFFERED, NOW, life_event="marriage")
    assert (marriage.closes_at.date(), marriage.coverage_on) == (date(2026, 12, 10), date(2026, 12, 1))
    birth = rules.window(bn.LIFE_EVENT, date(2026, 11, 10), OFFERED, NOW, life_event="birth_adoption")
    assert (birth.closes_at.date(), birth.coverage_on) == (date(2027, 1, 9), date(2026, 11, 10))


def test_open_enrollment_covers_the_year_from_january_and_closes_when_the_run_says():
    closes = datetime(2026, 12, 15, 23, 59, tzinfo=timezone.utc)
    window = rules.window(bn.OPEN_ENROLLMENT, date(2027, 1, 1), OFFERED, NOW, year=2027, closes_at=closes)
    assert (window.closes_at, window.coverage_on) == (closes, date(2027, 1, 1))
    assert rules.window(
        bn.OPEN_ENROLLMENT, date(2027, 1, 1), OFFERED, NOW, year=2027
    ).closes_at.date() == date(2026, 12, 29)


def test_cobra_notice_within_44_days_and_60_days_to_elect_from_the_later_of_notice_and_loss():
    dates = rules.cobra_dates(date(2026, 11, 13), notice_on=date(2026, 11, 14))
    assert dates.coverage_ends_on == date(2026, 11, 30)
    assert dates.notice_due_on == date(2026, 12, 27)
    assert dates.elect_by == date(2027, 1, 29)  # 60 days from the end of coverage
    late = rules.cobra_dates(date(2026, 11, 13), notice_on=date(2026, 12, 20))
    assert late.elect_by == date(2027, 2, 18)  # 60 days from the notice
    window = rules.window(bn.COBRA, date(2026, 11, 13), OFFERED, NOW)
    assert (window.closes_at.date(), window.coverage_on) == (date(2027, 1, 29), date(2026, 12, 1))
    assert rules.cobra_dates(date(2024, 2, 10), date(2024, 2, 10)).coverage_ends_on == date(2024, 2, 29)


# ----- eligibility and tiers ------------------------------------------------------------------------


def test_plans_open_by_department_and_cobra_only_the_continuable_plans_held():
    assert "MED-HMO-PW" not in {p.plan_id for p in rules.offered_plans(facts("IT"), bn.NEW_HIRE)}
    assert "MED-HMO-PW" in {p.plan_id for p in rules.offered_plans(facts("PW"), bn.NEW_HIRE)}
    assert rules.offered_plans(facts(active=False), bn.OPEN_ENROLLMENT) == []
    held = [
        bn.Coverage(plan_id=p, kind=k, tier="employee_only", coverage_on=date(2026, 1, 1))
        for p, k in (("MED-PPO", "medical"), ("LIFE-BASIC", "life"), ("PERS-2", "retirement"))
    ]
    cobra = rules.offered_plans(facts(active=False, coverage=held), bn.COBRA)
    assert [p.plan_id for p in cobra] == ["MED-PPO"]
    assert rules.offered_plans(facts(active=False), bn.COBRA) == []


def test_the_tier_follows_the_dependants():
    assert rules.tier_for([]) == bn.EMPLOYEE_ONLY
    assert rules.tier_for([SPOUSE]) == bn.EMPLOYEE_SPOUSE
    assert rules.tier_for([CHILD, CHILD]) == bn.EMPLOYEE_CHILDREN
    assert rules.tier_for([CHILD, SPOUSE]) == bn.FAMILY
    partner = bn.Dependant(relation="domestic_partner", date_of_birth=date(1990, 1, 1))
    assert rules.tier_for([partner]) == bn.EMPLOYEE_SPOUSE


def test_a_valid_election_passes_and_each_bad_one_is_refused_with_its_reason():
    assert (
        problem(
            elect({"MED-PPO": "family", "DEN-DELTA": "family", "LIFE-BASIC": "employee_only"}, SPOUSE, CHILD)
        )
        is None
    )
    assert problem(elect({"MED-HMO-PW": "employee_only"})) == (
        "plan MED-HMO-PW is not open to E2001 (open: MED-PPO, DEN-DELTA, VIS-VSP, LIFE-BASIC, PERS-2)"
    )
    assert "does not match the dependants listed (1 spouse/partner: tier employee_spouse)" in problem(
        elect({"MED-PPO": "family"}, SPOUSE)
    )
    assert "more than one medical plan" in problem(
        elect(
            {"MED-PPO": "employee_only", "MED-HMO-PW": "employee_only"},
        ),
        offered=[plan_view(p) for p in PLANS],
    )
    assert (
        problem(elect({"LIFE-BASIC": "family"}))
        == "plan LIFE-BASIC has no tier family (tiers: employee_only)"
    )
    assert problem(elect({"LIFE-BASIC": "employee_only"}, SPOUSE)) == (
        "dependants are listed but no elected plan covers dependants"
    )
    two = bn.Dependant(relation="domestic_partner", date_of_birth=date(1985, 1, 1))
    assert problem(elect({"MED-PPO": "employee_spouse"}, SPOUSE, two)) == (
        "at most one spouse or domestic partner may be covered"
    )
    unborn = bn.Dependant(relation="child", date_of_birth=date(2027, 3, 1))
    assert problem(elect({"MED-PPO": "employee_children"}, unborn)) == (
        "dependant 1 (child) has a date of birth in the future"
    )


def test_a_child_is_covered_until_the_day_before_26_on_the_coverage_date():
    coverage = date(2027, 1, 1)
    turns_26_on_coverage = bn.Dependant(relation="child", date_of_birth=date(2001, 1, 1))
    turns_26_after = bn.Dependant(relation="child", date_of_birth=date(2001, 1, 2))
    assert rules.dependants_problem([turns_26_after], coverage, NOW.date()) is None
    refusal = rules.dependants_problem([turns_26_on_coverage], coverage, NOW.date())
    assert refusal == "dependant 1 (child) is 26 or older on 2027-01-01; only children under 26 are covered"
    assert "2001" not in refusal


def test_an_election_after_the_window_is_refused():
    medical = [p for p in OFFERED if p.plan_id == "MED-PPO"]
    closes = rules.window(bn.NEW_HIRE, date(2026, 11, 20), medical, NOW).closes_at
    assert problem(elect({"MED-PPO": "employee_only"}), now=closes, offered=medical) is None  # at the close
    late = problem(elect({"MED-PPO": "employee_only"}), now=closes.replace(second=1), offered=medical)
    assert late == "the enrollment window closed 2026-12-20 23:59 UTC"
    # the medical plan's 30 days are over while the retirement plan's 90 are not
    medical_late = datetime(2026, 12, 21, 12, 0, tzinfo=timezone.utc)
    window = rules.window(bn.NEW_HIRE, date(2026, 11, 20), OFFERED, NOW)
    assert (
        rules.election_problem(
            elect({"MED-PPO": "employee_only"}),
            OFFERED,
            employee_id="E2001",
            event=bn.NEW_HIRE,
            event_on=date(2026, 11, 20),
            closes_at=window.closes_at,
            coverage_on=window.coverage_on,
            now=medical_late,
        )
        == "the window of plan MED-PPO closed"
    )


@pytest.mark.parametrize(
    ("event", "allowed", "default", "outcome"),
    [
        (bn.NEW_HIRE, ["elect", "waive"], "waive", "waived"),
        (bn.LIFE_EVENT, ["elect", "waive"], "waive", "waived"),
        (bn.OPEN_ENROLLMENT, ["elect", "waive", "carry_over"], "carry_over", "carried_over"),
        (bn.COBRA, ["elect", "waive"], "lapse", "lapsed"),
    ],
)
def test_answers_and_defaults_by_event(event: str, allowed: list[str], default: str, outcome: str):
    assert rules.allowed_decisions(event) == allowed
    assert rules.default_decision(event) == default
    assert rules.outcome_of(default) == outcome


def test_what_ends_the_current_elections():
    assert rules.ends_current(bn.OPEN_ENROLLMENT, bn.ELECT)
    assert rules.ends_current(bn.OPEN_ENROLLMENT, bn.WAIVE)
    assert not rules.ends_current(bn.OPEN_ENROLLMENT, bn.CARRY_OVER)
    assert not rules.ends_current(bn.LIFE_EVENT, bn.WAIVE)  # a waived life event keeps what is there
    assert not rules.ends_current(bn.COBRA, bn.ELECT)  # the workflow ends every coverage at separation


def test_election_records_carry_the_carrier_premium_and_dependants_only_where_covered():
    records = rules.election_records(
        elect({"MED-PPO": "family", "LIFE-BASIC": "employee_only"}, SPOUSE, CHILD), OFFERED
    )
    assert [(r.plan_id, r.carrier, r.tier, len(r.dependants), r.monthly_premium_cents) for r in records] == [
        ("MED-PPO", "Regence BlueShield", "family", 2, 13500),
        ("LIFE-BASIC", "Standard Insurance", "employee_only", 0, 0),
    ]


# ----- beneficiaries and HR's audit --------------------------------------------------------------


def beneficiary(percent: int, name: str = "Ana Okafor") -> bn.Beneficiary:
    return bn.Beneficiary(name=name, relation="spouse", percent=percent, email="ana@mail.example")


def with_beneficiaries(plans: dict[str, str], *shares: int) -> BenefitElections:
    return elect(plans).model_copy(update={"beneficiaries": [beneficiary(s) for s in shares]})


def test_beneficiaries_need_a_life_plan_and_shares_totalling_exactly_100():
    life = {"LIFE-BASIC": "employee_only"}
    assert problem(with_beneficiaries(life, 100)) is None
    assert problem(with_beneficiaries(life, 60, 40)) is None
    assert problem(with_beneficiaries(life)) is None  # none designated: the estate
    refused = problem(with_beneficiaries(life, 60, 30))
    assert refused == "the beneficiaries' shares total 90 percent; they must total 100"
    assert "Ana" not in refused
    assert "total 110 percent" in (problem(with_beneficiaries(life, 60, 50)) or "")
    assert problem(with_beneficiaries({"MED-PPO": "employee_only"}, 100)) == (
        "beneficiaries are designated but no life plan is elected"
    )
    with pytest.raises(ValueError):
        beneficiary(0)
    with pytest.raises(ValueError):
        bn.Beneficiary(name="A", relation="spouse", percent=50, email="not an address")


def test_only_the_life_plan_record_carries_the_beneficiaries():
    elections = with_beneficiaries({"LIFE-BASIC": "employee_only", "MED-PPO": "employee_only"}, 100)
    records = {r.plan_id: r for r in rules.election_records(elections, OFFERED)}
    assert [b.name for b in records["LIFE-BASIC"].beneficiaries] == ["Ana Okafor"]
    assert records["MED-PPO"].beneficiaries == []


def test_the_audit_is_due_five_days_on_by_hr_staff_other_than_the_employee():
    assert rules.audit_due(NOW) == datetime(2026, 12, 4, 23, 59, tzinfo=timezone.utc)
    assert rules.auditors(["E1005", "E1008", "E1006"], "E1008") == ["E1005", "E1006"]
    assert rules.auditors(["E1008"], "E1008") == []


def test_an_election_may_be_returned_only_while_its_window_is_open():
    closes = datetime(2026, 12, 1, 23, 59, tzinfo=timezone.utc)
    assert rules.audit_return_problem(closes, closes) is None
    late = rules.audit_return_problem(datetime(2026, 12, 2, tzinfo=timezone.utc), closes)
    assert late is not None and "window closed 2026-12-01 23:59 UTC" in late
