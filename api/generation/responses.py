"""What the generation and testing routes answer, built from codegen's rows and reads.

A test execution is one run of a generation's tests (codegen's TestRun), named
`<generation id>-<run number>`: the number is known when the run is asked for, before the
job creates the run, so the id can be answered at once. Test counts come from the run's
results, as on the generation page (codegen.pages.run_table); `failed` and `errors` are
told apart here, where the page adds them up.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from django.urls import reverse
from django.utils import timezone

from codegen import artifacts, pages, selectors
from codegen.models import Generation, TestResult, TestRun

EXECUTION_ID = re.compile(r"([1-9][0-9]{0,17})-([1-9][0-9]{0,8})")


def execution_id(generation_id: int, number: int) -> str:
    return f"{generation_id}-{number}"


def parse_execution_id(text: str) -> tuple[int, int] | None:
    """(generation id, run number) from an execution id; None when it is not one."""
    match = EXECUTION_ID.fullmatch(text)
    return (int(match.group(1)), int(match.group(2))) if match else None


def status_url(generation_id: int) -> str:
    return reverse("public_api:generation_detail", kwargs={"generation_id": generation_id})


def file_url(generation_id: int, path: str) -> str:
    return reverse("public_api:generation_file", kwargs={"generation_id": generation_id, "file_path": path})


def archive_url(generation_id: int) -> str:
    return reverse("public_api:generation_archive", kwargs={"generation_id": generation_id})


def results_url(execution: str) -> str:
    return reverse("public_api:testing_results", kwargs={"execution_id": execution})


def events_url(generation_id: int) -> str:
    """The generation's event socket (api.generation.websockets; not a Django URL to reverse)."""
    return f"/api/v1/generate/{generation_id}/ws"


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def lines_in(content: str) -> int:
    return content.count("\n") + (1 if content and not content.endswith("\n") else 0)


def next_run_number(generation: Generation) -> int:
    """The number the generation's next test run will have."""
    last = selectors.last_test_run(generation)
    return (last.number if last is not None else 0) + 1


# --- Tests ---------------------------------------------------------------------------------


def run_summary(results: list[TestResult]) -> dict[str, Any]:
    counts = dict.fromkeys(TestResult.Outcome.values, 0)
    for result in results:
        counts[result.outcome] = counts.get(result.outcome, 0) + 1
    return {
        "total": len(results),
        "passed": counts[TestResult.Outcome.PASSED],
        "failed": counts[TestResult.Outcome.FAILED],
        "errors": counts[TestResult.Outcome.ERROR],
        "skipped": counts[TestResult.Outcome.SKIPPED],
        "duration": round(sum(result.duration_ms for result in results) / 1000, 3),
    }


def execution_status(generation: Generation, run: TestRun | None) -> str:
    """Where a run stands: `queued` (not started), `running`, `completed`; a run the job left
    unfinished is `cancelled` (the generation was) or `interrupted`."""
    if run is None:
        return "queued"
    if run.outcome != TestRun.Outcome.RUNNING:
        return "completed"
    if generation.is_active:
        return "running"
    return "cancelled" if generation.state == Generation.State.CANCELLED else "interrupted"


def execution_results(generation: Generation, number: int) -> dict[str, Any] | None:
    """The results of the generation's test run `number`; None when there is no such run and
    none is on its way (a run the generation is about to start is `queued`)."""
    table = pages.run_table(generation, number)
    run = table.run
    if run is None:
        pending = generation.is_active and generation.include_tests and number == next_run_number(generation)
        if not pending:
            return None
    return {
        "execution_id": execution_id(generation.pk, number),
        "generation_id": generation.pk,
        "status": execution_status(generation, run),
        "outcome": run.outcome if run is not None and run.outcome != TestRun.Outcome.RUNNING else None,
        "summary": run_summary(table.results),
        "results": [
            {
                "test_name": result.name,
                "classname": result.classname,
                "status": result.outcome,
                "duration": result.duration_ms / 1000,
                "message": result.message,
            }
            for result in table.results
        ],
        "exit_code": run.exit_code if run is not None else None,
        "timed_out": run.timed_out if run is not None else False,
        "reason": run.reason if run is not None else "",
        "output": run.output if run is not None else "",
        "started_at": _iso(run.started_at) if run is not None else None,
        "finished_at": _iso(run.finished_at) if run is not None else None,
    }


def execution_accepted(generation: Generation, number: int) -> dict[str, Any]:
    """The answer to a test execution just queued: its id, and the tests the last run found."""
    previous = pages.run_table(generation, number - 1) if number > 1 else pages.RunTable(None)
    execution = execution_id(generation.pk, number)
    return {
        "test_execution_id": execution,
        "generation_id": generation.pk,
        "status": "queued",
        "progress": 0,
        "tests": [{"name": result.name, "status": "pending"} for result in previous.results],
        "results_url": results_url(execution),
    }


def _generation_tests(generation: Generation) -> dict[str, Any]:
    table = pages.run_table(generation)
    run = table.run
    return {
        "execution_id": execution_id(generation.pk, run.number) if run is not None else None,
        "outcome": run.outcome if run is not None else None,
        "runs": run.number if run is not None else 0,
        "summary": run_summary(table.results) if run is not None else None,
    }


# --- Generations ---------------------------------------------------------------------------


def generation_time(generation: Generation) -> float | None:
    """Seconds from the start to the end of the latest run (to now while it runs)."""
    if generation.started_at is None:
        return None
    end = generation.finished_at or timezone.now()
    return round(max(0.0, (end - generation.started_at).total_seconds()), 3)


def generation_status(generation: Generation, *, with_content: bool) -> dict[str, Any]:
    """A generation as GET /api/v1/generate/{id} shows it: state, files, metadata."""
    latest = selectors.latest_versions(generation)
    contents = {path: artifacts.read_version(version) for path, version in latest.items()}
    files = []
    for file in selectors.files_of(generation):
        version = latest.get(file.path)
        files.append(
            {
                "name": file.path,
                "type": file.language,
                "size": version.size if version is not None else 0,
                "status": file.status,
                "version": version.number if version is not None else None,
                "sha256": version.sha256 if version is not None else "",
                "url": file_url(generation.pk, file.path) if version is not None else None,
                "content": contents.get(file.path) if with_content else None,
            }
        )
    progress = pages.progress_of(generation, pages.last_progress(generation))
    return {
        "generation_id": generation.pk,
        "title": generation.title,
        "status": generation.state,
        "progress": progress.percent,
        "files": files,
        "metadata": {
            "mode": generation.mode,
            "target": generation.target,
            "files_count": len(contents),
            "lines_of_code": sum(lines_in(content) for content in contents.values()),
            "generation_time": generation_time(generation),
            "timings": {
                "queued_at": _iso(generation.queued_at),
                "started_at": _iso(generation.started_at),
                "finished_at": _iso(generation.finished_at),
                "transitions": list(generation.transitions),
            },
            "tests": _generation_tests(generation),
            "usage": {
                "input_tokens": generation.input_tokens,
                "output_tokens": generation.output_tokens,
                "cost_usd": float(generation.cost_usd),
                "model_calls": generation.model_calls,
            },
        },
        "error": {"code": generation.error_code, "message": generation.error_message}
        if generation.error_code
        else None,
        "archive_url": archive_url(generation.pk),
        "events_url": events_url(generation.pk),
    }
