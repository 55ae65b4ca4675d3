"""Running a generation: plan → files → fixes → consistency and review → docs → tests.

One run owns the generation under its lease (codegen.records). The stages:
- planning: the writer proposes a plan, checked before use (codegen.checks.plan); a plan
  that fails its checks is replaced by the target's skeleton, and the page says so;
- generating: each file as soon as the files it depends on are written (at most
  CODEGEN_CONCURRENCY at once), its prompt given their interfaces; every file checked as it
  arrives and stored with its findings;
- validating: each file whose checks found errors goes back to the writer with them, at
  most MAX_FIXES times; what still fails is kept and marked failing;
- checking: the cross-file checks, then the writer's review, each issue fixed file by file;
- documenting: README.md and API.md from the final files; testing: the project's own tests
  in the sandbox (codegen.test_runs).

Every finished file is stored as it completes, so a run that resumes a generation (its
worker died) skips what is stored and each file is generated once. A watcher checks the
lease and the cancel flag twice a second: a cancel stops the stage's tasks (model calls
included) and kills the sandbox; a lost lease stops the run without another write.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

from asgiref.sync import sync_to_async
from django.conf import settings

from codegen import events, records, test_runs
from codegen.checks.consistency import check_project
from codegen.checks.files import CheckedFile, ProjectContext, check_file, project_modules_of
from codegen.checks.interfaces import interface_of
from codegen.checks.plan import plan_layers, read_plan
from codegen.findings import FileFinding, errors_in
from codegen.models import FileVersion, GeneratedFile, Generation, GenerationEvent
from codegen.plans import Plan, PlannedFile
from codegen.progress import DONE, progress_data
from codegen.records import Lease, Superseded
from codegen.run_setup import Setup
from codegen.sandbox.junit import parse_junit
from codegen.scheduling import RankedSlots
from codegen.writers import Usage, WriterContext, WriterError

logger = logging.getLogger(__name__)

State = Generation.State
Status = GeneratedFile.Status
MAX_FIXES = 2
WATCH_SECONDS = 0.5
PROGRESS_SECONDS = 1.0
T = TypeVar("T")


class Cancelled(Exception):
    pass


def _db(function: Callable[..., T]) -> Callable[..., Awaitable[T]]:
    return sync_to_async(function, thread_sensitive=True)


class Run:
    def __init__(self, generation: Generation, lease: Lease, setup: Setup) -> None:
        self.generation = generation
        self.lease = lease
        self.setup = setup
        self.cancel = threading.Event()
        self.contents: dict[str, str] = {}
        self.findings: dict[str, list[FileFinding]] = {}
        self.status: dict[str, str] = {}
        self.fixes: dict[str, int] = {}
        self.state = generation.state
        self.progress_at = 0.0
        self.plan: Plan | None = None
        self.project = self.context_for(None)
        self.slots = RankedSlots(settings.CODEGEN_CONCURRENCY)
        self.rank: dict[str, int] = {}
        self.frames: events.FramePublisher  # made when the run starts, on its event loop
        self.writer = setup.make_writer(
            WriterContext(
                spec=setup.spec,
                options=setup.options,
                target=setup.target,
                tenant_id=lease.tenant.pk,
                user_id=setup.user_id,
                links={"generation": str(lease.generation_id)},
                usage=self.usage,
            )
        )

    def context_for(self, plan: Plan | None) -> ProjectContext:
        """What a file is checked against: the plan's modules, the sandbox's packages."""
        paths = [planned.path for planned in (*plan.files, *plan.docs)] if plan else []
        return ProjectContext(
            project_modules=project_modules_of(paths),
            sandbox_modules=self.setup.target.sandbox_modules,
            max_file_bytes=self.setup.plan_limits.max_file_bytes,
        )

    # --- Reporting ---------------------------------------------------------------------

    def _record(self, kind: str, data: dict[str, Any]) -> GenerationEvent:
        row = records.owned(self.lease).select_related("tenant").first()
        if row is None:
            raise Superseded()
        self.generation = row
        return events.record(row, kind, data, listener=self.setup.listener, publish_frame=False)

    async def emit(self, kind: str, data: dict[str, Any]) -> None:
        event = await _db(self._record)(kind, data)
        self.frames.push(self.generation, event)

    async def progress(self, message: str = "", *, force: bool = True) -> None:
        now = time.monotonic()
        if not force and now - self.progress_at < PROGRESS_SECONDS:
            return
        self.progress_at = now
        data = progress_data(
            self.generation, state=self.state, plan=self.plan, status=self.status, message=message
        )
        await self.emit("progress", data)

    async def enter(self, state: str, message: str) -> None:
        self.raise_if_stopped()
        self.state = state
        self.generation = await _db(records.set_state)(self.lease, state)
        await self.progress(message)

    async def usage(self, usage: Usage) -> None:
        self.generation = await _db(records.add_usage)(
            self.lease,
            input_tokens=usage.input_tokens,
            output_tokens=usage.output_tokens,
            cost_usd=usage.cost_usd,
            calls=usage.calls,
        )
        await self.progress(force=False)

    def raise_if_stopped(self) -> None:
        if self.cancel.is_set():
            raise Cancelled()

    # --- Files -------------------------------------------------------------------------

    def interfaces(self, planned: PlannedFile) -> dict[str, str]:
        return {
            path: interface_of(path, self.contents[path])
            for path in planned.depends_on
            if path in self.contents
        }

    async def check(self, path: str, content: str) -> CheckedFile:
        return await asyncio.to_thread(check_file, path, content, context=self.project)

    async def store(self, path: str, content: str, kind: str, findings: list[FileFinding]) -> None:
        self.raise_if_stopped()
        others = sum(len(text.encode()) for other, text in self.contents.items() if other != path)
        if others + len(content.encode()) > self.setup.plan_limits.max_project_bytes:
            limit = self.setup.plan_limits.max_project_bytes
            raise WriterError("too_large", f"the project grew over {limit} bytes (at {path})")
        generation, file, version = await _db(records.save_version)(
            self.lease, path, content, kind=kind, findings=findings
        )
        self.generation = generation
        self.contents[path] = content
        self.findings[path] = findings
        self.status[path] = file.status
        await self.emit(
            "file_generated",
            {
                "path": path,
                "status": file.status,
                "version": version.number,
                "kind": kind,
                "size": version.size,
                "errors": len(errors_in(findings)),
                "warnings": len(findings) - len(errors_in(findings)),
            },
        )

    async def write_file(self, planned: PlannedFile, plan: Plan) -> None:
        async with self.slots.slot(self.rank.get(planned.path, 0)):
            self.raise_if_stopped()
            await _db(records.mark_file)(self.lease, planned.path, Status.GENERATING)
            self.status[planned.path] = Status.GENERATING
            await self.emit("file_started", {"path": planned.path})
            content = await self.writer.write(planned, plan=plan, interfaces=self.interfaces(planned))
            checked = await self.check(planned.path, content)
            await self.store(planned.path, checked.content, FileVersion.Kind.GENERATED, checked.findings)
            await self.progress(force=False)

    async def fix_file(self, planned: PlannedFile, plan: Plan, findings: list[FileFinding]) -> bool:
        """Send a file back with its findings once; whether the writer changed it."""
        async with self.slots.slot(self.rank.get(planned.path, 0)):
            self.raise_if_stopped()
            path = planned.path
            fixed = await self.writer.fix(
                planned, self.contents[path], findings, plan=plan, interfaces=self.interfaces(planned)
            )
            if fixed is None:
                return False
            self.fixes[path] = self.fixes.get(path, 0) + 1
            checked = await self.check(path, fixed)
            await self.store(path, checked.content, FileVersion.Kind.FIXED, checked.findings)
            return True

    async def gather(self, work: list[Awaitable[Any]]) -> None:
        """Run a stage's tasks at once; the first failure (or a cancel) stops the others."""
        tasks = [asyncio.ensure_future(item) for item in work]
        try:
            await asyncio.gather(*tasks)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    # --- Stages ------------------------------------------------------------------------

    async def load_stored(self) -> None:
        """What a resumed or follow-up run finds stored: each file's latest content."""

        contents, rows, fixes = await _db(records.stored_files)(self.lease)
        self.contents = contents
        self.fixes = fixes
        for path, (status, found) in rows.items():
            self.status[path] = status if path in contents else Status.PLANNED
            self.findings[path] = [FileFinding.from_dict(item) for item in found]

    async def planning(self) -> Plan:
        await self.enter(State.PLANNING, "Planning the project's files.")
        stored = self.generation.plan
        if stored is not None:
            plan = Plan.from_dict(stored)
        else:
            proposed = await self.writer.plan_data()
            read = read_plan(proposed, target=self.setup.target, limits=self.setup.plan_limits)
            if isinstance(read, Plan):
                plan = read
            else:
                listed = "; ".join(finding.message for finding in read[:5])
                await self.progress(f"The proposed plan was refused ({listed}); using the default structure.")
                skeleton = self.setup.target.skeleton(self.setup.spec, self.setup.options)
                fallback = read_plan(
                    skeleton.as_dict(), target=self.setup.target, limits=self.setup.plan_limits
                )
                if not isinstance(fallback, Plan):
                    raise WriterError("invalid_plan", f"the default plan does not pass its checks: {listed}")
                plan = fallback
        self.plan = plan
        layers = plan_layers(plan)
        self.rank = {planned.path: rank for rank, planned in enumerate(p for layer in layers for p in layer)}
        self.generation = await _db(records.save_plan)(self.lease, plan, layers)
        self.project = self.context_for(plan)
        await self.load_stored()
        await self.emit(
            "plan",
            {
                "files": await _db(records.plan_files_data)(self.generation),
                "endpoints": [endpoint.as_dict() for endpoint in plan.endpoints],
                "mode": self.writer.mode,
            },
        )
        return plan

    async def generating(self, plan: Plan, *, only: str | None = None) -> None:
        await self.enter(State.GENERATING, "Writing the files.")
        if only is not None:
            todo = [planned for planned in plan.files if planned.path == only]
        else:
            todo = [planned for planned in plan.files if self.status.get(planned.path) not in DONE]
        # Each file starts as soon as the files it depends on are written (codegen.scheduling).
        written = {planned.path: asyncio.Event() for planned in todo}

        async def when_ready(planned: PlannedFile) -> None:
            for path in planned.depends_on:
                if path in written:
                    await written[path].wait()
            await self.write_file(planned, plan)
            written[planned.path].set()

        await self.gather([when_ready(planned) for planned in todo])

    async def validating(self, plan: Plan, *, only: str | None = None) -> None:
        await self.enter(State.VALIDATING, "Fixing what the checks found.")
        for _round in range(MAX_FIXES):
            failing = [
                planned
                for planned in plan.files
                if (only is None or planned.path == only)
                and errors_in(self.findings.get(planned.path, []))
                and self.fixes.get(planned.path, 0) < MAX_FIXES
            ]
            if not failing:
                return
            await self.gather(
                [self.fix_file(planned, plan, errors_in(self.findings[planned.path])) for planned in failing]
            )

    async def project_findings(self, plan: Plan) -> dict[str, list[FileFinding]]:
        found = await asyncio.to_thread(check_project, dict(self.contents), plan=plan, context=self.project)
        by_path: dict[str, list[FileFinding]] = {}
        for finding in found:
            by_path.setdefault(finding.path, []).append(finding)
        return by_path

    async def fix_project(self, plan: Plan, issues: Mapping[str, list[FileFinding]]) -> None:
        await self.gather(
            [
                self.fix_file(planned, plan, [*self.findings.get(planned.path, []), *issues[planned.path]])
                for planned in plan.files
                if planned.path in issues and planned.path in self.contents
            ]
        )

    async def checking(self, plan: Plan, *, review: bool) -> None:
        await self.enter(State.CHECKING, "Checking the files against each other.")
        issues = await self.project_findings(plan)
        errors = {path: errors_in(found) for path, found in issues.items() if errors_in(found)}
        if errors:
            await self.fix_project(plan, errors)
        if review:
            reviewed: dict[str, list[FileFinding]] = {}
            for finding in await self.writer.review(plan, dict(self.contents)):
                if finding.path in self.contents:
                    reviewed.setdefault(finding.path, []).append(finding)
            if reviewed:
                await self.progress(f"The review raised issues in {len(reviewed)} file(s); fixing them.")
                await self.fix_project(plan, reviewed)
        # What is left after the fixes is recorded on the files it is about.
        final = await self.project_findings(plan)
        for path, found in final.items():
            if path in self.contents:
                own = [finding for finding in self.findings.get(path, []) if finding not in found]
                file = await _db(records.save_findings)(self.lease, path, [*own, *found])
                self.findings[path] = [*own, *found]
                self.status[path] = file.status

    async def documenting(self, plan: Plan) -> None:
        if not plan.docs:
            return
        await self.enter(State.DOCUMENTING, "Writing README.md and API.md.")
        todo = [planned for planned in plan.docs if self.status.get(planned.path) not in DONE]
        if not todo:
            return
        docs = await self.writer.document(plan, dict(self.contents))
        for planned in todo:
            content = docs.get(planned.path)
            if content is None:
                continue
            checked = await self.check(planned.path, content)
            await self.store(planned.path, checked.content, FileVersion.Kind.GENERATED, checked.findings)

    async def testing(self) -> None:
        await self.enter(State.TESTING, "Running the generated tests in the sandbox.")
        run = await _db(records.start_test_run)(self.lease)
        result = await test_runs.run_in_sandbox(
            self.setup.runner,
            self.contents,
            self.setup.target.test_command,
            limits=self.setup.sandbox_limits,
            cancel=self.cancel,
        )
        cases = parse_junit(result.junit_xml) if result.junit_xml else []
        generation, run = await _db(records.finish_test_run)(
            self.lease,
            run,
            outcome=test_runs.outcome_of(result, cases),
            cases=cases,
            exit_code=result.exit_code,
            timed_out=result.timed_out,
            output=result.output[-test_runs.OUTPUT_KEPT :],
            reason=test_runs.reason_of(result, cases),
        )
        self.generation = generation
        for case in cases[: test_runs.MAX_TEST_EVENTS]:
            await self.emit("test_result", test_runs.result_event(run, case))
        await self.emit("tests_finished", test_runs.finished_event(run, result, cases))
        self.raise_if_stopped()

    # --- The whole run -----------------------------------------------------------------

    async def stages(self) -> None:
        generation = self.generation
        action = generation.action
        if action == Generation.Action.TESTS:
            self.plan = Plan.from_dict(generation.plan or {})
            self.project = self.context_for(self.plan)
            await self.load_stored()
        else:
            plan = await self.planning()
            only = generation.action_path if action == Generation.Action.REGENERATE_FILE else None
            if only is not None:
                self.status[only] = Status.PLANNED
                self.fixes[only] = 0
            await self.generating(plan, only=only)
            await self.validating(plan, only=only)
            await self.checking(plan, review=only is None)
            if only is None and self.setup.options.include_docs:
                await self.documenting(plan)
        if self.setup.options.include_tests:
            await self.testing()

    async def watch(self, main: asyncio.Task[None]) -> str:
        """Until the stages end: the lease and the cancel flag, twice a second. Returns
        "cancelled" or "superseded" when it stopped them, "" when they ended."""
        while not main.done():
            await asyncio.wait([main], timeout=WATCH_SECONDS)
            if main.done():
                break
            held, cancel = await _db(records.still_current)(self.lease)
            if not held or cancel:
                self.cancel.set()
                main.cancel()
                await asyncio.wait([main])
                return "superseded" if not held else "cancelled"
        return ""

    async def execute(self) -> Generation | None:
        self.frames = events.FramePublisher()
        try:
            return await self.outcome()
        finally:
            await self.frames.close()

    async def outcome(self) -> Generation | None:
        main = asyncio.ensure_future(self.stages())
        stopped = await self.watch(main)
        if stopped == "superseded":
            return None
        if stopped == "cancelled":
            return await self.end(State.CANCELLED, message="Cancelled: nothing is left running.")
        problem = main.exception()
        if problem is None:
            return await self.end(State.COMPLETED)
        if isinstance(problem, Superseded):
            return None
        if isinstance(problem, Cancelled):
            return await self.end(State.CANCELLED, message="Cancelled: nothing is left running.")
        if isinstance(problem, WriterError):
            return await self.end(State.FAILED, code=problem.code, message=problem.message)
        logger.error("generation %s failed", self.lease.generation_id, exc_info=problem)
        await self.end(
            State.FAILED,
            code="internal_error",
            message=f"the job stopped on an unexpected error ({type(problem).__name__})",
        )
        raise problem

    async def end(self, state: str, *, code: str = "", message: str = "") -> Generation | None:
        await self.frames.close()  # the last frame comes after every other
        try:
            finished = await _db(records.finish)(self.lease, state, code=code, message=message)
        except Superseded:
            return None
        self.generation = finished
        if state == State.COMPLETED:
            data = {
                "tests_passed": finished.tests_passed,
                "tests_failed": finished.tests_failed,
                "files": len(self.contents),
                "message": test_runs.completed_message(finished),
            }
            kind = "completed"
        elif state == State.CANCELLED:
            data, kind = {"message": message}, "cancelled"
        else:
            data, kind = {"code": code, "message": message}, "failed"
        await _db(events.record)(finished, kind, data, listener=self.setup.listener)
        return finished


def run(generation: Generation, lease: Lease, setup: Setup) -> Generation | None:
    """The run's body (blocking): the generation as it ended, None when it was superseded."""
    from asgiref.sync import async_to_sync

    return async_to_sync(Run(generation, lease, setup).execute)()
