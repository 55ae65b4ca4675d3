"""`manage.py workflow validate|compile`: output and exact exit codes, in process and for real."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from tests.factories import TenantFactory
from tests.servers import ROOT, server_env
from tests.workflows.samples import FIXTURES, chain, edge, load_fixture, node, variable, workflow
from workflows.analysis.validation import validate_workflow
from workflows.compiler import compile_workflow
from workflows.services import workflow_create

CYCLIC = workflow(
    [node("start"), node("a"), node("b"), node("c")],
    [*chain("start", "a", "b", "c"), edge("back", "c", "a")],
)
WITH_A_WARNING = workflow([node("a")], variables=[variable("never_read")])
UNUSED_WARNING = "warning unused_variable variables[0].name: variable 'never_read' is never used"
SUBFLOW_IDS = ("44444444-4444-4444-8444-444444444444", "55555555-5555-4555-8555-555555555555")


@dataclass
class Result:
    status: int
    out: str
    err: str


def run(*arguments: str, stdin: bytes | None = None, monkeypatch: pytest.MonkeyPatch | None = None) -> Result:
    """Run `manage.py workflow …` in process; the exit status is what run_from_argv would use."""
    if stdin is not None:
        assert monkeypatch is not None
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(stdin)))
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("workflow", *arguments, stdout=out, stderr=err)
    except CommandError as failure:
        return Result(failure.returncode, out.getvalue(), err.getvalue() + str(failure))
    return Result(0, out.getvalue(), err.getvalue())


def write(tmp_path: Path, document: object, name: str = "workflow.json") -> str:
    path = tmp_path / name
    path.write_bytes(document if isinstance(document, bytes) else json.dumps(document).encode())
    return str(path)


# --- validate -----------------------------------------------------------------------------


def test_a_valid_workflow_exits_0(tmp_path: Path) -> None:
    result = run("validate", str(FIXTURES / "parallel.json"))
    assert result.status == 0
    assert result.out.strip().endswith("valid (0 errors, 0 warnings)")


def test_warnings_alone_still_exit_0_and_are_listed(tmp_path: Path) -> None:
    result = run("validate", write(tmp_path, WITH_A_WARNING))
    assert result.status == 0
    [line, summary] = result.out.splitlines()
    assert line == UNUSED_WARNING
    assert summary.endswith(": valid (0 errors, 1 warning)")


def test_errors_exit_1_with_one_line_per_finding(tmp_path: Path) -> None:
    path = write(tmp_path, CYCLIC)
    result = run("validate", path)
    assert result.status == 1
    lines = result.out.splitlines()
    assert "error cyclic_graph a -> b -> c -> a: " in lines[0]
    assert lines[-1] == f"{path}: not valid (1 error, 0 warnings)"
    assert result.err == f"{path} is not valid: 1 error"


def test_json_output_is_the_api_body(tmp_path: Path) -> None:
    for document, status in ((CYCLIC, 1), (WITH_A_WARNING, 0)):
        result = run("validate", write(tmp_path, document), "--json")
        assert result.status == status
        analysis = validate_workflow(document, known_workflow_ids=set())
        assert json.loads(result.out) == {
            "valid": analysis.is_valid,
            "findings": [finding.as_dict() for finding in analysis.findings],
        }


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (b'{\n  "name": }', "not JSON: Expecting value (line 2, column 11)"),
        (b"\xff\xfe{}", "not UTF-8"),
        (b"[1, 2]", "must be a JSON object"),
        (b"", "not JSON"),
    ],
)
@pytest.mark.parametrize("command", ["validate", "compile"])
def test_unreadable_input_exits_2(tmp_path: Path, content: bytes, says: str, command: str) -> None:
    path = write(tmp_path, content)
    result = run(command, path)
    assert result.status == 2
    assert result.out == ""
    assert result.err.startswith(f"cannot read {path}: ")
    assert says in result.err


@pytest.mark.parametrize("command", ["validate", "compile"])
def test_a_missing_file_or_a_directory_exits_2(tmp_path: Path, command: str) -> None:
    missing = run(command, str(tmp_path / "nope.json"))
    assert (missing.status, missing.err) == (
        2,
        f"cannot read {tmp_path / 'nope.json'}: No such file or directory",
    )
    directory = run(command, str(tmp_path))
    assert directory.status == 2
    assert directory.err.startswith(f"cannot read {tmp_path}: ")


def test_dash_reads_standard_input(monkeypatch: pytest.MonkeyPatch) -> None:
    valid = run("validate", "-", stdin=(FIXTURES / "linear.json").read_bytes(), monkeypatch=monkeypatch)
    assert valid.status == 0
    assert valid.out.strip() == "<stdin>: valid (0 errors, 0 warnings)"
    broken = run("validate", "-", stdin=b"{", monkeypatch=monkeypatch)
    assert broken.status == 2
    assert broken.err.startswith("cannot read <stdin>: the document is not JSON")


# --- tenants and subflows -------------------------------------------------------------------


@pytest.mark.django_db
def test_without_a_tenant_every_subflow_is_unknown_and_with_one_they_resolve(tmp_path: Path) -> None:
    path = str(FIXTURES / "subflow.json")
    tenant = TenantFactory.create(slug="acme")
    TenantFactory.create(slug="globex")
    for workflow_id in SUBFLOW_IDS:
        workflow_create(tenant=tenant, actor=None, name="Child", workflow_uuid=uuid.UUID(workflow_id))

    alone = run("validate", path, "--json")
    assert alone.status == 1
    assert [finding["code"] for finding in json.loads(alone.out)["findings"]] == ["unknown_subflow"] * 2
    assert run("validate", path, "--tenant", "acme").status == 0
    assert run("validate", path, "--tenant", "globex").status == 1
    assert run("compile", path, "--tenant", "acme").status == 0
    assert run("compile", path, "--tenant", "globex").status == 1


@pytest.mark.django_db
@pytest.mark.parametrize("command", ["validate", "compile"])
def test_an_unknown_tenant_exits_2(command: str) -> None:
    result = run(command, str(FIXTURES / "linear.json"), "--tenant", "nope")
    assert (result.status, result.err) == (2, "no tenant with slug 'nope'")


def test_help_says_what_happens_without_a_tenant(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        call_command("workflow", "validate", "--help")
    assert exited.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "without it, every one of them is reported as unknown_subflow" in text
    assert "Exit status: 0 valid (warnings allowed), 1 errors found, 2 unreadable input" in text


# --- compile ------------------------------------------------------------------------------


def test_compile_prints_the_go_file() -> None:
    result = run("compile", str(FIXTURES / "decision.json"))
    assert result.status == 0
    assert result.out == compile_workflow(load_fixture("decision"), known_workflow_ids=set()).code
    assert result.err == ""


def test_compile_writes_the_go_file_and_summarises_on_stderr(tmp_path: Path) -> None:
    out = tmp_path / "decision.go"
    result = run("compile", str(FIXTURES / "decision.json"), "-o", str(out))
    expected = compile_workflow(load_fixture("decision"), known_workflow_ids=set())
    assert result.status == 0
    assert result.out == ""
    assert out.read_text() == expected.code
    assert f"Wrote {out} (" in result.err
    assert f"Activity stubs to implement: {', '.join(expected.activity_stubs)}" in result.err
    assert f"Workers required (task queues): {', '.join(expected.required_workers)}" in result.err


def test_compile_reports_warnings_on_stderr(tmp_path: Path) -> None:
    result = run("compile", write(tmp_path, WITH_A_WARNING))
    assert result.status == 0
    assert result.out.startswith("// Code generated")
    assert result.err.startswith(UNUSED_WARNING)


def test_compiling_an_invalid_workflow_exits_1_with_the_findings_on_stderr(tmp_path: Path) -> None:
    out = tmp_path / "cyclic.go"
    result = run("compile", write(tmp_path, CYCLIC), "-o", str(out))
    assert result.status == 1
    assert result.out == ""
    assert result.err.startswith("error cyclic_graph a -> b -> c -> a: ")
    assert not out.exists()


def test_compile_reads_standard_input(monkeypatch: pytest.MonkeyPatch) -> None:
    result = run("compile", "-", stdin=(FIXTURES / "wait.json").read_bytes(), monkeypatch=monkeypatch)
    assert result.status == 0
    assert result.out == compile_workflow(load_fixture("wait"), known_workflow_ids=set()).code


def test_an_unwritable_output_exits_2(tmp_path: Path) -> None:
    result = run("compile", str(FIXTURES / "linear.json"), "-o", str(tmp_path / "missing" / "out.go"))
    assert result.status == 2
    assert result.err.startswith(f"cannot write {tmp_path / 'missing' / 'out.go'}: ")


# --- What reaches the terminal ----------------------------------------------------------------

# A colour change, a right-to-left override (what follows reads backwards) and a C1 CSI.
HOSTILE = "ev\x1b[31mil\u202etxt\x9b2J"
HOSTILE_SHOWN = "ev\\x1b[31mil\\u202etxt\\x9b2J"


def shown_raw(text: str) -> list[str]:
    """The characters of `text` that would act on a terminal (line breaks are output's own)."""
    return [character for character in text if not character.isprintable() and character != "\n"]


def test_validate_escapes_node_ids_and_the_file_name(tmp_path: Path) -> None:
    a, b = f"a{HOSTILE}", f"b{HOSTILE}"
    cyclic = workflow([node("start"), node(a), node(b)], [*chain("start", a, b), edge("back", b, a)])
    path = write(tmp_path, cyclic, name=f"{HOSTILE}.json")
    result = run("validate", path)
    assert result.status == 1
    assert shown_raw(result.out + result.err) == []
    assert f"error cyclic_graph a{HOSTILE_SHOWN} -> b{HOSTILE_SHOWN} -> a{HOSTILE_SHOWN}: " in result.out
    assert f"{tmp_path}/{HOSTILE_SHOWN}.json: not valid (1 error, 0 warnings)" in result.out


def test_compile_escapes_activity_names_in_messages_but_not_in_the_go_file(tmp_path: Path) -> None:
    document = workflow([node("start"), node("a", activity_name=f"Do{HOSTILE}")], chain("start", "a"))
    out = tmp_path / f"{HOSTILE}.go"
    result = run("compile", write(tmp_path, document), "-o", str(out))
    assert result.status == 0
    assert shown_raw(result.err) == []
    assert f"Wrote {tmp_path}/{HOSTILE_SHOWN}.go (" in result.err
    assert f"Activity stubs to implement: DoWork, Do{HOSTILE_SHOWN}\n" in result.err
    assert out.read_text() == compile_workflow(document, known_workflow_ids=set()).code, "data is not altered"

    printed = run("compile", write(tmp_path, document))
    assert printed.out == compile_workflow(document, known_workflow_ids=set()).code
    assert "\x1b" not in printed.out, "the Go file escapes its own literals"
    assert "\u202e" not in printed.out


def test_compile_escapes_the_findings_of_an_invalid_workflow(tmp_path: Path) -> None:
    a, b = f"a{HOSTILE}", f"b{HOSTILE}"
    cyclic = workflow([node("start"), node(a), node(b)], [*chain("start", a, b), edge("back", b, a)])
    result = run("compile", write(tmp_path, cyclic, name=f"{HOSTILE}.json"))
    assert result.status == 1
    assert result.out == ""
    assert shown_raw(result.err) == []
    assert f"{HOSTILE_SHOWN}.json is not valid: 1 error" in result.err


# --- The real command line ------------------------------------------------------------------


def manage(*arguments: str, stdin: bytes = b"") -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "manage.py", "workflow", *arguments],
        cwd=ROOT,
        env=server_env(),
        input=stdin,
        capture_output=True,
        timeout=120,
        check=False,
    )


def test_the_command_line_exits_0_1_and_2_exactly(tmp_path: Path) -> None:
    valid = manage("validate", str(FIXTURES / "linear.json"))
    assert valid.returncode == 0, valid.stderr
    assert valid.stdout.decode().strip().endswith("valid (0 errors, 0 warnings)")

    invalid = manage("validate", "-", "--json", stdin=json.dumps(CYCLIC).encode())
    assert invalid.returncode == 1, invalid.stderr
    assert json.loads(invalid.stdout)["valid"] is False
    assert b"is not valid: 1 error" in invalid.stderr

    missing = manage("validate", str(tmp_path / "nope.json"))
    assert missing.returncode == 2
    assert b"cannot read" in missing.stderr
    assert b"No such file or directory" in missing.stderr
    assert missing.stdout == b""

    not_json = manage("validate", "-", stdin=b"not json")
    assert not_json.returncode == 2
    assert b"the document is not JSON" in not_json.stderr
