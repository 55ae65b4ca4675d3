"""`wait.sleep`: pause a run inside an activity, heartbeating so Temporal knows it is alive.

A `wait` node's durable timer is the way to wait long; this is for short pauses between
calls (rate limits, a service settling), so it is capped at an hour.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from runs.activities.arguments import Arguments
from runs.activities.spec import ActivityContext, ArgumentSpec, BuiltinSpec

MAX_SECONDS = 3600
# Short enough that a heartbeat timeout of a few times this notices a dead worker quickly.
STEP_SECONDS = 5.0

ARGUMENTS = (ArgumentSpec("seconds", "number", True, f"How long to wait, from 0 to {MAX_SECONDS}."),)


async def wait_sleep(arguments: dict[str, Any], context: ActivityContext) -> dict[str, Any]:
    """Sleep in steps of at most STEP_SECONDS, heartbeating after each."""
    given = Arguments("wait.sleep", arguments, ARGUMENTS)
    seconds = given.number("seconds", 0, minimum=0, maximum=MAX_SECONDS)
    # Steps are measured against a deadline so the heartbeats' own time does not add up.
    deadline = time.monotonic() + seconds
    while (remaining := deadline - time.monotonic()) > 0:
        await asyncio.sleep(min(STEP_SECONDS, remaining))
        context.heartbeat()
    return {"slept": seconds}


WAIT_SLEEP = BuiltinSpec(
    name="wait.sleep",
    run=wait_sleep,
    summary="Waits a number of seconds (at most an hour) before the run goes on.",
    arguments=ARGUMENTS,
    returns="slept: the seconds waited.",
)
