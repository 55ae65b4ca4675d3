"""A generation's `progress` event: the step, how far along it is, tokens and cost so far."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from codegen.models import GeneratedFile, Generation
from codegen.plans import Plan

State = Generation.State
Status = GeneratedFile.Status
# Where each stage starts on the progress bar (percent), in the order of the steps.
STAGES: dict[str, int] = {
    State.PLANNING: 2,
    State.GENERATING: 10,
    State.VALIDATING: 60,
    State.CHECKING: 70,
    State.DOCUMENTING: 80,
    State.TESTING: 85,
}
DONE = frozenset({Status.VALID, Status.FIXED, Status.FAILING})


def percent(state: str, plan: Plan | None, status: Mapping[str, str]) -> int:
    """The stage's start, and while files are written the share of them done."""
    start = STAGES.get(state, 100 if state == State.COMPLETED else 0)
    if state != State.GENERATING or plan is None:
        return start
    total = len(plan.files) or 1
    done = sum(1 for planned in plan.files if status.get(planned.path) in DONE)
    return start + (STAGES[State.VALIDATING] - start) * done // total


def progress_data(
    generation: Generation, *, state: str, plan: Plan | None, status: Mapping[str, str], message: str
) -> dict[str, Any]:
    steps = list(STAGES)
    return {
        "state": state,
        "label": State(state).label,
        "step": steps.index(state) + 1 if state in steps else 0,
        "steps": len(steps),
        "percent": percent(state, plan, status),
        "message": message,
        "files_done": sum(1 for value in status.values() if value in DONE),
        "files_total": len(plan.files) + len(plan.docs) if plan else 0,
        "input_tokens": generation.input_tokens,
        "output_tokens": generation.output_tokens,
        "cost_usd": float(generation.cost_usd),
        "model_calls": generation.model_calls,
    }
