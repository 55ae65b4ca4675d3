"""`manage.py workflow signal RUN_ID NAME --tenant SLUG`: resume a run's wait nodes from the
command line. Human tasks are answered only in the inbox, never here."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from core import temporal_client
from core.terminal import printable
from runs import selectors, services
from runs.cli.shared import EXIT_BAD_INPUT, EXIT_FAILED, tenant_by_slug
from workflows.dsl.documents import parse_workflow
from workflows.dsl.models import WaitConfig

DESCRIPTION = (
    "Send the signal NAME to a run's wait nodes (a `signal` wait with that signal_name resumes; "
    "a `condition` wait merges a JSON object payload into the variables). Human tasks are not "
    "answered here: only in the tenant's inbox, where the answer is checked against the task's "
    "form and recorded with who gave it. Exit status: 0 sent, 1 Temporal could not be reached "
    "or did not take it, 2 bad input (unknown tenant or run, no wait node takes NAME, payload "
    "not JSON, the run has finished)."
)


def add_arguments(parser: CommandParser) -> None:
    parser.add_argument(
        "run_id", metavar="RUN_ID", type=int, help="the run's number, as `workflow run` printed it"
    )
    parser.add_argument("name", metavar="NAME", help="the signal_name of the wait node to resume")
    parser.add_argument("--payload", metavar="JSON", help="what the signal carries, as JSON")
    parser.add_argument("--tenant", metavar="SLUG", required=True, help="the tenant the run belongs to")


def handle(command: BaseCommand, options: dict[str, Any]) -> None:
    """Send NAME (and its payload) to a run of the tenant."""
    tenant = tenant_by_slug(options["tenant"])
    run = selectors.run_of_tenant(tenant, options["run_id"])
    if run is None:  # another tenant's run reads as missing
        raise CommandError(f"tenant {tenant.slug} has no run {options['run_id']}", returncode=EXIT_BAD_INPUT)
    name: str = options["name"]
    payload = None
    if options["payload"] is not None:
        try:
            payload = json.loads(options["payload"])
        except ValueError as error:
            raise CommandError(
                f"--payload is not JSON ({error}); text goes in quotes, e.g. '\"yes\"'",
                returncode=EXIT_BAD_INPUT,
            ) from None
    waiting = _signal_names(run.document)
    if name not in waiting:
        offered = ", ".join(printable(signal) for signal in sorted(waiting)) or "none"
        raise CommandError(
            f"no wait node of run {run.pk} takes the signal {printable(name)!r} (signals it takes: "
            f"{offered}); human tasks are answered in the inbox",
            returncode=EXIT_BAD_INPUT,
        )
    try:
        services.run_signal(run=run, name=name, payload=payload)
    except services.RunRefused as refused:
        status = EXIT_FAILED if refused.code == "temporal_error" else EXIT_BAD_INPUT
        raise CommandError(printable(refused.message), returncode=status) from None
    except temporal_client.TemporalUnavailable as error:
        raise CommandError(
            f"cannot reach Temporal: {error}. Start `manage.py serve` (or the configured server) "
            "and send the signal again: the run keeps waiting.",
            returncode=EXIT_FAILED,
        ) from None
    command.stdout.write(f"Sent the signal {printable(name)!r} to run {run.pk}.")


def _signal_names(document: Mapping[str, Any]) -> set[str]:
    """The signal names the run's own wait nodes take (a subflow's wait nodes belong to its
    child workflow, which this signal does not reach)."""
    workflow = parse_workflow(dict(document)).workflow
    if workflow is None:
        return set()
    return {
        node.config.signal_name
        for node in workflow.nodes
        if isinstance(node.config, WaitConfig)
        and node.config.wait_type != "timer"
        and node.config.signal_name
    }
