"""`manage.py runs_schedules sync`: every tenant's Temporal Schedules in line with the
schedule triggers of their published versions.

Publishing keeps a workflow's schedule in line as it goes; this puts right what happened
while Temporal was unreachable (a worker does the same each time it starts). Exits 1 when
Temporal cannot be reached or refused a schedule.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from core.temporal_client import TemporalUnavailable
from runs.triggers import schedules


class Command(BaseCommand):
    help = "Bring Temporal Schedules in line with the published workflows' schedule triggers."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["sync"], help="sync: create, update and remove schedules")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            report = schedules.schedules_sync()
        except TemporalUnavailable as error:
            raise CommandError(f"{error}. Nothing was changed.") from None
        self.stdout.write(f"Schedules: {report.summary()}")
        if report.failed:
            raise CommandError(f"Temporal refused {len(report.failed)} schedule(s); see above.")
