"""`manage.py runs_worker`: the SCE Temporal worker (workflow runs), until stopped.

`serve` starts one; in production, run as many as the load needs, each with the same
TEMPORAL_* settings. It waits for Temporal to answer before it polls (the embedded server
may still be starting) and stops cleanly on SIGTERM or Ctrl-C: the activities it was
running are retried elsewhere once their timeouts pass.
"""

from __future__ import annotations

import asyncio
import signal
from typing import Any

from django.core.management.base import BaseCommand
from temporalio.client import Client

from core import temporal_client
from runs.triggers import schedules
from runs.worker import build_worker

CONNECT_ATTEMPTS = 60


class Command(BaseCommand):
    help = "Run the SCE Temporal worker (workflow runs) until stopped."

    def handle(self, *args: Any, **options: Any) -> None:
        asyncio.run(self._serve())

    async def _connect(self) -> Client:
        for _attempt in range(CONNECT_ATTEMPTS - 1):
            try:
                return await temporal_client.connect()
            except temporal_client.TemporalUnavailable as error:
                self.stderr.write(f"{error} Trying again…")
                await asyncio.sleep(1)
        return await temporal_client.connect()

    async def _serve(self) -> None:
        client = await self._connect()
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        self.stdout.write(await schedules.reconcile_at_worker_start(client))
        worker = build_worker(client)
        self.stdout.write(f"SCE Temporal worker on task queue {worker.task_queue}")
        async with worker:
            await stop.wait()
        self.stdout.write("Worker stopped.")
