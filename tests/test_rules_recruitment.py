"""Civil-service selection rules (seed 001, Bellingham): pure functions, no Temporal."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from schemas.eligibility_register import RegisterEntry
from schemas.recruitment import CandidateScore, Experience, MinimumQualifications, SelectionPlan
from workflows.rules.recruitment import (
    RuleRefused,
    Scored,
    applicant_fingerprint,
    applicant_id,
    assign_raters,
    certify,
    check_result,
    check_scores,
    final_score,
    mean_scores,
    needs_supplemental,
    not_before,
    oral_board_due,
    oral_board_invitees,
    passes,
    rank,
    register_expires_at,
    screen,
    screening_due,
    supplemental_due,
)

PLAN = SelectionPlan()
T0 = datetime(2022, 8, 1, 9, tzinfo=timezone.utc)
CLOSES = datetime(2022, 8, 19, 16, 30, tzinfo=timezone.utc)
AREA = "bookkeeping and secretarial/clerical"
SEED_MQ = MinimumQualifications(education="vocational", experience=[Experience(area=AREA, years=2)])


def _ids(n: int) -> list[str]:
    return [applicant_id(i) for i in range(1, n + 1)]


def _applied(ids: list[str]) -> dict[str, datetime]:
    """Applied one hour apart, in the order given."""
    return {a: T0 + timedelta(hours=i) for i, a in enumerate(ids)}


def _entry(aid: str, final: float, rank_: int, status: str = "active") -> RegisterEntry:
    return RegisterEntry.model_validate(
        {
            "applicant_id": aid,
            "final": final,
            "oral": final,
            "applied_at": T0,
            "rank": rank_,
            "status": status,
        }
    )


# ----- the path: supplemental review and oral board ---------------------------------------------


def test_supplemental_review_only_from_seven_qualified():
    assert not needs_supplemental(6, PLAN)
    assert needs_supplemental(7, PLAN)
    assert not needs_supplemental(0, PLAN)


def test_six_qualified_all_go_to_the_oral_board_in_the_order_given():
    ids = ["A004", "A001", "A006", "A002", "A005", "A003"]
    # No supplemental scores at all: six or fewer skip the review.
    assert oral_board_invitees(ids, {}, _applied(ids), PLAN) == ids


def test_seven_qualified_the_top_six_by_supplemental_go_and_the_seventh_does_not():
    ids = _ids(7)
    supplemental = {"A001": 40, "A002": 90, "A003": 70, "A004": 85, "A005": 60, "A006": 75, "A007": 95}
    invited = oral_board_invitees(ids, supplemental, _applied(ids), PLAN)
    assert invited == ["A007", "A002", "A004", "A006", "A003", "A005"]
    assert "A001" not in invited


def test_a_tie_at_the_cut_goes_to_the_earlier_application():
    ids = _ids(7)
    supplemental = {a: 90.0 for a in ids[:5]} | {"A006": 50.0, "A007": 50.0}
    applied = _applied(ids)
    applied["A007"] = T0 - timedelta(days=1)  # A007 applied first
    invited = oral_board_invitees(ids, supplemental, applied, PLAN)
    assert len(invited) == 6
    assert invited[-1] == "A007"
    assert "A006" not in invited


# ----- scores -----------------------------------------------------------------------------------


@pytest.mark.parametrize("qualified", [1, 6])
def test_six_or_fewer_the_oral_board_is_the_whole_score(qualified: int):
    assert final_score(73.5, None, qualified, PLAN) == 73.5
    # A supplemental score, if any, is ignored.
    assert final_score(73.5, 100.0, qualified, PLAN) == 73.5


@pytest.mark.parametrize("qualified", [7, 30])
def test_seven_or_more_supplemental_40_and_oral_60(qualified: int):
    assert final_score(70.0, 50.0, qualified, PLAN) == 62.0
    assert final_score(50.0, 70.0, qualified, PLAN) == 58.0  # the weights are not symmetric


def test_seven_or_more_without_a_supplemental_score_is_refused():
    with pytest.raises(RuleRefused, match="supplemental"):
        final_score(70.0, None, 7, PLAN)


def test_sixty_passes_and_just_below_does_not():
    assert passes(60.0, PLAN)
    assert not passes(59.99, PLAN)


def test_the_register_holds_only_passing_candidates_ranked_from_one():
    candidates = [
        Scored("A001", 60.0, 60.0, T0),
        Scored("A002", 59.99, 80.0, T0),
        Scored("A003", 88.0, 90.0, T0),
        Scored("A004", 71.25, 70.0, T0),
    ]
    register = rank(candidates, PLAN)
    assert [(e.applicant_id, e.rank) for e in register] == [("A003", 1), ("A004", 2), ("A001", 3)]
    assert register[0].final == 88.0 and register[0].oral == 90.0 and register[0].status == "active"


def test_equal_final_scores_rank_the_higher_oral_first():
    candidates = [Scored("A001", 75.0, 70.0, T0), Scored("A002", 75.0, 80.0, T0 + timedelta(days=1))]
    assert [e.applicant_id for e in rank(candidates, PLAN)] == ["A002", "A001"]


def test_equal_final_and_oral_rank_the_earlier_application_first():
    candidates = [
        Scored("A001", 75.0, 80.0, T0 + timedelta(hours=2)),
        Scored("A002", 75.0, 80.0, T0),
    ]
    assert [(e.applicant_id, e.rank) for e in rank(candidates, PLAN)] == [("A002", 1), ("A001", 2)]


def test_no_one_passing_leaves_an_empty_register():
    assert rank([Scored("A001", 10.0, 10.0, T0)], PLAN) == []


def test_mean_scores_is_the_panel_mean_over_those_who_scored():
    scores = {
        "P1": {"A001": 70.0, "A002": 80.0},
        "P2": {"A001": 75.0},
        "P3": {"A001": 81.0, "A002": 90.0},
    }
    means = mean_scores(scores)
    assert means == {"A001": 75.33, "A002": 85.0}  # 226/3 rounded; A002 over two scorers only


def test_mean_scores_of_no_scores_is_empty():
    assert mean_scores({}) == {}
    assert mean_scores({"P1": {}}) == {}


# ----- raters -----------------------------------------------------------------------------------


def test_each_candidate_gets_exactly_per_candidate_distinct_raters():
    candidates = _ids(7)
    raters = ["R1", "R2", "R3"]
    assigned = assign_raters(candidates, raters, 2)
    assert set(assigned) == set(raters)
    for c in candidates:
        scorers = [r for r, cs in assigned.items() if c in cs]
        assert len(scorers) == 2
    for cs in assigned.values():
        assert len(cs) == len(set(cs))  # a rater never scores the same candidate twice
        assert cs == [c for c in candidates if c in cs]  # in the candidates' order
    # Round-robin spreads the work: 14 scorings over 3 raters.
    assert sorted(len(cs) for cs in assigned.values()) == [4, 5, 5]


def test_more_per_candidate_than_raters_means_every_rater_scores_everyone():
    candidates = _ids(3)
    assert assign_raters(candidates, ["R1", "R2"], 5) == {"R1": candidates, "R2": candidates}


def test_no_raters_is_refused():
    with pytest.raises(RuleRefused, match="at least one rater"):
        assign_raters(_ids(7), [], 2)


# ----- scores entered by raters and panel members -----------------------------------------------


@pytest.mark.parametrize("value", [0.0, 100.0])
def test_scores_at_the_ends_of_the_scale_are_accepted(value: float):
    check_scores("R1", [CandidateScore(applicant_id="A001", score=value)], ["A001"])


@pytest.mark.parametrize(("value", "shown"), [(-1.0, "-1"), (100.5, "100.5")])
def test_scores_off_the_scale_are_refused_with_the_value(value: float, shown: str):
    with pytest.raises(RuleRefused, match=rf"A001: {shown} is outside 0-100"):
        check_scores("R1", [CandidateScore(applicant_id="A001", score=value)], ["A001"])


def test_a_score_for_an_unassigned_candidate_names_the_rater():
    with pytest.raises(RuleRefused, match="A009 is not assigned to R2"):
        check_scores("R2", [CandidateScore(applicant_id="A009", score=70)], ["A001", "A002"])


def test_a_candidate_twice_in_one_batch_is_refused():
    batch = [
        CandidateScore(applicant_id="A001", score=70),
        CandidateScore(applicant_id="A001", score=80),
    ]
    with pytest.raises(RuleRefused, match=r"score 2 \(A001\): A001 appears twice"):
        check_scores("R1", batch, ["A001"])


def test_in_a_batch_the_message_names_the_position_of_the_bad_score():
    batch = [
        CandidateScore(applicant_id="A001", score=70),
        CandidateScore(applicant_id="A002", score=80),
        CandidateScore(applicant_id="A003", score=101),
    ]
    with pytest.raises(RuleRefused, match=r"^score 3 \(A003\): 101 is outside"):
        check_scores("R1", batch, ["A001", "A002", "A003"])


def test_a_valid_batch_passes():
    batch = [CandidateScore(applicant_id=a, score=50 + i) for i, a in enumerate(_ids(3))]
    check_scores("R1", batch, _ids(3))


# ----- minimum qualifications -------------------------------------------------------------------


def test_vocational_training_and_two_years_meet_the_minimum():
    assert screen(SEED_MQ, "vocational", {AREA: 2.0}) == []


def test_education_below_the_requirement_is_a_reason():
    reasons = screen(SEED_MQ, "high_school", {AREA: 5.0})
    assert reasons == ["education high_school is below the required vocational"]


@pytest.mark.parametrize("degree", ["associate", "bachelor", "doctorate"])
def test_a_degree_meets_vocational_training(degree: str):
    assert screen(SEED_MQ, degree, {AREA: 2.0}) == []


def test_too_little_experience_is_a_reason_naming_the_years():
    reasons = screen(SEED_MQ, "vocational", {AREA: 1.5})
    assert len(reasons) == 1
    assert "1.5 of 2 years" in reasons[0] and AREA in reasons[0]


def test_experience_areas_match_regardless_of_case_and_spaces():
    assert screen(SEED_MQ, "vocational", {"  Bookkeeping and Secretarial/Clerical ": 2.0}) == []


def test_missing_experience_counts_as_zero_and_both_reasons_are_given():
    reasons = screen(SEED_MQ, "none", {"retail": 10.0})
    assert len(reasons) == 2
    assert reasons[1].startswith("0 of 2 years")


# ----- certification from the register ----------------------------------------------------------


def _register(*finals: float) -> list[RegisterEntry]:
    return [_entry(applicant_id(i), f, i) for i, f in enumerate(finals, start=1)]


def test_top_per_vacancy_three_names_for_one_vacancy_six_for_two():
    entries = _register(95, 90, 85, 80, 75, 70, 65)
    assert certify(entries, 1, PLAN) == ["A001", "A002", "A003"]
    assert certify(entries, 2, PLAN) == _ids(6)


def test_certification_skips_removed_and_hired_entries():
    entries = _register(95, 90, 85, 80, 75)
    entries[0].status = "hired"
    entries[2].status = "removed"
    assert certify(entries, 1, PLAN) == ["A002", "A004", "A005"]


def test_certification_follows_rank_not_list_order():
    entries = list(reversed(_register(95, 90, 85, 80)))
    assert certify(entries, 1, PLAN) == ["A001", "A002", "A003"]


def test_rule_of_n_adds_those_tied_with_the_last_name():
    plan = SelectionPlan(certification_rule="rule_of_n")
    entries = _register(95, 90, 85, 85, 85, 80)
    assert certify(entries, 1, plan) == ["A001", "A002", "A003", "A004", "A005"]
    assert certify(_register(95, 90, 85, 84.99), 1, plan) == ["A001", "A002", "A003"]


def test_within_points_certifies_everyone_within_the_points_of_the_top():
    plan = SelectionPlan(certification_rule="within_points", within_points=5.0)
    entries = _register(90, 87.5, 85, 84.99, 70)
    assert certify(entries, 1, plan) == ["A001", "A002", "A003"]


def test_within_points_includes_a_score_exactly_the_points_below_the_top():
    plan = SelectionPlan(certification_rule="within_points", within_points=5.0)
    assert certify(_register(64.01, 59.01), 1, plan) == ["A001", "A002"]


@pytest.mark.parametrize("rule", ["top_per_vacancy", "rule_of_n", "within_points"])
def test_an_empty_register_certifies_no_one(rule: str):
    plan = SelectionPlan(certification_rule=rule)  # type: ignore[arg-type]
    assert certify([], 1, plan) == []
    assert certify([_entry("A001", 90, 1, "removed")], 1, plan) == []


# ----- applicant identity -----------------------------------------------------------------------


def test_the_same_email_in_a_different_case_or_with_spaces_is_the_same_applicant():
    assert applicant_fingerprint("R-2022-1", "Pat.Lee@Example.org") == applicant_fingerprint(
        "R-2022-1", "  pat.lee@example.org "
    )
    assert applicant_fingerprint("R-2022-1", "pat.lee@example.org") != applicant_fingerprint(
        "R-2022-1", "pat.lea@example.org"
    )


def test_the_same_email_in_another_recruitment_is_a_different_fingerprint():
    assert applicant_fingerprint("R-2022-1", "pat@example.org") != applicant_fingerprint(
        "R-2022-2", "pat@example.org"
    )


def test_the_fingerprint_does_not_carry_the_email():
    fp = applicant_fingerprint("R-2022-1", "pat@example.org")
    assert "pat" not in fp and "example" not in fp and "@" not in fp
    assert len(fp) == 24


def test_applicant_ids_are_zero_padded():
    assert applicant_id(7) == "A007"
    assert applicant_id(1) == "A001"
    assert applicant_id(1234) == "A1234"


# ----- background checks ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("check", "result", "required", "reason"),
    [
        ("polygraph", "clear", ["criminal"], "unknown background check 'polygraph'"),
        ("mvr", "clear", ["criminal"], "'mvr' is not required"),
        ("criminal", "pending", ["criminal"], "result must be one of clear, potentially_disqualifying"),
    ],
)
def test_bad_check_results_are_refused(check: str, result: str, required: list[str], reason: str):
    with pytest.raises(RuleRefused, match=reason):
        check_result(check, result, required)


@pytest.mark.parametrize("result", ["clear", "potentially_disqualifying"])
def test_a_required_check_with_a_known_result_passes(result: str):
    check_result("criminal", result, ["criminal", "mvr"])


# ----- deadlines --------------------------------------------------------------------------------


def test_the_seed_timeline_from_the_close():
    # Seed 001: closes Aug 19 4:30 pm; status ~Aug 23; supplemental ~Aug 31; oral boards week of Sep 6.
    assert screening_due(CLOSES, PLAN) == datetime(2022, 8, 23, 16, 30, tzinfo=timezone.utc)
    assert supplemental_due(CLOSES, PLAN) == datetime(2022, 8, 31, 16, 30, tzinfo=timezone.utc)
    assert oral_board_due(CLOSES, PLAN) == datetime(2022, 9, 9, 16, 30, tzinfo=timezone.utc)


def test_a_passed_due_date_moves_to_three_days_from_now_and_a_future_one_stays():
    now = datetime(2022, 9, 1, 12, tzinfo=timezone.utc)
    assert not_before(screening_due(CLOSES, PLAN), now) == now + timedelta(days=3)
    assert not_before(oral_board_due(CLOSES, PLAN), now) == oral_board_due(CLOSES, PLAN)
    assert not_before(now - timedelta(days=1), now, days=5) == now + timedelta(days=5)


def test_the_register_expires_register_months_of_thirty_days_later():
    established = datetime(2022, 9, 20, 9, tzinfo=timezone.utc)
    assert register_expires_at(established, PLAN) == established + timedelta(days=360)
    assert register_expires_at(established, SelectionPlan(register_months=6)) == established + timedelta(
        days=180
    )


def test_ties_keep_applicant_ids_in_the_order_received_past_a999():
    plan = SelectionPlan()
    t = datetime(2026, 11, 1, tzinfo=timezone.utc)
    ids = [f"A{n:03d}" for n in range(995, 1005)]  # A995 ... A999, A1000 ... A1004
    invitees = oral_board_invitees(ids, dict.fromkeys(ids, 70.0), dict.fromkeys(ids, t), plan)
    assert invitees == ["A995", "A996", "A997", "A998", "A999", "A1000"]
    ranked = rank([Scored(a, 80.0, 80.0, t) for a in reversed(ids)], plan)
    assert [e.applicant_id for e in ranked][:6] == invitees
