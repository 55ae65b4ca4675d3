"""A generated project's tests run in the sandbox: results, limits, refusals, cancel."""

from __future__ import annotations

import ast
import os
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from codegen.sandbox import SandboxLimits, SandboxRunner, default_runner, limits_from_settings
from codegen.sandbox.bubblewrap import BubblewrapRunner
from codegen.sandbox.identities import processes_of_uid
from codegen.sandbox.python_env import SandboxPython
from tests.codegen.sandbox.projects import LIMITS, PYTEST, cases_of, needs_bubblewrap, write_project

pytestmark = needs_bubblewrap

SERVICE = {
    "app/__init__.py": "",
    "app/main.py": """
        from fastapi import FastAPI
        from pydantic import BaseModel

        app = FastAPI()


        class Item(BaseModel):
            name: str


        @app.post("/items")
        def create(item: Item) -> dict[str, str]:
            return {"created": item.name}
    """,
    "tests/test_items.py": """
        import pytest
        from fastapi.testclient import TestClient

        from app.main import app

        client = TestClient(app)


        def test_create():
            assert client.post("/items", json={"name": "a"}).json() == {"created": "a"}


        def test_wrong_on_purpose():
            assert client.post("/items", json={"name": "a"}).status_code == 201


        @pytest.mark.skip(reason="not today")
        def test_skipped():
            pass


        @pytest.fixture
        def broken():
            raise RuntimeError("fixture broke")


        def test_erroring(broken):
            pass
    """,
}


def test_the_default_runner_is_bubblewrap_with_the_configured_limits(settings: Any) -> None:
    settings.CODEGEN_SANDBOX_PROCESSES = 7
    settings.CODEGEN_SANDBOX_TIMEOUT_SECONDS = 3.5

    runner: SandboxRunner = default_runner()

    assert isinstance(runner, BubblewrapRunner)
    assert limits_from_settings() == SandboxLimits(
        timeout_seconds=3.5, cpu_seconds=60, memory_mb=1024, file_mb=64, processes=7
    )


def test_it_runs_a_fastapi_project_and_reports_each_test(runner: BubblewrapRunner, tmp_path: Path) -> None:
    project = write_project(tmp_path / "service", SERVICE)

    result = runner.run(project, PYTEST, limits=LIMITS)

    assert result.exit_code == 1, result.output
    assert not result.timed_out
    assert not result.killed
    assert result.reason == ""
    cases = cases_of(result)
    assert {name: case.outcome for name, case in cases.items()} == {
        "test_create": "passed",
        "test_wrong_on_purpose": "failed",
        "test_skipped": "skipped",
        "test_erroring": "error",
    }
    assert "assert 200 == 201" in cases["test_wrong_on_purpose"].message
    assert "fixture broke" in cases["test_erroring"].message
    assert cases["test_create"].classname == "tests.test_items"
    assert "1 failed, 1 passed, 1 skipped" in result.output
    # The sandbox works on a copy: the host's folder got no report, no cache, no bytecode.
    assert sorted(path.name for path in project.rglob("*")) == sorted(
        ["app", "tests", "__init__.py", "main.py", "test_items.py"]
    )


def test_it_gives_the_tests_a_minimal_environment(runner: BubblewrapRunner, tmp_path: Path) -> None:
    project = write_project(
        tmp_path / "environment",
        {
            "test_environment.py": """
                import os


                def test_environment():
                    print("ENVIRONMENT", sorted(os.environ.items()))
                    print("IDENTITY", os.getuid(), os.getgid(), os.getgroups(), os.getcwd())
                    assert False
            """
        },
    )

    result = runner.run(project, PYTEST, limits=LIMITS)

    environment_line = next(line for line in result.output.splitlines() if line.startswith("ENVIRONMENT"))
    names = {name for name, _value in ast.literal_eval(environment_line.removeprefix("ENVIRONMENT "))}
    assert names - {"PWD", "PYTEST_VERSION", "PYTEST_CURRENT_TEST"} == {
        "PATH",
        "HOME",
        "TMPDIR",
        "LANG",
        "PYTHONDONTWRITEBYTECODE",
        "PYTHONHASHSEED",
    }
    assert "'PYTHONHASHSEED', '0'" in environment_line
    assert "'LANG', 'C.UTF-8'" in environment_line
    assert "/project" in result.output
    if os.geteuid() == 0:
        uid = result.extra["uid"]
        assert f"IDENTITY {uid} {uid} [] /project" in result.output
        assert int(uid) != 0


def test_it_keeps_only_the_tail_of_a_huge_output(sandbox_python: SandboxPython, tmp_path: Path) -> None:
    runner = BubblewrapRunner(sandbox_python, output_limit_bytes=4096)
    project = write_project(
        tmp_path / "loud",
        {
            "test_loud.py": """
                import sys


                def test_loud():
                    for number in range(200_000):
                        sys.stdout.write(f"line {number:06d} " + "x" * 80 + "\\n")
                    sys.stdout.write("THE END\\n")
            """
        },
    )

    result = runner.run(project, (*PYTEST, "-s"), limits=LIMITS)

    assert result.exit_code == 0
    assert len(result.output) < 4096 + 200
    assert "earlier bytes of output dropped" in result.output
    assert "line 000000" not in result.output
    assert "1 passed" in result.output
    assert cases_of(result)["test_loud"].outcome == "passed"


def test_it_says_so_when_bubblewrap_is_missing(sandbox_python: SandboxPython, tmp_path: Path) -> None:
    runner = BubblewrapRunner(sandbox_python, bwrap=str(tmp_path / "no-bwrap"))

    result = runner.run(
        write_project(tmp_path / "p", {"test_a.py": "def test_a(): pass\n"}), PYTEST, limits=LIMITS
    )

    assert result.exit_code is None
    assert result.reason.startswith("cannot start: bubblewrap (bwrap) is not installed")
    assert result.junit_xml is None


def test_it_says_so_when_the_interpreter_is_not_prepared(tmp_path: Path) -> None:
    runner = BubblewrapRunner(root=tmp_path / "empty-sandbox-root")

    result = runner.run(
        write_project(tmp_path / "p", {"test_a.py": "def test_a(): pass\n"}), PYTEST, limits=LIMITS
    )

    assert result.exit_code is None
    assert "the sandbox's Python is not prepared" in result.reason


def test_it_reports_a_command_that_does_not_exist(runner: BubblewrapRunner, tmp_path: Path) -> None:
    result = runner.run(
        write_project(tmp_path / "p", {"a.txt": "a"}), ("no-such-program", "{junit}"), limits=LIMITS
    )

    assert result.exit_code == 127
    assert "cannot run 'no-such-program'" in result.reason
    assert result.junit_xml is None


@pytest.mark.parametrize(
    ("target", "why"),
    [
        ("/etc/shadow", "the host's secrets"),
        ("DATA_DIR", "SCE's data folder"),
        ("../outside.txt", "a sibling"),
    ],
)
def test_it_refuses_a_symlink_that_leads_outside_the_project(
    runner: BubblewrapRunner, tmp_path: Path, target: str, why: str
) -> None:
    from django.conf import settings

    project = write_project(tmp_path / "p", {"test_a.py": "def test_a(): pass\n"})
    (tmp_path / "outside.txt").write_text("secret")
    link_target = str(settings.DATA_DIR) if target == "DATA_DIR" else target
    (project / "data").symlink_to(link_target)

    result = runner.run(project, PYTEST, limits=LIMITS)

    assert result.exit_code is None, why
    assert result.reason.startswith("refused: data is a symlink to"), result.reason
    assert "outside the project" in result.reason
    assert result.output == ""


def test_it_keeps_a_symlink_inside_the_project(runner: BubblewrapRunner, tmp_path: Path) -> None:
    project = write_project(
        tmp_path / "p",
        {
            "fixtures/data.txt": "hello",
            "test_link.py": """
                from pathlib import Path


                def test_link():
                    assert Path("data.txt").read_text() == "hello"
                    assert Path("data.txt").is_symlink()
            """,
        },
    )
    (project / "data.txt").symlink_to("fixtures/data.txt")

    result = runner.run(project, PYTEST, limits=LIMITS)

    assert cases_of(result)["test_link"].outcome == "passed", result.output


def test_cancel_kills_the_run_within_a_second(runner: BubblewrapRunner, tmp_path: Path) -> None:
    project = write_project(
        tmp_path / "p",
        {
            "test_slow.py": """
                import time


                def test_slow():
                    time.sleep(60)
            """
        },
    )
    cancel = threading.Event()
    timer = threading.Timer(1.0, cancel.set)
    timer.start()
    started = time.monotonic()

    result = runner.run(project, PYTEST, limits=LIMITS, cancel=cancel)

    timer.join()
    assert time.monotonic() - started < 2.5
    assert result.reason == "cancelled; every process of the run was killed"
    assert result.killed
    assert result.exit_code is None
    assert not result.timed_out
    assert result.extra["processes_left"] == "0"
    if os.geteuid() == 0:
        assert processes_of_uid(int(result.extra["uid"])) == []
