"""Cheap requests on one daphne process: requests/s of a no-op view, the workflow schema GET,
/healthz and `POST /api/v1/validate`, each against the no-op view of the same run.

    .venv/bin/python -m bench.cheap_requests [--seconds 10] [--concurrency 20]

Each series: `--concurrency` clients call one URL for `--seconds`, each again as soon as it
is answered; printed: answers a second, p50/p99 latency, the server's CPU per answer (user
+ system of the daphne process: unlike wall time, not inflated by whatever else the machine
runs), and the ratio of answers a second to the no-op view's. Goals (issue 17): the schema
GET at least 0.8 of the no-op view's rate, validate at least 0.5.

The server is bench.infer_throughput's (the test settings plus its no-op view, a throwaway
data directory: SQLite and the bundled Redis, everything on 127.0.0.1); the clients (aiohttp)
run in this process, on the same machine.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
from typing import Any

from bench.infer_throughput import measure, percentile, serving
from tests.workflows.samples import chain, node, workflow


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--concurrency", type=int, default=20)
    args = parser.parse_args()
    with serving("sce-bench-cheap-") as (base, daphne, issued):
        from api import services as key_services  # Django is set up by now
        from api.models import Scope

        workflows_key = key_services.api_key_create(
            tenant=issued.key.tenant, actor=None, name="bench-workflows", scopes=[Scope.WORKFLOWS]
        ).plaintext
        # A small valid document, as a client validating its draft sends it.
        document = {"workflow": workflow([node("fetch"), node("notify")], chain("fetch", "notify"))}
        series: list[tuple[str, str, dict[str, str], Any, int]] = [
            ("no-op view", "/bench/noop", {}, None, 202),
            ("GET schema", "/api/v1/workflows/schema", {}, None, 200),
            # No Temporal server in this run: /healthz says so with a 503, after all its checks.
            ("GET /healthz", "/healthz", {}, None, 503),
            ("POST validate", "/api/v1/validate", {"x-api-key": workflows_key}, document, 200),
        ]
        load = os.getloadavg()
        print(
            f"# {platform.platform()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, SQLite; "
            f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; {args.concurrency} clients, "
            f"{args.seconds:.0f} s a series"
        )
        baseline = 0.0
        for name, path, headers, body, expect in series:
            rate, latency, cpu_ms = measure(
                daphne.pid, f"{base}{path}", headers, args.seconds, args.concurrency, body=body, expect=expect
            )
            baseline = baseline or rate
            p50, p99 = statistics.median(latency), percentile(latency, 0.99)
            print(
                f"{name:14} {rate:7.0f} req/s ({rate / baseline:4.2f}x no-op)  p50 {p50:6.1f} ms"
                f"  p99 {p99:6.1f} ms  server CPU {cpu_ms:5.2f} ms/request"
            )


if __name__ == "__main__":
    main()
