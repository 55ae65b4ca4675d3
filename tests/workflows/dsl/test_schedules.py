"""Schedule triggers' settings: what they mean, and the findings validation gives for them."""

from __future__ import annotations

from typing import Any

import pytest

from tests.workflows import samples
from workflows.analysis.validation import validate_workflow
from workflows.dsl.findings import INVALID_TRIGGER, UNKNOWN_FIELD
from workflows.dsl.schedules import ScheduleConfigError, ScheduleTiming, read_schedule


@pytest.mark.parametrize(
    ("config", "timing"),
    [
        ({"cron": "0 9 * * 1-5"}, ScheduleTiming(cron="0 9 * * 1-5")),
        ({"cron": " 0  9 * JAN,Feb MON-fri "}, ScheduleTiming(cron="0 9 * jan,feb mon-fri")),
        ({"cron": "*/15 0-6/2 1,15 * 7"}, ScheduleTiming(cron="*/15 0-6/2 1,15 * 7")),
        (
            {"cron": "@daily", "timezone": "Europe/Paris"},
            ScheduleTiming(cron="@daily", timezone="Europe/Paris"),
        ),
        ("0 3 * * *", ScheduleTiming(cron="0 3 * * *")),
        ({"interval_seconds": "300"}, ScheduleTiming(interval_seconds=300)),  # as the editor's rows store it
        ({"interval_seconds": 1}, ScheduleTiming(interval_seconds=1)),
        ({}, None),
        (None, None),
        ({"cron": " ", "interval_seconds": ""}, None),
    ],
)
def test_settings_read_as_a_timing(config: Any, timing: ScheduleTiming | None) -> None:
    assert read_schedule(config) == timing


@pytest.mark.parametrize(
    ("config", "words"),
    [
        ({"cron": "61 * * * *"}, "minute 61 is not between 0 and 59"),
        ({"cron": "0 9 * *"}, "has 4 fields; it needs 5"),
        ({"cron": "0 9 * * 5-1"}, "runs backwards"),
        ({"cron": "0 9 * * fri-"}, "is not a valid day of week"),
        ({"cron": "*/0 * * * *"}, "a step must be at least 1"),
        ({"cron": "@every 5m"}, "is not one of"),
        ({"cron": 9}, "must be text"),
        ({"interval_seconds": "0"}, "between 1 and"),
        ({"interval_seconds": "5m"}, "whole number of seconds"),
        ({"interval_seconds": True}, "whole number of seconds"),
        ({"cron": "@daily", "interval_seconds": 60}, "not both"),
        ({"interval_seconds": 60, "timezone": "UTC"}, "an interval needs none"),
        ({"cron": "@daily", "timezone": "Mars/Olympus"}, "not a known time zone"),
        ({"cron": "@daily", "timezone": "../../etc/passwd"}, "not a known time zone"),
        ([1, 2], "must be a cron or an interval_seconds"),
    ],
)
def test_unusable_settings_say_what_is_wrong(config: Any, words: str) -> None:
    with pytest.raises(ScheduleConfigError, match=words.replace("(", r"\(")):
        read_schedule(config)


def findings(*triggers: dict[str, Any], required: bool = False) -> list[tuple[str, str, tuple[Any, ...]]]:
    document = samples.workflow(
        [samples.node("a", activity_name="log", input_mapping={"message": "{{who}}"})],
        variables=[samples.variable("who", required=required)],
        triggers=list(triggers),
    )
    analysis = validate_workflow(document, known_workflow_ids=())
    return [
        (finding.severity, finding.code, finding.path or ())
        for finding in analysis.findings
        if finding.code in (INVALID_TRIGGER, UNKNOWN_FIELD)
    ]


def test_validation_refuses_bad_schedules_and_warns_of_idle_ones() -> None:
    assert findings({"trigger_type": "schedule", "config": {"cron": "0 9 * * 1-5"}}) == []
    assert findings({"trigger_type": "schedule", "config": {"cron": "0 25 * * *"}}) == [
        ("error", INVALID_TRIGGER, ("triggers", 0, "config"))
    ]
    assert findings(
        {"trigger_type": "manual", "config": None}, {"trigger_type": "schedule", "config": {}}
    ) == [("warning", INVALID_TRIGGER, ("triggers", 1, "config"))]
    assert findings({"trigger_type": "schedule", "config": {"cron": "@daily", "every": "day"}}) == [
        ("warning", UNKNOWN_FIELD, ("triggers", 0, "config", "every"))
    ]
    # Webhook and event triggers' settings are not read.
    assert (
        findings(
            {"trigger_type": "webhook", "config": {"path": "/x"}}, {"trigger_type": "event", "config": 1}
        )
        == []
    )


def test_crons_share_one_time_zone() -> None:
    paris = {"trigger_type": "schedule", "config": {"cron": "0 9 * * *", "timezone": "Europe/Paris"}}
    utc = {"trigger_type": "schedule", "config": {"cron": "0 18 * * *"}}
    hourly = {"trigger_type": "schedule", "config": {"interval_seconds": "3600"}}
    assert findings(paris, hourly, dict(paris)) == []
    assert findings(paris, hourly, utc) == [("error", INVALID_TRIGGER, ("triggers", 2, "config"))]


def test_a_schedule_warns_of_required_inputs_without_a_default() -> None:
    daily = {"trigger_type": "schedule", "config": {"cron": "@daily"}}
    assert findings(daily, required=True) == [("warning", INVALID_TRIGGER, ("variables", 0))]
    assert findings(daily, required=False) == []
    assert findings({"trigger_type": "manual", "config": None}, required=True) == []
