"""A generation's test run: its project in the sandbox, and what the run's result says.

The sandbox runs in a thread (it blocks); a cancel sets the event the runner polls, and the
run waits for it to kill what it started before going on, so nothing is left running.
"""

from __future__ import annotations

import asyncio
import tempfile
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from codegen import artifacts
from codegen.models import Generation, TestRun
from codegen.sandbox import SandboxLimits, SandboxResult, SandboxRunner
from codegen.sandbox.junit import CaseResult

# The test_result events of one run (every result is kept on the run all the same).
MAX_TEST_EVENTS = 500
OUTPUT_KEPT = 20_000


async def run_in_sandbox(
    runner: SandboxRunner,
    files: Mapping[str, str],
    command: tuple[str, ...],
    *,
    limits: SandboxLimits,
    cancel: threading.Event,
) -> SandboxResult:
    with tempfile.TemporaryDirectory(prefix="sce-codegen-") as folder:
        project = Path(folder) / "project"
        project.mkdir()
        artifacts.write_tree(files, project)
        work = asyncio.ensure_future(
            asyncio.to_thread(runner.run, project, command, limits=limits, cancel=cancel)
        )
        try:
            return await asyncio.shield(work)
        except asyncio.CancelledError:
            cancel.set()
            await asyncio.wait([work])
            raise


def outcome_of(result: SandboxResult, cases: list[CaseResult]) -> str:
    if result.exit_code == 0 and cases:
        return TestRun.Outcome.PASSED
    if result.exit_code == 1 and cases:
        return TestRun.Outcome.FAILED
    return TestRun.Outcome.ERROR


def reason_of(result: SandboxResult, cases: list[CaseResult]) -> str:
    if result.reason:
        return result.reason
    if result.exit_code == 5 or (result.exit_code == 0 and not cases):
        return "no tests were collected"
    if result.exit_code not in (0, 1):
        return f"the test run ended with exit code {result.exit_code}"
    return ""


def result_event(run: TestRun, case: CaseResult) -> dict[str, Any]:
    return {
        "run": run.number,
        "name": case.name,
        "classname": case.classname,
        "outcome": case.outcome,
        "duration_ms": case.duration_ms,
        "message": case.message[:2000],
    }


def finished_event(run: TestRun, result: SandboxResult, cases: list[CaseResult]) -> dict[str, Any]:
    return {
        "run": run.number,
        "outcome": run.outcome,
        "passed": sum(case.outcome == "passed" for case in cases),
        "failed": sum(case.outcome == "failed" for case in cases),
        "errors": sum(case.outcome == "error" for case in cases),
        "skipped": sum(case.outcome == "skipped" for case in cases),
        "exit_code": result.exit_code,
        "timed_out": result.timed_out,
        "reason": run.reason,
    }


def completed_message(generation: Generation) -> str:
    if not generation.include_tests:
        return "Generated (tests not included)."
    if generation.tests_failed:
        return f"Generated; {generation.tests_failed} test(s) failed, {generation.tests_passed} passed."
    return f"Generated; all {generation.tests_passed} tests passed."
