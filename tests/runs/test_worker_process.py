"""`serve` runs the SCE Temporal worker, and the worker command serves runs."""

from __future__ import annotations

from core import processes


def test_serve_runs_the_temporal_worker_when_it_runs_temporal() -> None:
    children = {child.name: child for child in processes.registered_children()}
    worker = children["runs worker"]
    assert worker.needs_temporal, "skipped under --no-temporal"
    assert worker.command()[-1] == "runs_worker"
    assert worker.when()
