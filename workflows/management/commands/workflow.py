"""`manage.py workflow validate|compile PATH`: check workflow files, e.g. in a CI job.

Apps above workflows add subcommands of their own (workflows.command_extensions: the runs
app's `workflow run` and `workflow signal`); their help says what their exit status means.

Exit status: 0 when the workflow is valid (warnings allowed), 1 when it has errors, 2 when
the input cannot be read as a JSON object (or the output written, or the tenant found).

Messages quote the document (ids, names, its file name): they pass through `printable`, so
a control character in it shows as an escape instead of acting on the terminal. The Go file
and --json output are data for programs and escape their own strings.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from core.terminal import printable
from tenants.models import Tenant
from workflows import command_extensions
from workflows.analysis.validation import validate_workflow
from workflows.command_extensions import EXIT_UNREADABLE, read_workflow_file
from workflows.compiler import compile_workflow
from workflows.dsl.document_types import WorkflowDocument
from workflows.dsl.findings import CYCLIC_GRAPH, DSLValidationError, Finding, format_path
from workflows.selectors import known_workflow_ids

EXIT_INVALID = 1

EXIT_STATUS_HELP = (
    "Exit status: 0 valid (warnings allowed), 1 errors found, 2 unreadable input "
    "(missing file, not UTF-8, not a JSON object), unwritable output or unknown tenant."
)
TENANT_HELP = (
    "check subflow and compensation workflow ids against this tenant's workflows; "
    "without it, every one of them is reported as unknown_subflow"
)


def describe(finding: Finding) -> str:
    """One finding on one line: `severity code location: message`.

    Locations and messages quote the document (node ids, names, expressions): escaped, so
    that a control character in it shows instead of acting on the terminal.
    """
    return printable(f"{finding.severity} {finding.code} {_location(finding)}: {finding.message}")


def _location(finding: Finding) -> str:
    if finding.path and finding.code == CYCLIC_GRAPH:  # the path is the cycle's node ids
        where = " -> ".join(str(part) for part in finding.path)
    elif finding.path:
        where = format_path(finding.path)
    elif finding.node_id is not None:
        where = f"node {finding.node_id}"
    elif finding.edge_id is not None:
        where = f"edge {finding.edge_id}"
    else:
        where = "document"
    if finding.position is not None:
        where += f" (character {finding.position})"
    return where


def _names(names: Collection[str]) -> str:
    """Names for a message line, escaped: activity names come from the document."""
    return ", ".join(printable(name) for name in names) or "none"


def _count(findings: Collection[Finding], severity: str) -> str:
    number = sum(1 for finding in findings if finding.severity == severity)
    return f"{number} {severity}{'' if number == 1 else 's'}"


class Command(BaseCommand):
    help = (
        "Validate a workflow document, or compile it to a Temporal Go file. "
        + EXIT_STATUS_HELP
        + " Other subcommands say theirs: manage.py workflow COMMAND --help."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

        validate = commands.add_parser(
            "validate",
            help="list every finding of a workflow document",
            description="List every finding of a workflow document. " + EXIT_STATUS_HELP,
        )
        validate.add_argument("path", metavar="PATH", help="the workflow's JSON file; - reads standard input")
        validate.add_argument("--tenant", metavar="SLUG", help=TENANT_HELP)
        validate.add_argument("--json", action="store_true", help="print {valid, findings} as JSON")

        compile_ = commands.add_parser(
            "compile",
            help="compile a workflow document to Go",
            description=(
                "Compile a workflow document to a Temporal Go workflow file, printed or written "
                "to OUT; findings go to standard error. " + EXIT_STATUS_HELP
            ),
        )
        compile_.add_argument("path", metavar="PATH", help="the workflow's JSON file; - reads standard input")
        compile_.add_argument("--tenant", metavar="SLUG", help=TENANT_HELP)
        compile_.add_argument(
            "-o", "--output", metavar="OUT.go", help="write the Go file here, not to stdout"
        )

        for subcommand in command_extensions.registered_subcommands():
            added = commands.add_parser(
                subcommand.name, help=subcommand.help, description=subcommand.description
            )
            subcommand.add_arguments(added)

    def handle(self, *args: Any, **options: Any) -> None:
        extension = command_extensions.registered_subcommand(options["command"])
        if extension is not None:
            extension.handle(self, options)
            return
        known = self._known_workflow_ids(options["tenant"])
        label, document = read_workflow_file(options["path"])
        if options["command"] == "validate":
            self.validate(label, document, known, as_json=options["json"])
        else:
            self.compile(label, document, known, output=options["output"])

    def validate(self, label: str, document: WorkflowDocument, known: set[str], *, as_json: bool) -> None:
        analysis = validate_workflow(document, known_workflow_ids=known)
        findings = analysis.findings
        if as_json:
            report = {"valid": analysis.is_valid, "findings": [finding.as_dict() for finding in findings]}
            self.stdout.write(json.dumps(report, indent=2))
        else:
            for finding in findings:
                self.stdout.write(describe(finding))
            verdict = "valid" if analysis.is_valid else "not valid"
            self.stdout.write(
                f"{label}: {verdict} ({_count(findings, 'error')}, {_count(findings, 'warning')})"
            )
        if not analysis.is_valid:
            raise CommandError(f"{label} is not valid: {_count(findings, 'error')}", returncode=EXIT_INVALID)

    def compile(self, label: str, document: WorkflowDocument, known: set[str], *, output: str | None) -> None:
        try:
            result = compile_workflow(document, known_workflow_ids=known)
        except DSLValidationError as invalid:
            for finding in invalid.findings:
                self.stderr.write(describe(finding))
            raise CommandError(
                f"{label} is not valid: {_count(invalid.findings, 'error')}", returncode=EXIT_INVALID
            ) from None
        for finding in result.warnings:
            self.stderr.write(describe(finding))
        if output is None:
            self.stdout.write(result.code, ending="")
            return
        try:
            Path(output).write_text(result.code, encoding="utf-8")
        except OSError as problem:
            raise CommandError(
                f"cannot write {printable(output)}: {problem.strerror or problem}", returncode=EXIT_UNREADABLE
            ) from None
        self.stderr.write(f"Wrote {printable(output)} ({len(result.code.encode())} bytes).")
        self.stderr.write(f"Activity stubs to implement: {_names(result.activity_stubs)}")
        self.stderr.write(f"Workers required (task queues): {_names(result.required_workers)}")

    # --- input -----------------------------------------------------------------------

    def _known_workflow_ids(self, slug: str | None) -> set[str]:
        if slug is None:
            return set()
        tenant = Tenant.objects.filter(slug=slug).first()
        if tenant is None:
            raise CommandError(f"no tenant with slug {slug!r}", returncode=EXIT_UNREADABLE)
        return known_workflow_ids(tenant)
