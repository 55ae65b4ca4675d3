"""The `sce.schedule_fire` activity: a schedule's launcher asks SCE to start one run."""

from __future__ import annotations

from django.db import close_old_connections
from temporalio import activity

from runs.engine.scheduled import SCHEDULE_FIRE_ACTIVITY, ScheduledFire
from runs.triggers import schedules


@activity.defn(name=SCHEDULE_FIRE_ACTIVITY)
def fire_schedule(fire: ScheduledFire) -> int:
    """The id of the run started (or refused and recorded); 0 when the schedule was out of date."""
    info = activity.info()
    close_old_connections()  # the worker's threads outlive any connection they opened
    try:
        run = schedules.schedule_fire(
            fire=fire, launcher_id=info.workflow_id or f"scheduled-{info.activity_id}"
        )
    finally:
        close_old_connections()
    return run.pk if run is not None else 0
