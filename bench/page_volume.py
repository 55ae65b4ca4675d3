"""Every portal page, public API read and CLI report, for a big and a small tenant side by side.

    .venv/bin/python -m bench.page_volume [--scale 1.0] [--reuse] [--repeat 10] [--budget 30]

The tenants are bench.volume's (made first, or kept with --reuse): the big one holds issue
17's volume (10,000 conversations, 200 workflows, 300,000 gateway calls over 30 days and
their per-minute metrics), the small one 20 conversations, 5 workflows and 500 calls, on the
same database. Each read is done in this process through Django's test client, signed in as
the tenant's owner (API reads with a key of the tenant, CLI reports through call_command):
once to warm up, once under CaptureQueriesContext for its query count and time in SQL, then
--repeat times (fewer once --budget seconds are spent on it, at least 3), the small tenant's
and the big tenant's reads of one page one after the other so they share the machine's load.

Printed per read: p50 and p95 of both (ms), the big/small ratio of the p50s, the query
counts, the big read's share of time in SQL, and flags against issue 17's goals:
  x   the big tenant's p50 is more than 1.5 times the small one's
  p95 a p95 above 50 ms
  q   the query counts differ
  !   an answer other than 2xx/3xx (a crash at volume shows as 500)
Pages answering GET with 405 (forms that only post) are listed, not timed. Uses DATABASE_URL
and REDIS_URL when set, else SQLite and the bundled Redis under var/bench-volume/.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import platform
import statistics
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from io import StringIO
from pathlib import Path
from typing import TYPE_CHECKING

from bench.volume.environment import database_label, redis_running, setup_django

if TYPE_CHECKING:
    from django.test import Client

    from bench.volume.build import VolumeTenant
    from bench.volume.reads import Read

RATIO_GOAL = 1.5
P95_GOAL_MS = 50.0


def percentile(values: list[float], fraction: float) -> float:
    """Nearest rank."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


@dataclass
class Timing:
    status: str
    times_ms: list[float] = field(default_factory=list)
    queries: int = 0
    sql_ms: float = 0.0
    captured_ms: float = 0.0  # the wall time of the run whose queries were captured
    slowest_sql: list[tuple[float, str]] = field(default_factory=list)

    @property
    def p50(self) -> float:
        return statistics.median(self.times_ms) if self.times_ms else float("nan")

    @property
    def p95(self) -> float:
        return percentile(self.times_ms, 0.95) if self.times_ms else float("nan")

    @property
    def answered(self) -> bool:
        return self.status.startswith(("2", "3", "ok"))


class Reader:
    """Reads as one tenant's owner: pages signed in, API routes with a key, CLI reports."""

    def __init__(self, volume: VolumeTenant, api_key: str) -> None:
        from django.test import Client

        self.volume = volume
        self.api_key = api_key
        self.client: Client = Client(SERVER_NAME="localhost", raise_request_exception=False)
        self.client.force_login(volume.owner)

    def once(self, read: Read) -> str:
        """Do the read; returns its status ("200", "405", "ok", "exit 1")."""
        from django.core.management import CommandError, call_command

        if read.kind == "cli":
            assert isinstance(read.target, tuple)
            try:
                call_command(*read.target, stdout=StringIO(), stderr=StringIO())
            except CommandError as error:
                return f"error: {error}"
            except SystemExit as exit_:
                return f"exit {exit_.code}"
            return "ok"
        assert isinstance(read.target, str)
        headers = {"authorization": f"Bearer {self.api_key}"} if read.kind == "api" else {}
        return str(self.client.get(read.target, headers=headers).status_code)

    def measure(self, read: Read, *, repeat: int, budget: float) -> Timing:
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        status = self.once(read)
        if status == "405":
            return Timing(status=status)
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            status = self.once(read)
            captured_ms = (time.perf_counter() - started) * 1000
        statements = [(float(query["time"]) * 1000, query["sql"]) for query in captured.captured_queries]
        timing = Timing(
            status=status,
            queries=len(statements),
            sql_ms=sum(spent for spent, _ in statements),
            captured_ms=captured_ms,
            slowest_sql=sorted(statements, key=lambda statement: -statement[0])[:3],
        )
        deadline = time.monotonic() + budget
        for _ in range(repeat):
            started = time.perf_counter()
            self.once(read)
            timing.times_ms.append((time.perf_counter() - started) * 1000)
            if len(timing.times_ms) >= 3 and time.monotonic() > deadline:
                break
        return timing


def temporary_key(volume: VolumeTenant) -> tuple[int, str]:
    """A key of the tenant with every scope, for this run's API reads."""
    from api import services
    from api.models import Scope

    issued = services.api_key_create(
        tenant=volume.tenant, actor=volume.owner, name="bench.page_volume", scopes=list(Scope.values)
    )
    return issued.key.pk, issued.plaintext


def flags(small: Timing, big: Timing) -> str:
    marks = []
    if not (small.answered and big.answered):
        marks.append("!")
    if big.p50 > RATIO_GOAL * small.p50:
        marks.append("x")
    if max(big.p95, small.p95) > P95_GOAL_MS:
        marks.append("p95")
    if big.queries != small.queries:
        marks.append("q")
    return " ".join(marks)


def row(label: str, small: Timing, big: Timing) -> str:
    status = big.status if big.status == small.status else f"{small.status}/{big.status}"
    queries = str(big.queries) if big.queries == small.queries else f"{small.queries}/{big.queries}"
    sql = f"{100 * big.sql_ms / big.captured_ms:.0f}%" if big.captured_ms else "-"
    cells = [
        f"`{label}`",
        status,
        f"{small.p50:.1f}",
        f"{small.p95:.1f}",
        f"{big.p50:.1f}",
        f"{big.p95:.1f}",
        f"{big.p50 / small.p50:.1f}x" if small.p50 else "-",
        queries,
        sql,
        flags(small, big),
    ]
    return "| " + " | ".join(cells) + " |"


def write_workflow(path: Path) -> str:
    """A valid workflow document (one the volume's tenants would publish) for `workflow validate`."""
    from bench.volume.drafts import generated_document

    path.write_text(json.dumps(generated_document(24, seed=3, subflow=None)))
    return str(path)


def reads_of_both(
    small: VolumeTenant, big: VolumeTenant, document: str
) -> tuple[list[tuple[Read, Read]], dict[str, str]]:
    """The reads both tenants have, paired by label, in URLconf order; and those left out."""
    from bench.volume import reads

    paired: list[tuple[Read, Read]] = []
    left_out: dict[str, str] = {}
    small_pages, small_out = reads.page_reads(small.tenant)
    big_pages, big_out = reads.page_reads(big.tenant)
    left_out.update(small_out)
    left_out.update(big_out)
    small_all = small_pages + reads.api_reads(small.tenant) + reads.cli_reads(small.tenant, document)
    big_all = {
        read.label: read
        for read in big_pages + reads.api_reads(big.tenant) + reads.cli_reads(big.tenant, document)
    }
    for read in small_all:
        if read.label in big_all:
            paired.append((read, big_all.pop(read.label)))
        else:
            left_out[read.label] = "only the small tenant has one"
    for label in big_all:
        left_out[label] = "only the big tenant has one"
    return paired, left_out


def load_average() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def run(
    readers: dict[str, Reader], paired: list[tuple[Read, Read]], *, repeat: int, budget: float
) -> tuple[list[tuple[str, Timing, Timing]], list[str]]:
    """Time each pair, printing its row as it goes; returns the results and the post-only routes."""
    print("| read | status | small p50 | small p95 | big p50 | big p95 | big/small | queries | SQL | flags |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    results: list[tuple[str, Timing, Timing]] = []
    post_only: list[str] = []
    for small_read, big_read in paired:
        small = readers["small"].measure(small_read, repeat=repeat, budget=budget)
        big = readers["big"].measure(big_read, repeat=repeat, budget=budget)
        if small.status == "405" and big.status == "405":
            post_only.append(small_read.label)
            continue
        results.append((small_read.label, small, big))
        print(row(small_read.label, small, big), flush=True)
    return results, post_only


def print_slowest(results: list[tuple[str, Timing, Timing]], count: int) -> None:
    """Where the time of the big tenant's slowest reads goes: its share in SQL, the slowest statements."""
    for label, _, big in sorted(results, key=lambda result: -result[2].p50)[:count]:
        print(f"\n{label}: big p50 {big.p50:.0f} ms, {big.queries} queries,")
        print(f"  {big.sql_ms:.0f} ms in SQL of {big.captured_ms:.0f} ms; the slowest statements:")
        for spent, sql in big.slowest_sql:
            print(f"  {spent:8.1f} ms  {sql[:400]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--scale", type=float, default=1.0, help="the volume's scale (0.05: a quick run)")
    parser.add_argument("--reuse", action="store_true", help="keep volume tenants that already fit the scale")
    parser.add_argument("--repeat", type=int, default=10, help="timed reads per page and tenant")
    parser.add_argument("--budget", type=float, default=30.0, help="seconds per page and tenant, at most")
    parser.add_argument("--only", default="", help="read only the pages whose label contains this")
    parser.add_argument("--slowest", type=int, default=8, help="show the slowest SQL of the N slowest reads")
    arguments = parser.parse_args()
    setup_django()
    # Expected 405s of the post-only routes would fill the output; a 500 is still logged.
    logging.getLogger("django.request").setLevel(logging.ERROR)
    from api.models import ApiKey
    from bench.volume.build import ensure_volumes, shape_of

    with redis_running():
        made = ensure_volumes(scale=arguments.scale, reuse=arguments.reuse)
        volumes = {volume.label: volume for volume in made}
        keys = {label: temporary_key(volume) for label, volume in volumes.items()}
        document = write_workflow(Path(tempfile.mkdtemp(prefix="page-volume-")) / "workflow.json")
        try:
            readers = {label: Reader(volume, keys[label][1]) for label, volume in volumes.items()}
            paired, left_out = reads_of_both(volumes["small"], volumes["big"], document)
            paired = [pair for pair in paired if arguments.only in pair[0].label]
            print(f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, python {platform.python_version()}, ", end="")
            print(f"{os.cpu_count()} CPUs, load average {load_average()}, {database_label()}")
            for volume in made:
                print(f"{volume.tenant.slug}: {shape_of(volume.tenant)}")
            print(f"{len(paired)} reads, {arguments.repeat} timed each after a warm-up", end="")
            print(f" (at most {arguments.budget:.0f} s each)\n")
            results, post_only = run(readers, paired, repeat=arguments.repeat, budget=arguments.budget)
            flagged = [label for label, small, big in results if flags(small, big)]
            print(f"\n{len(flagged)} of {len(results)} reads miss a goal; load average now {load_average()}")
            print(f"Not timed, GET answers 405 (they only post): {', '.join(post_only) or 'none'}")
            for label, why in left_out.items():
                print(f"Not timed: {label}: {why}")
            print_slowest(results, arguments.slowest)
        finally:
            Path(document).unlink()
            for label, (key_id, _) in keys.items():
                # This run's own keys: gone again, so the API keys page reads the same rows next run.
                ApiKey.objects.for_tenant(volumes[label].tenant).filter(pk=key_id).delete()


if __name__ == "__main__":
    main()
