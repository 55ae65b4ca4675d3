"""A running job's heartbeat: proof, every few seconds, that its worker is still alive.

A background job (a Celery task that runs for minutes) keeps a timestamp on its own row
fresh while it runs; a sweeper (a beat task) takes a job whose timestamp went stale for a
worker that died and resumes it elsewhere. The timestamp lives in the database, beside the
lease that says which run owns the job: it survives a Redis restart (a key there would
vanish, and every running job would look dead at once), the sweeper finds stale jobs with
one indexed query, and a refresh names the lease, so a run that lost its job stops
beating.

Times are the workers' own clocks: keep machines in sync (NTP); the stale threshold
(JOB_HEARTBEAT_STALE_SECONDS, tens of seconds) dwarfs ordinary drift.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from types import TracebackType
from typing import Any

from django.conf import settings
from django.db import connections
from django.db.models import Q, QuerySet
from django.utils import timezone

logger = logging.getLogger(__name__)


def refresh(rows: QuerySet[Any], *, field: str = "heartbeat_at") -> bool:
    """Stamp `field` of `rows` (the job's row, filtered by the lease its run holds) with now;
    False when no row matched: the run no longer holds its job."""
    return rows.update(**{field: timezone.now()}) > 0


def beat_older_than(moment: datetime) -> Q:
    """Rows whose heartbeat is older than `moment`: a run claimed before it first beat has
    none, and its start stands for it."""
    return Q(heartbeat_at__lt=moment) | Q(heartbeat_at__isnull=True, started_at__lt=moment)


def stale_before() -> datetime:
    """Heartbeats older than this belong to jobs whose worker stopped."""
    return timezone.now() - timedelta(seconds=settings.JOB_HEARTBEAT_STALE_SECONDS)


class Heartbeat:
    """Calls `beat` every `interval` seconds (JOB_HEARTBEAT_SECONDS) in a thread while the
    `with` block runs; leaving the block stops the thread and waits for it.

    `beat` returns False when the job is no longer this run's (the sweeper or the reaper took
    it over): the heartbeat stops and `lost` turns True, so the job can stop early. An
    exception in `beat` (the database away for a moment) is logged and the next beat tries
    again; only JOB_HEARTBEAT_STALE_SECONDS without one make the job look dead.
    """

    def __init__(self, beat: Callable[[], bool], *, name: str, interval: float | None = None) -> None:
        self._beat = beat
        self._interval = settings.JOB_HEARTBEAT_SECONDS if interval is None else interval
        self._stopping = threading.Event()
        self._lost = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"heartbeat {name}", daemon=True)
        self.name = name

    @property
    def lost(self) -> bool:
        return self._lost.is_set()

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._stopping.set()
        self._thread.join()

    def _run(self) -> None:
        try:
            while not self._stopping.wait(self._interval):
                try:
                    alive = self._beat()
                except Exception:
                    logger.exception("%s: a heartbeat failed; trying again", self.name)
                    continue
                if not alive:
                    logger.warning("%s: the job was taken over; its heartbeat stops", self.name)
                    self._lost.set()
                    return
        finally:
            # Django opens a connection per thread: this one's must not outlive it.
            connections.close_all()
