"""Who may answer a human step, how, with what, and when the step is done (DESIGN section 4).

Every answer to every step, whether the generic decision (``hr decide``, an Update or a signal)
or a process's dedicated Update (an offer, scores, a background check), passes ``select_step``
and ``check_answer``: the one check of the right step, the right way, the right person and a
well-formed answer.
"""

from __future__ import annotations

from collections.abc import Mapping

from schemas.credentials import Credential
from schemas.decision_details import DecisionDetails, parse_details
from schemas.human_step import APPROVE, Answer, DecisionInput, StepSpec, StepState


class DecisionRefused(ValueError):
    """A decision that must change nothing; the message is the one-line reason."""


def pending(spec: StepSpec, answers: Mapping[str, Answer]) -> list[str]:
    """Participants who still have to answer, in the step's order (nobody, once a step of mode
    ``any`` has its answer)."""
    if spec.mode == "any" and answers:
        return []
    return [p.person_id for p in spec.participants if p.person_id not in answers]


def is_complete(spec: StepSpec, answers: Mapping[str, Answer]) -> bool:
    """``all``: everyone answered (or was defaulted); ``any``: someone did."""
    if spec.mode == "any":
        return bool(answers) or not spec.participants
    return not pending(spec, answers)


def escalation_targets(spec: StepSpec, waiting: list[str]) -> dict[str, list[str]]:
    """Who hears of whom when a step is overdue: target id -> the overdue people, in order.

    A person's own ``escalate_to``, else the policy's fallback; nobody is escalated to
    themselves (an overdue HR supervisor is not reported to the HR supervisor).
    """
    by_target: dict[str, list[str]] = {}
    for participant in spec.participants:
        if participant.person_id not in waiting:
            continue
        target = participant.escalate_to or spec.policy.fallback_approver_id
        if target and target != participant.person_id:
            by_target.setdefault(target, []).append(participant.person_id)
    return dict(sorted(by_target.items()))


def wrong_way(spec: StepSpec) -> str:
    """The refusal of an answer sent any way but the step's own."""
    return f"answer {spec.step_id} with `{spec.answer_with.command}`"


def select_step(steps: Mapping[str, StepState], inp: DecisionInput, way: str) -> StepState:
    """The step an answer sent by ``way`` is meant for: the named one, or the only open one.

    Without a step id, the open steps the actor may answer that are answered by ``way`` are
    candidates; when there are none, a step the actor may answer another way is returned so
    that ``check_answer`` names the right way.
    """
    if inp.step_id is not None:
        state = steps.get(inp.step_id)
        if state is None:
            raise DecisionRefused(f"unknown step {inp.step_id!r}")
        if state.closed:
            raise DecisionRefused(f"step {inp.step_id} is closed")
        return state
    open_steps = [s for s in steps.values() if not s.closed]
    if not open_steps:
        raise DecisionRefused("no step is open")
    mine = [s for s in open_steps if _may_answer_some(s, inp.actor_id)]
    candidates = [s for s in mine if s.spec.answer_with.update == way]
    if len(candidates) == 1:
        return candidates[0]
    if len(candidates) > 1:
        names = ", ".join(s.spec.step_id for s in candidates)
        raise DecisionRefused(f"{inp.actor_id} may answer several open steps ({names}); name one")
    if mine:
        return mine[0]  # answered another way: check_answer says which
    if len(open_steps) == 1:
        return open_steps[0]  # check_answer explains why this actor may not answer it
    raise DecisionRefused(f"{inp.actor_id} is not a respondent of any open step")


def _may_answer_some(state: StepState, actor_id: str) -> bool:
    waiting = set(pending(state.spec, state.answers))
    return actor_id in waiting or bool(waiting & set(state.spec.delegates.get(actor_id, [])))


def check_answer(state: StepState, inp: DecisionInput, way: str) -> tuple[str, DecisionDetails | None]:
    """Validates an answer sent by ``way`` to an open step.

    Returns:
        The participant it answers for, and its details read as their typed payload.

    Raises:
        DecisionRefused: with a one-line reason, when the answer must change nothing.
    """
    spec = state.spec
    if state.closed:
        raise DecisionRefused(f"step {spec.step_id} is closed")
    if spec.answer_with.update != way:
        raise DecisionRefused(wrong_way(spec))
    if inp.decision not in spec.allowed:
        allowed = ", ".join(spec.allowed)
        raise DecisionRefused(
            f"decision {inp.decision!r} is not allowed at step {spec.step_id} (allowed: {allowed})"
        )
    person_id = _answering_for(state, inp)
    if inp.decision == APPROVE and spec.requester_id in (person_id, inp.actor_id):
        raise DecisionRefused(f"{inp.actor_id} may not approve their own request")
    if inp.decision in spec.comment_required and not (inp.comment or "").strip():
        raise DecisionRefused(f"decision {inp.decision!r} at step {spec.step_id} needs a comment")
    return person_id, _details(spec, inp)


def _details(spec: StepSpec, inp: DecisionInput) -> DecisionDetails | None:
    """The answer's details: exactly the kind its decision asks for, or none."""
    kind = spec.details.get(inp.decision)
    if kind is None:
        if inp.details is not None:
            raise DecisionRefused(f"decision {inp.decision!r} at step {spec.step_id} takes no details")
        return None
    if inp.details is None:
        raise DecisionRefused(f"decision {inp.decision!r} at step {spec.step_id} needs {kind} details")
    try:
        details = parse_details(inp.details)
    except ValueError as err:
        raise DecisionRefused(f"details of {inp.decision!r} at step {spec.step_id}: {err}") from None
    if details.kind != kind:
        raise DecisionRefused(
            f"decision {inp.decision!r} at step {spec.step_id} needs {kind} details, not {details.kind}"
        )
    return details


def _answering_for(state: StepState, inp: DecisionInput) -> str:
    spec = state.spec
    participants = {p.person_id for p in spec.participants}
    waiting = pending(spec, state.answers)
    actor = inp.actor_id
    if inp.on_behalf_of in (None, actor) and actor in participants:
        if actor not in waiting:
            raise DecisionRefused(f"{actor} has already answered step {spec.step_id}")
        return actor
    delegators = [p for p in spec.delegates.get(actor, []) if p in participants]
    if inp.on_behalf_of is not None:
        if inp.on_behalf_of not in delegators:
            raise DecisionRefused(
                f"{actor} has no active delegation from {inp.on_behalf_of} for step {spec.step_id}"
            )
        if inp.on_behalf_of not in waiting:
            raise DecisionRefused(f"{inp.on_behalf_of} has already answered step {spec.step_id}")
        return inp.on_behalf_of
    open_for = [p for p in delegators if p in waiting]
    if len(open_for) == 1:
        return open_for[0]
    if len(open_for) > 1:
        raise DecisionRefused(f"{actor} is a delegate of {', '.join(open_for)}; say on behalf of whom")
    if delegators:
        raise DecisionRefused(f"{', '.join(delegators)} already answered step {spec.step_id}")
    raise DecisionRefused(f"{actor} is not a respondent of step {spec.step_id}")


def require_staff(staff: set[str] | list[str], actor_id: str, what: str) -> None:
    """HR's commands (extend a due date, withdraw, certify, ...) come from HR staff only."""
    if actor_id not in staff:
        raise DecisionRefused(f"{actor_id} may not {what}")


def check_signer(state: StepState, inp: DecisionInput, person_id: str, credential: Credential) -> None:
    """The credential an answer carries must name the actor, or a delegate of the participant
    the answer is for (active when the step opened); a credential from a decision link is good
    for its step only."""
    if credential.step_id is not None and credential.step_id != state.spec.step_id:
        raise DecisionRefused(f"the credential is for step {credential.step_id}, not {state.spec.step_id}")
    signer = credential.person_id
    if signer == inp.actor_id:
        return
    if person_id in state.spec.delegates.get(signer, []):
        return
    raise DecisionRefused(f"the credential names {signer}, not {inp.actor_id}")
