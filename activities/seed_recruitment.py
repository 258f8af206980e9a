"""The demo recruitment: seed 001's Information Technology Accounting Technician announcement.

Used by ``hr demo --recruitment``, ``hr recruitment open --demo`` and the tests, so that what
they run is the seed's own posting: one vacancy in IT (position P-ITAT-02), $24.91-$30.29 an
hour starting at step 1, one year of vocational training plus two years of bookkeeping and
secretarial/clerical experience, and a criminal-conviction background check.
"""

from __future__ import annotations

from datetime import datetime

from schemas.recruitment import Announcement, Application, Experience, MinimumQualifications

ITAT_SUPPLEMENTAL_QUESTIONS = [
    "Describe your experience maintaining a full set of accounting books for a department or business.",
    "Describe how you have reconciled billing statements or chargebacks with vendors or departments.",
    "Describe the office support you have provided to a director and staff, and how you set priorities.",
]

DEMO_REQUESTER_ID = "E1008"
DEMO_HR_REVIEWER_ID = "E1006"
DEMO_HIRING_MANAGER_ID = "E1015"
"""The IT Accounting/Administrative Coordinator, who supervises position P-ITAT-02."""
DEMO_RATERS = ["E1011", "E1017"]
DEMO_PANEL = ["E1010", "E1015", "E1016"]


def itat_announcement(closes_at: datetime, background_checks: list[str] | None = None) -> Announcement:
    """Seed 001's announcement, closing at ``closes_at``."""
    return Announcement(
        class_code="ITAT",
        title="Information Technology Accounting Technician",
        department_code="IT",
        vacancies=1,
        position_ids=["P-ITAT-02"],
        pay_min=24.91,
        pay_max=30.29,
        pay_unit="hour",
        start_step=1,
        closes_at=closes_at,
        minimum_qualifications=MinimumQualifications(
            education="vocational",
            experience=[Experience(area="bookkeeping", years=2), Experience(area="clerical", years=2)],
        ),
        supplemental_questions=ITAT_SUPPLEMENTAL_QUESTIONS,
        background_checks=background_checks if background_checks is not None else ["criminal"],
        advertisements=["city website", "WorkSource Washington", "Bellingham Herald"],
    )


def demo_application(
    n: int, *, education: str = "vocational", bookkeeping: float = 3, clerical: float = 3
) -> Application:
    """A made-up applicant (``applicant{n}@example.org``); no real person's data."""
    return Application(
        name=f"Applicant {n:02d}",
        email=f"applicant{n:02d}@example.org",
        education=education,
        experience={"bookkeeping": bookkeeping, "clerical": clerical},
        supplemental_answers=[
            f"Answer {q + 1} of applicant {n:02d}." for q in range(len(ITAT_SUPPLEMENTAL_QUESTIONS))
        ],
    )
