"""Findings about triggers: a schedule whose settings cannot be used (an error: publishing
it would create a schedule Temporal refuses), one that says nothing about when (a warning:
it starts nothing), settings it ignores, and inputs a scheduled run cannot be given."""

from __future__ import annotations

from workflows.dsl.findings import INVALID_TRIGGER, UNKNOWN_FIELD, Finding, error, warning
from workflows.dsl.models import WorkflowDSL
from workflows.dsl.schedules import ScheduleConfigError, read_schedule, unknown_settings


def schedule_findings(workflow: WorkflowDSL) -> list[Finding]:
    """Every schedule trigger's problems, each at the trigger's path."""
    findings: list[Finding] = []
    timed = False
    first_zone: str | None = None  # the first cron's: Temporal takes one time zone a schedule
    for index, trigger in enumerate(workflow.triggers):
        if trigger.trigger_type != "schedule":
            continue
        path = ("triggers", index, "config")
        try:
            timing = read_schedule(trigger.config)
        except ScheduleConfigError as problem:
            findings.append(error(INVALID_TRIGGER, f"schedule trigger: {problem}", path=path))
            continue
        if timing is None:
            findings.append(
                warning(
                    INVALID_TRIGGER,
                    "schedule trigger: no cron or interval_seconds setting, so it starts nothing "
                    "(e.g. cron 0 9 * * 1-5, or interval_seconds 3600)",
                    path=path,
                )
            )
        else:
            timed = True
            zone = timing.timezone or "UTC"
            if timing.cron is not None and first_zone is None:
                first_zone = zone
            elif timing.cron is not None and zone != first_zone:
                findings.append(
                    error(
                        INVALID_TRIGGER,
                        f"schedule trigger: its cron is in time zone {zone}, an earlier one's in "
                        f"{first_zone}; a workflow's schedules share one time zone (no timezone: UTC)",
                        path=path,
                    )
                )
        findings += [
            warning(
                UNKNOWN_FIELD,
                f"schedule trigger: setting {key!r} is not one of cron, interval_seconds, timezone",
                path=(*path, key),
            )
            for key in unknown_settings(trigger.config)
        ]
    if timed:
        # A scheduled run is given no inputs: each variable it reads needs a default.
        findings += [
            warning(
                INVALID_TRIGGER,
                f"schedule trigger: scheduled runs get no inputs, and {variable.name!r} is required "
                "with no default, so they will be refused",
                path=("variables", position),
            )
            for position, variable in enumerate(workflow.variables)
            if variable.required and variable.default_value is None
        ]
    return findings
