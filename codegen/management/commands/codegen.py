"""`manage.py codegen generate`: generate a service from a requirements file, as the portal
does, for operators and for users' own CI.

    manage.py codegen generate --tenant SLUG --requirements FILE.json [--workflow FILE.json]
        [--mode template|model] [--no-tests] [--no-docs] [--no-deployment] --out DIR [--json]

It runs the same pipeline in this process (no worker needed), prints the progress events
(one JSON object per line with --json), writes the files under DIR with `report.json`
(files with their status and findings, test results, tokens, cost), and counts against the
tenant's generations like any other. `manage.py codegen prepare-sandbox` prepares the
sandbox's interpreter (once; `make run` and `make test` do it).

Exit status: 0 the generated tests passed (or none were asked for), 1 they ran and failed
(or could not run), 2 bad input (unreadable file, unknown tenant, refused), 3 the generation
failed (the model unavailable, …).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from codegen import artifacts, jobs, selectors, services
from codegen.events import as_json
from codegen.models import Generation, GenerationEvent
from codegen.spec import Options
from core.terminal import printable
from tenants.models import Tenant

EXIT_TESTS_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_FAILED = 3
MAX_INPUT_BYTES = 2_000_000


class BadInput(Exception):
    pass


def _read_json(path: str, what: str) -> dict[str, Any]:
    file = Path(path)
    try:
        if file.stat().st_size > MAX_INPUT_BYTES:
            raise BadInput(f"{what} file is over {MAX_INPUT_BYTES} bytes")
        data = json.loads(file.read_text(encoding="utf-8"))
    except OSError as problem:
        raise BadInput(f"cannot read the {what} file: {problem.strerror or problem}") from None
    except UnicodeDecodeError:
        raise BadInput(f"the {what} file is not UTF-8") from None
    except (ValueError, RecursionError) as problem:
        raise BadInput(f"the {what} file is not JSON: {problem}") from None
    if not isinstance(data, dict):
        raise BadInput(f"the {what} file is not a JSON object")
    return data


def _line(event: GenerationEvent) -> str:
    data = event.data
    kind = event.kind
    if kind == "progress":
        return f"[{data.get('percent', 0):>3}%] {data.get('label', '')}: {data.get('message', '')}".rstrip(
            ": "
        )
    if kind == "plan":
        return f"plan: {len(data.get('files', []))} files ({data.get('mode', '')} mode)"
    if kind == "file_generated":
        errors = f", {data['errors']} error(s)" if data.get("errors") else ""
        return f"file {data.get('path')}: {data.get('status')} (v{data.get('version')}{errors})"
    if kind == "test_result":
        return f"test {data.get('classname', '')}::{data.get('name', '')}: {data.get('outcome')}"
    if kind == "tests_finished":
        counts = (data.get("passed", 0), data.get("failed", 0), data.get("errors", 0))
        return "tests: {} passed, {} failed, {} errors".format(*counts)
    if kind in ("completed", "cancelled"):
        return f"{kind}: {data.get('message', '')}"
    if kind == "failed":
        return f"failed: {data.get('code', '')}: {data.get('message', '')}"
    return kind


def report(generation: Generation) -> dict[str, Any]:
    """What report.json holds: the files with their status and findings, the tests, usage."""
    run = selectors.last_test_run(generation)
    return {
        "generation": generation.pk,
        "title": generation.title,
        "state": generation.state,
        "mode": generation.mode,
        "target": generation.target,
        "error": {"code": generation.error_code, "message": generation.error_message}
        if generation.error_code
        else None,
        "files": [
            {"path": file.path, "status": file.status, "size": file.size, "findings": file.findings}
            for file in selectors.files_of(generation)
        ],
        "tests": None
        if run is None
        else {
            "outcome": run.outcome,
            "exit_code": run.exit_code,
            "timed_out": run.timed_out,
            "reason": run.reason,
            "passed": generation.tests_passed,
            "failed": generation.tests_failed,
            "skipped": generation.tests_skipped,
            "results": [
                {
                    "name": result.name,
                    "classname": result.classname,
                    "outcome": result.outcome,
                    "duration_ms": result.duration_ms,
                    "message": result.message,
                }
                for result in selectors.results_of(run)
            ],
        },
        "usage": {
            "input_tokens": generation.input_tokens,
            "output_tokens": generation.output_tokens,
            "cost_usd": float(generation.cost_usd),
            "model_calls": generation.model_calls,
        },
    }


def exit_status(generation: Generation) -> int:
    if generation.state != Generation.State.COMPLETED:
        return EXIT_FAILED
    if not generation.include_tests:
        return 0
    run = selectors.last_test_run(generation)
    return 0 if run is not None and run.outcome == run.Outcome.PASSED else EXIT_TESTS_FAILED


class Command(BaseCommand):
    help = "Generate a service from a requirements file; or prepare the sandbox's interpreter."

    def add_arguments(self, parser: CommandParser) -> None:
        commands = parser.add_subparsers(dest="command", required=True)
        generate = commands.add_parser("generate", help="generate a service and run its tests")
        generate.add_argument("--tenant", required=True, help="the tenant's slug")
        generate.add_argument("--requirements", required=True, help="the interview's JSON download")
        generate.add_argument("--workflow", help="a workflow document (JSON)")
        generate.add_argument(
            "--mode", choices=list(Generation.Mode.values), default=Generation.Mode.TEMPLATE
        )
        generate.add_argument("--target", default="python-fastapi")
        generate.add_argument("--no-tests", action="store_true")
        generate.add_argument("--no-docs", action="store_true")
        generate.add_argument("--no-deployment", action="store_true")
        generate.add_argument("--out", required=True, help="the folder to write the files and report.json to")
        generate.add_argument("--json", action="store_true", help="events as JSON lines")
        commands.add_parser(
            "prepare-sandbox", help="prepare the sandbox's Python (once, needs the package index)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["command"] == "prepare-sandbox":
            from codegen.sandbox.python_env import ensure_sandbox_python

            self.stdout.write(str(ensure_sandbox_python()))
            return
        try:
            status = self.generate(options)
        except BadInput as problem:
            self.stderr.write(printable(f"codegen: {problem}"))
            raise SystemExit(EXIT_BAD_INPUT) from None
        if status:
            raise SystemExit(status)

    def generate(self, options: dict[str, Any]) -> int:
        tenant = Tenant.objects.filter(slug=options["tenant"]).first()
        if tenant is None:
            raise BadInput(f"no tenant {options['tenant']!r}")
        requirements = _read_json(options["requirements"], "requirements")
        workflow = _read_json(options["workflow"], "workflow") if options.get("workflow") else None
        out = Path(options["out"])
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as problem:
            raise BadInput(f"cannot write to {out}: {problem.strerror or problem}") from None
        try:
            generation = services.generation_create(
                tenant=tenant,
                actor=None,
                options=Options(
                    target=options["target"],
                    include_tests=not options["no_tests"],
                    include_docs=not options["no_docs"],
                    include_deployment=not options["no_deployment"],
                ),
                mode=options["mode"],
                requirements=requirements,
                workflow_document=workflow,
                enqueue=False,
            )
        except services.GenerationRefused as refusal:
            raise BadInput(refusal.message) from None

        def show(event: GenerationEvent) -> None:
            line = (
                json.dumps(as_json(event), ensure_ascii=False) if options["json"] else printable(_line(event))
            )
            self.stdout.write(line)
            self.stdout.flush()

        ended = jobs.generation_run(generation_id=generation.pk, lease=generation.run_token, listener=show)
        if ended is None:
            raise CommandError("the generation was taken over by another run")
        artifacts.write_tree(artifacts.latest_contents(ended), out)
        (out / "report.json").write_text(
            json.dumps(report(ended), indent=2, ensure_ascii=False), encoding="utf-8"
        )
        return exit_status(ended)
