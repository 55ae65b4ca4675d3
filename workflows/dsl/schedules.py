"""What a `schedule` trigger's settings mean: when runs start.

A schedule trigger's config is one of
- `{"cron": "0 9 * * 1-5"}`: a five-field cron expression (minute, hour, day of month,
  month, day of week; names such as `jan` or `mon-fri` allowed) or a shorthand such as
  `@daily`, read in UTC unless `"timezone": "Europe/Paris"` (an IANA name) says otherwise;
- `{"interval_seconds": 300}`: every so many seconds (the editor's rows give `"300"`, text,
  which reads the same).
A bare string config is read as a cron expression. Temporal Schedules do the timing
(runs.triggers); this module only reads and checks, so validation and the scheduler agree.
"""

from __future__ import annotations

import re
import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

CRON = "cron"
INTERVAL = "interval_seconds"
TIMEZONE = "timezone"
SETTINGS = (CRON, INTERVAL, TIMEZONE)

MIN_INTERVAL_SECONDS = 1
MAX_INTERVAL_SECONDS = 366 * 24 * 3600
MAX_CRON_LENGTH = 200

SHORTHANDS = frozenset({"@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"})
_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")


@dataclass(frozen=True)
class _CronField:
    name: str
    low: int
    high: int
    names: tuple[str, ...] = ()
    first_name: int = 0  # the number of names[0]


# Day of week 7 is Sunday again, as in most crons and Temporal.
_FIELDS = (
    _CronField("minute", 0, 59),
    _CronField("hour", 0, 23),
    _CronField("day of month", 1, 31),
    _CronField("month", 1, 12, _MONTHS, 1),
    _CronField("day of week", 0, 7, _DAYS, 0),
)
_ITEM = re.compile(r"^(?P<range>\*|[a-z0-9]+(?:-[a-z0-9]+)?)(?:/(?P<step>[0-9]+))?$")


class ScheduleConfigError(ValueError):
    """Schedule settings that cannot be used, in a sentence for the editor."""


@dataclass(frozen=True)
class ScheduleTiming:
    """When a schedule starts runs: a cron expression (in `timezone`, UTC when None) or an
    interval in seconds, never both."""

    cron: str | None = None
    interval_seconds: int | None = None
    timezone: str | None = None


def read_schedule(config: Any) -> ScheduleTiming | None:
    """The timing a schedule trigger's config gives; None when it gives none (no cron, no
    interval). Raises ScheduleConfigError for values that cannot be used."""
    if isinstance(config, str):
        config = {CRON: config}
    if config is None:
        return None
    if not isinstance(config, Mapping):
        raise ScheduleConfigError("the settings must be a cron or an interval_seconds setting")
    cron, interval, timezone = config.get(CRON), config.get(INTERVAL), config.get(TIMEZONE)
    if _blank(cron) and _blank(interval):
        if not _blank(timezone):
            _check_timezone(timezone)
        return None
    if not _blank(cron) and not _blank(interval):
        raise ScheduleConfigError("give either a cron or an interval_seconds setting, not both")
    if not _blank(interval):
        if not _blank(timezone):
            raise ScheduleConfigError("a timezone goes with a cron setting; an interval needs none")
        return ScheduleTiming(interval_seconds=_interval(interval))
    zone = None if _blank(timezone) else _check_timezone(timezone)
    return ScheduleTiming(cron=check_cron(cron), timezone=zone)


def unknown_settings(config: Any) -> list[str]:
    """The keys of a schedule's config that are none of its settings (ignored)."""
    if not isinstance(config, Mapping):
        return []
    return [str(key) for key in config if key not in SETTINGS]


def check_cron(expression: Any) -> str:
    """The cron expression, whitespace tidied; ScheduleConfigError says what is wrong."""
    if not isinstance(expression, str):
        raise ScheduleConfigError("the cron setting must be text, e.g. 0 9 * * 1-5")
    text = " ".join(expression.split()).lower()
    if len(text) > MAX_CRON_LENGTH:
        raise ScheduleConfigError(f"the cron setting is longer than {MAX_CRON_LENGTH} characters")
    if text.startswith("@"):
        if text not in SHORTHANDS:
            known = ", ".join(sorted(SHORTHANDS))
            raise ScheduleConfigError(f"cron {expression.strip()!r} is not one of {known}")
        return text
    parts = text.split(" ")
    if len(parts) != len(_FIELDS):
        raise ScheduleConfigError(
            f"cron {expression.strip()!r} has {len(parts)} field{'s' if len(parts) != 1 else ''}; "
            "it needs 5: minute, hour, day of month, month, day of week (e.g. 0 9 * * 1-5)"
        )
    for part, field in zip(parts, _FIELDS, strict=True):
        for item in part.split(","):
            _check_item(item, field, expression.strip())
    return text


def _check_item(item: str, field: _CronField, expression: str) -> None:
    match = _ITEM.match(item)
    if match is None:
        raise ScheduleConfigError(f"cron {expression!r}: {item!r} is not a valid {field.name}")
    step = match.group("step")
    if step is not None and int(step) < 1:
        raise ScheduleConfigError(f"cron {expression!r}: a step must be at least 1")
    if match.group("range") == "*":
        return
    ends = [_value(end, field, expression) for end in match.group("range").split("-")]
    if len(ends) == 2 and ends[0] > ends[1]:
        raise ScheduleConfigError(f"cron {expression!r}: the {field.name} range {item!r} runs backwards")


def _value(text: str, field: _CronField, expression: str) -> int:
    if text in field.names:
        return field.names.index(text) + field.first_name
    if not text.isdigit():
        raise ScheduleConfigError(f"cron {expression!r}: {text!r} is not a valid {field.name}")
    number = int(text)
    if not field.low <= number <= field.high:
        raise ScheduleConfigError(
            f"cron {expression!r}: {field.name} {number} is not between {field.low} and {field.high}"
        )
    return number


def _interval(value: Any) -> int:
    if isinstance(value, bool):
        raise ScheduleConfigError("interval_seconds must be a whole number of seconds, e.g. 300")
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if not isinstance(value, int):
        raise ScheduleConfigError("interval_seconds must be a whole number of seconds, e.g. 300")
    if not MIN_INTERVAL_SECONDS <= value <= MAX_INTERVAL_SECONDS:
        raise ScheduleConfigError(
            f"interval_seconds must be between {MIN_INTERVAL_SECONDS} and {MAX_INTERVAL_SECONDS:,} (366 days)"
        )
    return value


def _check_timezone(value: Any) -> str:
    name = value.strip() if isinstance(value, str) else ""
    try:
        zoneinfo.ZoneInfo(name)  # refuses "", paths and names it does not know
    except (ValueError, OSError, zoneinfo.ZoneInfoNotFoundError):
        raise ScheduleConfigError(
            f"timezone {str(value)[:60]!r} is not a known time zone name, e.g. Europe/Paris or UTC"
        ) from None
    return name


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())
