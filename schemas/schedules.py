"""Contracts of the scheduled runs (service/schedules.py, workflows/scheduled_sweep.py)."""

from __future__ import annotations

from pydantic import BaseModel, Field

SCHEDULED_SWEEP_WORKFLOW = "ScheduledReviewSweep"


class ScheduledSweepInput(BaseModel):
    """The yearly sweep's fixed input: the cycle is the year the schedule fires in."""

    requested_by: str = Field(min_length=1, max_length=64)
    older_than_years: int = Field(default=10, ge=1, le=100)
    batch_size: int = Field(default=10, ge=1, le=100)


class ScheduledSweepResult(BaseModel):
    cycle: str
    sweep_workflow_id: str
    started_here: bool
    """False when a sweep of that cycle was already running (started by hand): nothing doubled."""
