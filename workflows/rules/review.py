"""Rules of the job-description review cycle that are not about time."""

from __future__ import annotations

from schemas.human_step import PROCEED, REVISE, WITHDRAW


def hr_choices(round_: int, max_rounds: int) -> list[str]:
    """What HR may answer to requested changes or an objection: revise only while rounds remain."""
    if round_ >= max_rounds:
        return [PROCEED, WITHDRAW]
    return [REVISE, PROCEED, WITHDRAW]
