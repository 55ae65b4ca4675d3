"""The workflow a Temporal Schedule starts: a launcher that asks SCE to start one run.

A schedule cannot start the interpreter itself, since every run is first admitted and stored
by SCE (its inputs checked, the plan's limits applied, a Run row written): so the schedule's
action is this tiny workflow, and its one activity (runs.activities.schedule_fire) starts
the run like the Run button does, with the trigger "schedule".

Imports no Django, like the interpreter: the worker's sandbox re-imports this module.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

SCHEDULED_WORKFLOW_NAME = "sce.scheduled"
SCHEDULE_FIRE_ACTIVITY = "sce.schedule_fire"

# Starting a run takes a database write and one call to Temporal.
FIRE_TIMEOUT = timedelta(seconds=60)


@dataclass
class ScheduledFire:
    """One firing of a workflow's schedule: start a run of `version` (its number) of the
    tenant's workflow `workflow_id` (its primary key)."""

    tenant_id: int
    workflow_id: int
    version: int


@workflow.defn(name=SCHEDULED_WORKFLOW_NAME)
class ScheduledLauncher:
    @workflow.run
    async def run(self, fire: ScheduledFire) -> int:
        """The id of the run started (or refused and recorded as failed); 0 when the
        schedule is out of date and nothing was started."""
        # At most once: a retry after a lost answer could start the run twice, and a firing
        # missed is made up for by the next one.
        run_id: int = await workflow.execute_activity(
            SCHEDULE_FIRE_ACTIVITY,
            fire,
            result_type=int,
            start_to_close_timeout=FIRE_TIMEOUT,
            retry_policy=RetryPolicy(maximum_attempts=1),
        )
        return run_id
