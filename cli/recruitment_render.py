"""What ``hr recruitment status`` and ``hr register …`` print: the recruitment and register tables.

Pure functions from the workflows' query results (and, for the register and the CSV exports,
applicants' names from the store) to text; the commands echo what they return. The ``--csv``
exports go through ``cli/csv_out.py``, which neutralises spreadsheet formulas.
``cli/render.py`` holds what every command shares (times, steps, receipts).
"""

from __future__ import annotations

from temporalio.client import WorkflowExecution

from cli.csv_out import write_csv
from cli.render import fmt_time, render_step
from schemas import recruitment as rc
from schemas.eligibility_register import Certification, RegisterEntry, RegisterStatus


def num(value: float | None) -> str:
    return "-" if value is None else f"{value:g}"


def _state(execution: WorkflowExecution | None) -> str:
    return execution.status.name.title() if execution is not None and execution.status else "Unknown"


def render_recruitment(execution: WorkflowExecution | None, s: rc.RecruitmentStatus) -> str:
    """The status query for people: stage, counts, open steps, candidates, certification, outcome."""
    c = s.counts
    lines = [
        f"{s.workflow_id}  Recruitment {s.recruitment_id} ({s.class_code})  {_state(execution)}",
        f"  stage: {s.stage}",
        f"  applications close: {fmt_time(s.closes_at)}",
        f"  counts: applied {c.applied} · qualified {c.qualified} · oral board {c.oral_board} · "
        f"on register {c.on_register}",
        "  open steps:" + ("" if s.open_steps else " none"),
    ]
    for step in s.open_steps:
        lines += render_step(step, open_=True)
        scorers = s.assignments.get(step.step_id)
        if scorers:
            lines.append(
                "      assigned: "
                + "; ".join(f"{p} {len(cands)} candidate(s)" for p, cands in scorers.items())
            )
    lines.append("  candidates:" + ("" if s.candidates else " none"))
    if s.candidates:
        lines.append(
            f"    {'ID':<6} {'APPLIED':<21} {'QUALIFIED':<10} {'SUPPL.':>7} {'ORAL':>6} {'FINAL':>6} "
            f"{'RANK':>4}  DISPOSITION"
        )
    notes: list[str] = []
    for cand in s.candidates:
        qualified = "-" if cand.qualified is None else ("yes" if cand.qualified else "no")
        if cand.override_reason:
            qualified += "*"
            notes.append(f"    {cand.applicant_id}* screen overridden: {cand.override_reason}")
        elif cand.screen_reasons and not cand.qualified:
            notes.append(f"    {cand.applicant_id}: {'; '.join(cand.screen_reasons)}")
        rank = str(cand.rank) if cand.rank else "-"
        lines.append(
            f"    {cand.applicant_id:<6} {fmt_time(cand.applied_at):<21} {qualified:<10} "
            f"{num(cand.supplemental):>7} {num(cand.oral):>6} {num(cand.final):>6} {rank:>4}  "
            f"{cand.disposition or '-'}"
        )
    if notes:
        lines.append("  screen:")
        lines += notes
    if s.certified:
        lines.append(f"  certified: {', '.join(s.certified)}")
    if s.selected:
        lines.append(f"  selected: {s.selected}")
    if s.offer:
        o = s.offer
        lines.append(
            f"  offer: {o.applicant_id}, position {o.position_id or '(first open)'}, "
            f"start {o.start_date}, pay step {o.pay_step}"
        )
    if s.checks:
        lines.append("  checks: " + ", ".join(f"{k} {v}" for k, v in s.checks.items()))
    if s.outcome:
        hired = f" (employee {s.employee_id})" if s.employee_id else ""
        lines.append(f"  outcome: {s.outcome}{hired}")
    return "\n".join(lines)


def _entry_status(entry: RegisterEntry) -> str:
    if entry.reason and entry.reason != entry.status:
        return f"{entry.status} ({entry.reason})"
    return entry.status


def render_register(
    s: RegisterStatus, names: dict[str, str], execution: WorkflowExecution | None = None
) -> str:
    """The register's ranking with the applicants' names (HR's terminal only)."""
    filled = f" ({', '.join(s.filled)})" if s.filled else ""
    lines = [
        f"{rc.register_workflow_id(s.recruitment_id)}  EligibilityRegister ({s.class_code})  "
        f"{_state(execution)}",
        f"  {'open' if s.open else 'closed'} · vacancies filled {len(s.filled)}/{s.vacancies}{filled} · "
        f"expires {fmt_time(s.expires_at)}",
    ]
    width = max([4, *(len(names.get(e.applicant_id, "-")) for e in s.entries)])
    lines.append(
        f"  {'RANK':>4}  {'APPLICANT':<9}  {'NAME':<{width}}  {'FINAL':>6}  {'ORAL':>6}  "
        f"{'STATUS':<22}  CERTIFIED"
    )
    for e in sorted(s.entries, key=lambda e: e.rank):
        lines.append(
            f"  {e.rank:>4}  {e.applicant_id:<9}  {names.get(e.applicant_id, '-'):<{width}}  "
            f"{num(e.final):>6}  {num(e.oral):>6}  {_entry_status(e):<22}  {e.times_certified}"
        )
    if not s.entries:
        lines.append("  nobody passed")
    for cert in s.certifications:
        lines.append(
            f"  certified {fmt_time(cert.at)} for {cert.request_id} by {cert.certified_by} "
            f"({cert.vacancies} vacancy(ies), {cert.rule}): {', '.join(cert.applicant_ids)}"
        )
    return "\n".join(lines)


def _cell(value: float | None) -> str:
    return "" if value is None else f"{value:g}"


RECRUITMENT_CSV_HEADER = (
    "applicant_id",
    "name",
    "applied_at",
    "qualified",
    "screen_note",
    "supplemental",
    "oral",
    "final",
    "rank",
    "disposition",
    "certified",
    "selected",
)


def recruitment_csv(s: rc.RecruitmentStatus, names: dict[str, str]) -> str:
    """The candidates, with the applicants' names from the store, their screen, scores, rank and
    disposition, as CSV for a spreadsheet (``cli/csv_out.py`` neutralises formulas)."""
    rows = []
    for cand in s.candidates:
        qualified = "" if cand.qualified is None else ("yes" if cand.qualified else "no")
        note = cand.override_reason or ("; ".join(cand.screen_reasons) if not cand.qualified else "")
        rows.append(
            (
                cand.applicant_id,
                names.get(cand.applicant_id, ""),
                cand.applied_at.isoformat(),
                qualified,
                note,
                _cell(cand.supplemental),
                _cell(cand.oral),
                _cell(cand.final),
                cand.rank or "",
                cand.disposition or "",
                "yes" if cand.applicant_id in s.certified else "",
                "yes" if cand.applicant_id == s.selected else "",
            )
        )
    return write_csv(rows, RECRUITMENT_CSV_HEADER)


REGISTER_CSV_HEADER = ("rank", "applicant_id", "name", "final", "oral", "status", "reason", "times_certified")


def register_csv(s: RegisterStatus, names: dict[str, str]) -> str:
    """The register's ranking with the applicants' names from the store, as CSV for a spreadsheet."""
    rows = [
        (
            e.rank,
            e.applicant_id,
            names.get(e.applicant_id, ""),
            _cell(e.final),
            _cell(e.oral),
            e.status,
            e.reason or "",
            e.times_certified,
        )
        for e in sorted(s.entries, key=lambda e: e.rank)
    ]
    return write_csv(rows, REGISTER_CSV_HEADER)


def render_certification(cert: Certification, names: dict[str, str]) -> str:
    who = ", ".join(f"{a} {names.get(a, '')}".strip() for a in cert.applicant_ids) or "nobody"
    return (
        f"certified for {cert.request_id} ({cert.vacancies} vacancy(ies), {cert.rule}) "
        f"by {cert.certified_by} at {fmt_time(cert.at)}: {who}"
    )
