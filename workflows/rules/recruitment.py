"""The civil-service selection rules, as pure functions (seed 001's "Selection Process").

No I/O and no clock: the workflow passes ``now`` in. Unit tests call these directly.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from schemas.eligibility_register import RegisterEntry
from schemas.recruitment import (
    BACKGROUND_CHECKS,
    CHECK_RESULTS,
    EDUCATION_LEVELS,
    CandidateScore,
    MinimumQualifications,
    SelectionPlan,
)

MIN_SCORE = 0.0
MAX_SCORE = 100.0


class RuleRefused(ValueError):
    """An input the rules refuse; the message is the one-line reason."""


# ----- minimum qualifications ------------------------------------------------------------------


def screen(mq: MinimumQualifications, education: str, experience: Mapping[str, float]) -> list[str]:
    """The automatic minimum-qualification screen.

    Returns:
        The reasons the applicant does not meet the minimum qualifications; empty when they do.
    """
    reasons: list[str] = []
    if EDUCATION_LEVELS.index(education) < EDUCATION_LEVELS.index(mq.education):
        reasons.append(f"education {education} is below the required {mq.education}")
    have = {area.strip().lower(): years for area, years in experience.items()}
    for need in mq.experience:
        years = have.get(need.area.strip().lower(), 0.0)
        if years < need.years:
            reasons.append(f"{years:g} of {need.years:g} years of {need.area} experience")
    return reasons


def applicant_fingerprint(recruitment_id: str, email: str) -> str:
    """A duplicate-application key that keeps the e-mail address out of workflow state."""
    normal = email.strip().lower()
    return hashlib.sha256(f"{recruitment_id}:{normal}".encode()).hexdigest()[:24]


def applicant_id(number: int) -> str:
    """The id of the ``number``-th application (1-based): ``A001``."""
    return f"A{number:03d}"


def in_order(aid: str) -> tuple[int, str]:
    """A sort key that keeps applicant ids in the order received: A999 before A1000."""
    return len(aid), aid


# ----- the path through the selection process ----------------------------------------------------


def needs_supplemental(qualified: int, plan: SelectionPlan) -> bool:
    """Seed 001: seven or more qualified → supplemental question review; six or fewer → not."""
    return qualified >= plan.supplemental_threshold


def assign_raters(
    candidates: Sequence[str], raters: Sequence[str], per_candidate: int
) -> dict[str, list[str]]:
    """Which candidates each rater scores, round-robin, each candidate by ``per_candidate`` raters.

    Returns:
        rater id -> candidate ids, in the candidates' order; every rater appears.
    """
    if not raters:
        raise RuleRefused("a supplemental review needs at least one rater")
    per = max(1, min(per_candidate, len(raters)))
    assigned: dict[str, list[str]] = {r: [] for r in raters}
    for i, candidate in enumerate(candidates):
        for k in range(per):
            assigned[raters[(i + k) % len(raters)]].append(candidate)
    return assigned


def mean_scores(scores: Mapping[str, Mapping[str, float]]) -> dict[str, float]:
    """Each candidate's mean over the scorers who scored them (seed 001: the panel mean).

    Args:
        scores: scorer id -> candidate id -> score.
    """
    by_candidate: dict[str, list[float]] = {}
    for per_scorer in scores.values():
        for candidate, score in per_scorer.items():
            by_candidate.setdefault(candidate, []).append(score)
    return {c: round(sum(v) / len(v), 2) for c, v in by_candidate.items()}


def oral_board_invitees(
    qualified: Sequence[str],
    supplemental: Mapping[str, float],
    applied_at: Mapping[str, datetime],
    plan: SelectionPlan,
) -> list[str]:
    """Who goes to the oral board.

    Seed 001: six or fewer qualified → all of them; seven or more → the top six of the
    supplemental review. A tie at the cut goes to the earlier application.
    """
    if not needs_supplemental(len(qualified), plan):
        return list(qualified)
    ranked = sorted(qualified, key=lambda c: (-supplemental.get(c, 0.0), applied_at[c], *in_order(c)))
    return ranked[: plan.oral_board_size]


def final_score(oral: float, supplemental: float | None, qualified: int, plan: SelectionPlan) -> float:
    """Seed 001: six or fewer qualified → oral board 100 %; seven or more → 40 % + 60 %."""
    if not needs_supplemental(qualified, plan):
        return round(oral, 2)
    if supplemental is None:
        raise RuleRefused("seven or more qualified: a supplemental score is needed")
    total = plan.supplemental_weight + plan.oral_weight
    return round((supplemental * plan.supplemental_weight + oral * plan.oral_weight) / total, 2)


def passes(final: float, plan: SelectionPlan) -> bool:
    """Seed 001: a passing score of 60 % or higher places the candidate on the register."""
    return final >= plan.pass_point


@dataclass(frozen=True)
class Scored:
    applicant_id: str
    final: float
    oral: float
    applied_at: datetime


def rank(candidates: Sequence[Scored], plan: SelectionPlan) -> list[RegisterEntry]:
    """The eligibility register: passing candidates by final score.

    Ties: the higher oral score, then the earlier application (DESIGN section 5).
    """
    passing = [c for c in candidates if passes(c.final, plan)]
    ordered = sorted(passing, key=lambda c: (-c.final, -c.oral, c.applied_at, *in_order(c.applicant_id)))
    return [
        RegisterEntry(
            applicant_id=c.applicant_id, final=c.final, oral=c.oral, applied_at=c.applied_at, rank=i
        )
        for i, c in enumerate(ordered, start=1)
    ]


def certify(
    entries: Sequence[RegisterEntry], vacancies: int, plan: SelectionPlan, exclude: Sequence[str] = ()
) -> list[str]:
    """The names certified to the department for ``vacancies``, from the active entries.

    ``top_per_vacancy``: the top ``names_per_vacancy`` per vacancy; ``rule_of_n``: the same
    count, plus anyone tied with the last name; ``within_points``: everyone within
    ``within_points`` of the top active score. Names in ``exclude`` (passed over by the
    department for these vacancies) stay on the register but are not certified.
    """
    skipped = set(exclude)
    active = sorted(
        (e for e in entries if e.status == "active" and e.applicant_id not in skipped), key=lambda e: e.rank
    )
    if not active:
        return []
    if plan.certification_rule == "within_points":
        top = active[0].final
        return [e.applicant_id for e in active if round(top - e.final, 2) <= plan.within_points]
    count = plan.names_per_vacancy * vacancies
    chosen = active[:count]
    if plan.certification_rule == "rule_of_n" and len(active) > count:
        last = chosen[-1].final
        chosen += [e for e in active[count:] if e.final == last]
    return [e.applicant_id for e in chosen]


# ----- validation of human input ----------------------------------------------------------------


def check_scores(
    scorer_id: str,
    scores: Sequence[CandidateScore],
    assigned: Sequence[str],
) -> None:
    """Refuses a batch of scores unless every one is in 0-100 and for an assigned candidate.

    Raises:
        RuleRefused: naming the first bad entry; the whole batch is then refused.
    """
    seen: set[str] = set()
    for n, entry in enumerate(scores, start=1):
        where = f"score {n} ({entry.applicant_id})" if len(scores) > 1 else entry.applicant_id
        if not MIN_SCORE <= entry.score <= MAX_SCORE:
            raise RuleRefused(f"{where}: {entry.score:g} is outside {MIN_SCORE:g}-{MAX_SCORE:g}")
        if entry.applicant_id not in assigned:
            raise RuleRefused(f"{where}: {entry.applicant_id} is not assigned to {scorer_id}")
        if entry.applicant_id in seen:
            raise RuleRefused(f"{where}: {entry.applicant_id} appears twice")
        seen.add(entry.applicant_id)


def check_result(check: str, result: str, required: Sequence[str]) -> None:
    if check not in BACKGROUND_CHECKS:
        raise RuleRefused(f"unknown background check {check!r} (known: {', '.join(BACKGROUND_CHECKS)})")
    if check not in required:
        raise RuleRefused(f"background check {check!r} is not required for this position")
    if result not in CHECK_RESULTS:
        raise RuleRefused(f"result must be one of {', '.join(CHECK_RESULTS)}")


# ----- deadlines -----------------------------------------------------------------------------------


def screening_due(closes_at: datetime, plan: SelectionPlan) -> datetime:
    """Seed 001: applicant status updated on or around 4 days after the close."""
    return closes_at + timedelta(days=plan.status_update_days)


def supplemental_due(closes_at: datetime, plan: SelectionPlan) -> datetime:
    """Seed 001: supplemental review results on or around 12 days after the close."""
    return closes_at + timedelta(days=plan.supplemental_days)


def oral_board_due(closes_at: datetime, plan: SelectionPlan) -> datetime:
    """Seed 001: oral boards the week of Sep 6, i.e. done by 21 days after the close."""
    return closes_at + timedelta(days=plan.oral_board_days)


def not_before(due: datetime, now: datetime, days: int = 3) -> datetime:
    """A seed-timeline due date that has already passed moves to ``days`` from now."""
    return max(due, now + timedelta(days=days))


def register_expires_at(established_at: datetime, plan: SelectionPlan) -> datetime:
    """The register's expiry date: ``register_months`` after it is established (30-day months)."""
    return established_at + timedelta(days=30 * plan.register_months)
