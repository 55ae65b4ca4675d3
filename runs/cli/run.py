"""`manage.py workflow run FILE.json --tenant SLUG`: check what is given, start the run, and
with --wait follow it to its end.

Exit status: 0 when the run succeeded (or, without --wait, started), 1 when it failed, was
cancelled or terminated, or Temporal could not be reached, 2 on bad input (the file, the
tenant, an option, or a run the service refuses).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from core import temporal_client, temporal_server
from core.terminal import printable
from runs import pages, services
from runs.cli.follow import follow
from runs.cli.shared import EXIT_BAD_INPUT, EXIT_FAILED, run_url, tenant_by_slug
from runs.cli.temporal import temporal_for_command
from runs.models import Run
from workflows.command_extensions import read_workflow_file
from workflows.dsl.documents import parse_workflow
from workflows.dsl.models import ActivityConfig

CANNED_NODE_TYPES = frozenset({"activity", "ai_action", "n8n"})

EXIT_STATUS = (
    "Exit status: 0 the run succeeded (without --wait: it started), 1 it failed, was cancelled "
    "or terminated, or Temporal could not be reached, 2 bad input (unreadable file, invalid "
    "workflow, unknown tenant, a malformed option, inputs of the wrong type, a plan limit)."
)
DESCRIPTION = (
    "Start a run of a workflow document on Temporal: TEMPORAL_ADDRESS's server, or without one "
    "the embedded dev server of `manage.py serve` (started for this command, with an SCE "
    "worker, when serve is not running). Prints the run's id and Temporal workflow id; with "
    "--wait, one line per event (workflow_started, node_started, node_finished, node_waiting, "
    "workflow_finished, …) until the run finishes. Human tasks are answered in the portal's "
    "inbox; wait nodes take `manage.py workflow signal`. " + EXIT_STATUS
)


def add_arguments(parser: CommandParser) -> None:
    parser.add_argument("path", metavar="FILE.json", help="the workflow's JSON file; - reads standard input")
    parser.add_argument("--tenant", metavar="SLUG", required=True, help="the tenant the run belongs to")
    parser.add_argument(
        "--input",
        metavar="NAME=VALUE",
        action="append",
        default=[],
        dest="inputs",
        help="a workflow variable's value, written as on the Run form: text as it is, numbers, "
        "true or false, JSON for objects and lists; once per variable",
    )
    parser.add_argument(
        "--activity-output",
        metavar="NAME=JSON",
        action="append",
        default=[],
        dest="activity_outputs",
        help="test-run mode: what activity NAME (or the AI or n8n node with id NAME) returns, "
        "as JSON (text in quotes: 'note=\"done\"'), instead of running",
    )
    parser.add_argument(
        "--activity-error",
        metavar="NAME=TEXT",
        action="append",
        default=[],
        dest="activity_errors",
        help="test-run mode: the error activity NAME (or node NAME) fails with, instead of running",
    )
    parser.add_argument(
        "--wait", action="store_true", help="print the run's events as they happen, until it finishes"
    )
    parser.add_argument(
        "--json",
        action="store_true",
        help="JSON lines: the run first ({run_id, temporal_workflow_id, status, …}), then one "
        "object per event ({event, node_id, status, data, …})",
    )
    parser.add_argument(
        "--timeout",
        metavar="SECONDS",
        type=float,
        help="with --wait: stop following after this long (exit 1); the run itself goes on",
    )


def handle(command: BaseCommand, options: dict[str, Any]) -> None:
    """Check everything given, start the run, and follow it when asked to."""
    _, document = read_workflow_file(options["path"])
    tenant = tenant_by_slug(options["tenant"])
    inputs = _pairs(options["inputs"], option="--input")
    canned = _canned(document, options["activity_outputs"], options["activity_errors"])
    timeout: float | None = options["timeout"]
    if timeout is not None and timeout <= 0:
        raise CommandError("--timeout must be a number of seconds above 0", returncode=EXIT_BAD_INPUT)
    as_json = bool(options["json"])
    try:
        with temporal_for_command(say=command.stderr.write) as own_temporal:
            try:
                run = services.run_start(
                    tenant=tenant,
                    document=document,
                    inputs=inputs,
                    inputs_as_text=True,
                    canned=canned,
                    trigger=Run.Trigger.COMMAND,
                )
            except services.RunRefused as refused:
                raise CommandError(_refusal(refused), returncode=EXIT_BAD_INPUT) from None
            _announce(command, run, as_json=as_json)
            if run.error_code == "temporal_unavailable":
                raise CommandError(
                    f"run {run.pk} could not start: {run.error_message}", returncode=EXIT_FAILED
                )
            if not options["wait"]:
                if own_temporal:
                    command.stderr.write(
                        f"Run {run.pk} goes on when `manage.py serve` runs (Temporal keeps it in "
                        f"{settings.TEMPORAL_EMBEDDED_DB}); add --wait to run it to the end now."
                    )
                return
            run = follow(command, run, as_json=as_json, timeout=timeout, own_temporal=own_temporal)
    except (temporal_server.EmbeddedTemporalError, temporal_client.TemporalUnavailable) as error:
        raise CommandError(f"cannot reach Temporal: {error}", returncode=EXIT_FAILED) from None
    _conclude(command, run, as_json=as_json)


def _pairs(given: Sequence[str], *, option: str, value_word: str = "VALUE") -> dict[str, str]:
    """NAME=VALUE options as a mapping (the value may hold `=`); a name given twice is refused."""
    pairs: dict[str, str] = {}
    for item in given:
        name, sign, value = item.partition("=")
        name = name.strip()
        if not sign or not name:
            raise CommandError(
                f"{option} takes NAME={value_word}, not {printable(item)!r}", returncode=EXIT_BAD_INPUT
            )
        if name in pairs:
            raise CommandError(f"{option} {printable(name)} is given twice", returncode=EXIT_BAD_INPUT)
        pairs[name] = value
    return pairs


def _canned(
    document: Mapping[str, Any], outputs: Sequence[str], errors: Sequence[str]
) -> dict[str, dict[str, Any]]:
    """The test outputs: {name: {"output": value}} or {name: {"error": text}}, each name one
    the document's nodes answer to (a typo would otherwise run the real activity)."""
    canned: dict[str, dict[str, Any]] = {}
    for name, text in _pairs(outputs, option="--activity-output", value_word="JSON").items():
        try:
            canned[name] = {"output": json.loads(text)}
        except ValueError as error:
            raise CommandError(
                f"--activity-output {printable(name)} is not JSON ({error}); text goes in quotes, "
                f"e.g. {printable(name)}='\"done\"'",
                returncode=EXIT_BAD_INPUT,
            ) from None
    for name, text in _pairs(errors, option="--activity-error", value_word="TEXT").items():
        if name in canned:
            raise CommandError(
                f"{printable(name)} is given an output and an error: give one", returncode=EXIT_BAD_INPUT
            )
        if not text.strip():
            raise CommandError(
                f"--activity-error {printable(name)} needs the error's text", returncode=EXIT_BAD_INPUT
            )
        canned[name] = {"error": text.strip()}
    known = _canned_names(document)
    unknown = sorted(set(canned) - known) if known is not None else []
    if unknown:
        offered = ", ".join(printable(name) for name in sorted(known or ())) or "none"
        raise CommandError(
            f"no activity or node of the workflow is called {printable(unknown[0])}; "
            f"test outputs can be given for: {offered}",
            returncode=EXIT_BAD_INPUT,
        )
    return canned


def _canned_names(document: Mapping[str, Any]) -> set[str] | None:
    """What a test output may stand in for: activity names, and the ids of activity, AI and
    n8n nodes (as the interpreter looks them up); None when the document does not parse (the
    service then refuses it, saying why)."""
    workflow = parse_workflow(dict(document)).workflow
    if workflow is None:
        return None
    names: set[str] = set()
    for node in workflow.nodes:
        if node.node_type in CANNED_NODE_TYPES:
            names.add(node.id)
        if isinstance(node.config, ActivityConfig):
            names.add(node.config.activity_name)
    return names


def _refusal(refused: services.RunRefused) -> str:
    """The service's reason: its problems one per line when it names them, else its sentence."""
    if refused.problems:
        lines = ["the run was not started:"]
        lines += [f"  {printable(name)}: {printable(problem)}" for name, problem in refused.problems.items()]
    else:
        lines = [printable(refused.message)]
    if refused.code == "invalid_workflow":
        lines.append("  (`manage.py workflow validate FILE.json` lists every finding)")
    return "\n".join(lines)


def _announce(command: BaseCommand, run: Run, *, as_json: bool) -> None:
    if as_json:
        line = {
            "run_id": run.pk,
            "temporal_workflow_id": run.temporal_workflow_id,
            "temporal_run_id": run.temporal_run_id,
            "status": run.status,
            "url": run_url(run),
        }
        command.stdout.write(json.dumps(line))
        return
    command.stdout.write(f"Run {run.pk} ({run.status}), Temporal workflow id {run.temporal_workflow_id}")
    command.stdout.write(f"Its page: {run_url(run)}")


def _conclude(command: BaseCommand, run: Run, *, as_json: bool) -> None:
    """The outcome: the variables when it succeeded, else exit 1 with what went wrong."""
    if run.status == Run.Status.SUCCEEDED:
        if not as_json:
            seconds = run.duration_seconds
            took = f" in {pages.duration_text(seconds * 1000)}" if seconds is not None else ""
            command.stdout.write(f"Run {run.pk} succeeded{took}.")
            command.stdout.write("Variables: " + json.dumps(run.outputs or {}, sort_keys=True, default=str))
        return
    where = f" at node {printable(run.failed_node)}" if run.failed_node else ""
    reason = f": {printable(run.error_message)}" if run.error_message else ""
    raise CommandError(f"run {run.pk} {run.status}{where}{reason}", returncode=EXIT_FAILED)
