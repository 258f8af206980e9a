"""Recruitments end to end on the time-skipping server, with real activities, store and SMTP."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session, select

from activities.seed_recruitment import demo_application
from schemas import recruitment as rc
from schemas.eligibility_register import RegisterResult
from schemas.tables import Applicant, Hire, Person, Position
from tests.harness_common import delivered as wait_for_delivery
from tests.recruitment_harness import Hiring


async def test_four_qualified_go_straight_to_the_oral_board_which_is_the_whole_score(hiring: Hiring):
    handle = await hiring.open()
    await hiring.approve_and_post(handle)
    receipt = await hiring.apply(handle, [demo_application(n) for n in range(1, 5)])
    assert receipt.applicant_ids == ["A001", "A002", "A003", "A004"]
    await hiring.close_applications(handle)
    await hiring.confirm_screen(handle)

    # seed 001: six or fewer qualified → all to the oral board, no supplemental review
    oral = {"A001": 70.0, "A002": 90.0, "A003": 59.0, "A004": 80.0}
    await hiring.score_step(handle, "oral-board", oral)
    status = await hiring.wait_for_stage(handle, rc.SELECTION)
    assert "supplemental" not in {s.step_id for s in status.open_steps}
    assert "supplemental" not in status.assignments
    by_id = {c.applicant_id: c for c in status.candidates}
    # oral board is 100 % of the score: the final equals the panel mean
    assert {a: by_id[a].final for a in oral} == oral
    assert [by_id[a].rank for a in ("A002", "A004", "A001", "A003")] == [1, 2, 3, None]
    assert by_id["A003"].disposition == "did_not_pass"
    assert status.counts == rc.RecruitmentCounts(applied=4, qualified=4, oral_board=4, on_register=3)
    assert status.certified == ["A002", "A004", "A001"]

    await hiring.select_offer_accept(handle, "A004")
    await hiring.wait_for_step(handle, "background-1")
    await hiring.record_check(handle, "A004", "criminal")
    result = await handle.result()
    assert result.outcome == rc.HIRED and result.applicant_id == "A004"
    assert result.employee_id == "E1031"

    notices = hiring.notices(handle.id, status.recruitment_id)
    assert notices["A003"] == [
        "application_received",
        "mq_qualified",
        "oral_board_invited",
        "final_not_passed",
    ]
    assert notices["A004"][-2:] == ["conditional_offer", "hired"]
    register = hiring.client.get_workflow_handle(result.register_workflow_id, result_type=RegisterResult)
    assert (await register.result()).outcome == "filled"


SUPPLEMENTAL = {  # mean of the two raters' scores (both raters score everyone)
    "A001": (80, 90),  # 85
    "A002": (70, 70),  # 70
    "A003": (90, 80),  # 85
    "A004": (60, 60),  # 60 ┐ four at 60 for the last three places: the earlier
    "A005": (55, 65),  # 60 │ applications (A004, A005 from the first batch, then A007)
    "A006": (40, 50),  # 45 │ go; A009 applied last and stays out
    "A007": (60, 60),  # 60 │
    "A009": (65, 55),  # 60 ┘
}
ORAL = {  # the three panel members' scores
    "A001": (80, 70, 90),  # 80 → 0.4·85 + 0.6·80 = 82
    "A002": (80, 80, 80),  # 80 → 0.4·70 + 0.6·80 = 76, ties A003 and wins on the oral score
    "A003": (70, 70, 70),  # 70 → 0.4·85 + 0.6·70 = 76
    "A004": (90, 90, 90),  # 90 → 0.4·60 + 0.6·90 = 78
    "A005": (60, 60, 60),  # 60 → 0.4·60 + 0.6·60 = 60, exactly the pass point
    "A007": (50, 50, 50),  # 50 → 0.4·60 + 0.6·50 = 54, does not pass
}


async def test_nine_applicants_through_supplemental_review_and_oral_board_to_hire(hiring: Hiring):
    handle = await hiring.open(checks=["criminal", "education"])
    await hiring.approve_and_post(handle)
    first = await hiring.apply(handle, [demo_application(n) for n in range(1, 6)])
    await hiring.env.sleep(timedelta(days=1))
    second = await hiring.apply(
        handle,
        [
            demo_application(6),
            demo_application(7),
            demo_application(8, education="high_school"),  # below the vocational training required
            demo_application(9, clerical=1.5),  # short of two years' clerical experience
        ],
    )
    assert first.applicant_ids + second.applicant_ids == [f"A00{n}" for n in range(1, 10)]
    status = await hiring.close_applications(handle)
    by_id = {c.applicant_id: c for c in status.candidates}
    assert by_id["A008"].qualified is False and by_id["A009"].qualified is False
    assert by_id["A009"].screen_reasons == ["1.5 of 2 years of clerical experience"]

    await hiring.wait_for_step(handle, "mq-review")
    await handle.execute_update(
        "override_screen",
        rc.ScreenOverrideInput(
            actor_id="E1006", applicant_id="A009", qualified=True, reason="volunteer treasurer work verified"
        ),
        result_type=rc.CandidateView,
    )
    await hiring.confirm_screen(handle)

    # 8 qualified (seven or more): supplemental review by the raters, top six to the oral board
    status = await hiring.wait_for_step(handle, "supplemental")
    assert set(status.assignments["supplemental"]) == {"E1011", "E1017"}
    for i, rater in enumerate(("E1011", "E1017")):
        await hiring.score(handle, rater, {a: s[i] for a, s in SUPPLEMENTAL.items()}, step_id="supplemental")
    status = await hiring.wait_for_step(handle, "oral-board")
    assert sorted(status.assignments["oral-board"]["E1010"]) == [
        "A001",
        "A002",
        "A003",
        "A004",
        "A005",
        "A007",
    ]
    for i, member in enumerate(("E1010", "E1015", "E1016")):
        await hiring.score(handle, member, {a: s[i] for a, s in ORAL.items()}, step_id="oral-board")

    status = await hiring.wait_for_stage(handle, rc.SELECTION)
    by_id = {c.applicant_id: c for c in status.candidates}
    ranked = sorted((c for c in status.candidates if c.rank), key=lambda c: c.rank or 0)
    assert [(c.applicant_id, c.final) for c in ranked] == [
        ("A001", 82.0),
        ("A004", 78.0),
        ("A002", 76.0),
        ("A003", 76.0),
        ("A005", 60.0),
    ]
    assert by_id["A007"].final == 54.0 and by_id["A007"].disposition == "did_not_pass"
    assert by_id["A006"].disposition == by_id["A009"].disposition == "not_invited_to_oral_board"
    assert by_id["A008"].disposition == "not_qualified"
    assert status.counts == rc.RecruitmentCounts(applied=9, qualified=8, oral_board=6, on_register=5)
    assert status.certified == ["A001", "A004", "A002"]  # three names for one vacancy

    await hiring.select_offer_accept(handle, "A004")
    await hiring.wait_for_step(handle, "background-1")
    await hiring.record_check(handle, "A004", "criminal")
    await hiring.record_check(handle, "A004", "education")
    result = await handle.result()
    assert (result.outcome, result.applicant_id, result.employee_id) == (rc.HIRED, "A004", "E1031")

    with Session(hiring.engine) as s:
        position = s.get(Position, "P-ITAT-02")
        person = s.get(Person, "E1031")
        applicants = {a.applicant_id: a for a in s.exec(select(Applicant)).all()}
        hires = s.exec(select(Hire)).all()
    assert position is not None and position.incumbent_id == "E1031"
    assert (
        person is not None and person.email == "applicant04@example.org" and person.supervisor_id == "E1015"
    )
    assert len(hires) == 1
    assert {a: (r.final, r.rank) for a, r in applicants.items() if r.rank} == {
        "A001": (82.0, 1),
        "A004": (78.0, 2),
        "A002": (76.0, 3),
        "A003": (76.0, 4),
        "A005": (60.0, 5),
    }
    assert applicants["A004"].disposition == "hired" and applicants["A009"].override_reason

    notices = hiring.notices(handle.id, status.recruitment_id)
    assert notices == {
        "A001": [
            "application_received",
            "mq_qualified",
            "supplemental_invited",
            "final_passed",
            "certified",
            "not_selected",
        ],
        "A002": [
            "application_received",
            "mq_qualified",
            "supplemental_invited",
            "final_passed",
            "certified",
            "not_selected",
        ],
        "A003": ["application_received", "mq_qualified", "supplemental_invited", "final_passed"],
        "A004": [
            "application_received",
            "mq_qualified",
            "supplemental_invited",
            "final_passed",
            "certified",
            "conditional_offer",
            "hired",
        ],
        "A005": ["application_received", "mq_qualified", "supplemental_invited", "final_passed"],
        "A006": ["application_received", "mq_qualified", "supplemental_not_invited"],
        "A007": ["application_received", "mq_qualified", "supplemental_invited", "final_not_passed"],
        "A008": ["application_received", "mq_not_qualified"],
        "A009": ["application_received", "mq_qualified", "supplemental_not_invited"],
    }
    await wait_for_delivery(hiring.engine, hiring.smtp, handle.id)
    applicant_rows = [r for r in hiring.outbox(handle.id) if r.recipient_id.startswith(status.recruitment_id)]
    assert {r.status for r in applicant_rows} == {"sent"}
    delivered = [  # the hire's onboarding writes to the new employee (an applicant's address) too
        m
        for m in hiring.smtp.messages
        if m["To"].startswith("applicant") and m["X-HR-Workflow-Id"] == handle.id
    ]
    assert len(delivered) == len(applicant_rows) == 39  # 9 + 9 + 8 + 6 + 3 + 1 + 1 + 2
    rank_notice = next(
        r for r in applicant_rows if r.recipient_id.endswith(":A002") and "final_passed" in r.key
    )
    assert "76" in rank_notice.body and "3" in rank_notice.body

    actions = [(e.step_id, e.actor_id, e.action) for e in hiring.audit(handle.id)]
    assert ("mq-review", "E1006", "screen_overridden") in actions
    assert ("supplemental", "E1017", "scored") in actions
    assert ("hire", "E1006", "hired") in actions
    register = hiring.client.get_workflow_handle(result.register_workflow_id, result_type=RegisterResult)
    assert (await register.result()).outcome == "filled"
