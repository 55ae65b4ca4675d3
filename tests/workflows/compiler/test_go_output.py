"""The generated Go is gofmt-clean and type-checks against the SDK's API."""

from __future__ import annotations

import shutil
from pathlib import Path

from bench.workflow_generator import KNOWN_WORKFLOW_IDS as GENERATED_KNOWN_IDS
from bench.workflow_generator import generate_workflow
from tests.workflows.go_tools import go_vet, gofmt_report, requires_go, requires_gofmt
from tests.workflows.samples import GOLDEN, KNOWN_WORKFLOW_IDS, fixture_names, load_fixture
from workflows.compiler import compile_workflow


def write_generated(directory: Path) -> list[Path]:
    """The fixtures' Go and a few generated workflows' Go, written to `directory`."""
    files = []
    for name in fixture_names():
        path = directory / f"{name}.go"
        path.write_text(compile_workflow(load_fixture(name), known_workflow_ids=KNOWN_WORKFLOW_IDS).code)
        files.append(path)
    for seed in range(3):
        document = generate_workflow(60, seed=seed)
        document["name"] = f"Generated {seed}"
        path = directory / f"generated_{seed}.go"
        path.write_text(compile_workflow(document, known_workflow_ids=GENERATED_KNOWN_IDS).code)
        files.append(path)
    return files


@requires_gofmt
def test_generated_code_is_gofmt_clean(tmp_path: Path) -> None:
    write_generated(tmp_path)
    unformatted, errors, status = gofmt_report(tmp_path)
    assert (unformatted, errors, status) == ([], "", 0)


@requires_gofmt
def test_the_golden_files_are_gofmt_clean() -> None:
    unformatted, errors, status = gofmt_report(GOLDEN)
    assert (unformatted, errors, status) == ([], "", 0)


@requires_gofmt
def test_the_check_notices_badly_formatted_code(tmp_path: Path) -> None:
    (tmp_path / "bad.go").write_text("package workflows\nfunc  f( ) {}\n")
    assert gofmt_report(tmp_path)[0] == [str(tmp_path / "bad.go")]
    (tmp_path / "bad.go").write_text('package workflows\nvar s = "unterminated\n')
    assert gofmt_report(tmp_path)[2] != 0


@requires_go
def test_generated_code_type_checks_against_the_sdk_api(tmp_path: Path) -> None:
    """All workflows in one package, as they will be deployed: no name clashes, no unused
    variables or imports, every SDK call with the right types (go vet, offline)."""
    package = tmp_path / "generated"
    package.mkdir()
    write_generated(package)
    result = go_vet(package)
    assert result.returncode == 0, result.stderr


@requires_go
def test_the_type_check_can_fail(tmp_path: Path) -> None:
    package = tmp_path / "generated"
    package.mkdir()
    code = compile_workflow(load_fixture("linear"), known_workflow_ids=KNOWN_WORKFLOW_IDS).code
    (package / "linear.go").write_text(code.replace("e.lookup(", "e.lookUp(", 1))
    result = go_vet(package)
    assert result.returncode != 0
    assert "lookUp undefined" in result.stderr
    shutil.rmtree(package)
