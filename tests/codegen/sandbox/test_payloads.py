"""Hostile generated tests: each is contained, reported as failed, and the worker unharmed.

Every payload is a generated test file that tries one thing; the sandbox must make it fail
(or end it), say what happened, leave no process behind, and leave the next run working.
"""

from __future__ import annotations

import dataclasses
import os
import socket
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

from codegen.sandbox import SandboxResult
from codegen.sandbox.bubblewrap import BubblewrapRunner
from codegen.sandbox.identities import processes_of_uid
from codegen.sandbox.python_env import SandboxPython
from tests.codegen.sandbox.projects import (
    LIMITS,
    PYTEST,
    WORKSPACE_MB,
    cases_of,
    needs_bubblewrap,
    write_project,
)

pytestmark = needs_bubblewrap

MARKER_VARIABLE = "SCE_SANDBOX_TEST_SECRET"


@pytest.fixture
def secret(monkeypatch: pytest.MonkeyPatch) -> str:
    """A value only the worker's environment holds."""
    value = uuid.uuid4().hex
    monkeypatch.setenv(MARKER_VARIABLE, value)
    return value


@pytest.fixture
def host_listener() -> Iterator[socket.socket]:
    """A server on the host's loopback the sandbox must not reach."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        listener.setblocking(False)
        yield listener


def run_payload(runner: BubblewrapRunner, folder: Path, test_source: str, **changes: Any) -> SandboxResult:
    project = write_project(folder, {"test_payload.py": test_source})
    return runner.run(project, PYTEST, limits=dataclasses.replace(LIMITS, **changes))


def assert_worker_unharmed(runner: BubblewrapRunner, result: SandboxResult, folder: Path) -> None:
    """Nothing of the run survives, and the machine still forks and sandboxes."""
    assert result.extra["processes_left"] == "0"
    if os.geteuid() == 0:
        assert processes_of_uid(int(result.extra["uid"])) == []
    assert subprocess.run(["/bin/true"], check=False).returncode == 0
    after = runner.run(
        write_project(folder, {"test_ok.py": "def test_ok():\n    pass\n"}), PYTEST, limits=LIMITS
    )
    assert cases_of(after)["test_ok"].outcome == "passed", after.output


def command_lines_with(token: str) -> list[str]:
    found = []
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                command = Path(entry.path, "cmdline").read_bytes()
            except OSError:
                continue
            if token.encode() in command:
                found.append(command.decode(errors="replace"))
    return found


def test_a_fork_bomb_stops_at_the_process_limit(runner: BubblewrapRunner, tmp_path: Path) -> None:
    result = run_payload(
        runner,
        tmp_path / "bomb",
        """
        import os


        def test_fork_bomb():
            forked = 0
            try:
                while True:
                    if os.fork() == 0:
                        while True:  # every child forks on, as a real bomb does
                            try:
                                os.fork()
                            except OSError:
                                pass
                    forked += 1
            except OSError as error:
                assert False, f"forked {forked} then {error}"
        """,
    )

    case = cases_of(result)["test_fork_bomb"]
    assert case.outcome == "failed"
    forked = int(case.message.split("forked ", 1)[1].split(" ", 1)[0])
    assert forked <= LIMITS.processes
    assert "Resource temporarily unavailable" in case.message
    assert_worker_unharmed(runner, result, tmp_path / "after")


def test_filling_the_disk_fills_only_the_workspace(runner: BubblewrapRunner, tmp_path: Path) -> None:
    result = run_payload(
        runner,
        tmp_path / "fill",
        """
        import os


        def test_fill_the_disk():
            written = 0
            try:
                for number in range(100_000):
                    with open(f"junk-{number}", "wb") as junk:
                        junk.write(os.urandom(1024 * 1024))
                    written += 1
            except OSError as error:
                assert False, f"wrote {written} MB then {error}"
        """,
    )

    case = cases_of(result)["test_fill_the_disk"]
    assert case.outcome == "failed"
    assert "No space left on device" in case.message
    assert int(case.message.split("wrote ", 1)[1].split(" ", 1)[0]) < WORKSPACE_MB
    assert sorted(path.name for path in (tmp_path / "fill").iterdir()) == ["test_payload.py"]
    assert_worker_unharmed(runner, result, tmp_path / "after")


def test_one_huge_file_stops_at_the_file_size_limit(runner: BubblewrapRunner, tmp_path: Path) -> None:
    result = run_payload(
        runner,
        tmp_path / "huge",
        """
        def test_one_huge_file():
            with open("/tmp/huge", "wb") as huge:
                for _ in range(64):
                    huge.write(b"x" * 1024 * 1024)
        """,
    )

    case = cases_of(result)["test_one_huge_file"]
    assert case.outcome == "failed"
    assert "File too large" in case.message  # Python ignores SIGXFSZ: the write fails instead
    assert_worker_unharmed(runner, result, tmp_path / "after")


def test_there_is_no_network(runner: BubblewrapRunner, tmp_path: Path, host_listener: socket.socket) -> None:
    port = host_listener.getsockname()[1]
    result = run_payload(
        runner,
        tmp_path / "network",
        f"""
        import socket


        def test_the_hosts_loopback():
            socket.create_connection(("127.0.0.1", {port}), timeout=2).close()


        def test_an_outside_address():
            # TEST-NET-1: even a broken sandbox would not reach a real host with it.
            socket.create_connection(("192.0.2.1", 80), timeout=2).close()


        def test_names_do_not_resolve():
            socket.getaddrinfo("example.com", 443)
        """,
    )

    cases = cases_of(result)
    assert "Connection refused" in cases["test_the_hosts_loopback"].message
    assert "Network is unreachable" in cases["test_an_outside_address"].message
    assert cases["test_names_do_not_resolve"].outcome == "failed"
    assert "gaierror" in cases["test_names_do_not_resolve"].message
    with pytest.raises(BlockingIOError):
        host_listener.accept()
    assert_worker_unharmed(runner, result, tmp_path / "after")


def test_the_workers_environment_is_invisible(runner: BubblewrapRunner, tmp_path: Path, secret: str) -> None:
    result = run_payload(
        runner,
        tmp_path / "environ",
        f"""
        import os
        from pathlib import Path


        def test_steal_the_environment():
            seen = [repr(dict(os.environ))]
            for environ in Path("/proc").glob("*/environ"):
                try:
                    seen.append(f"{{environ}}: {{environ.read_bytes()!r}}")
                except OSError as error:
                    seen.append(f"{{environ}}: {{error}}")
            print("\\n".join(seen))
            assert "{MARKER_VARIABLE}" in "".join(seen), "not found"
        """,
    )

    case = cases_of(result)["test_steal_the_environment"]
    assert case.outcome == "failed"
    assert "not found" in case.message
    assert "/proc/1/environ: [Errno 13] Permission denied" in result.output
    assert secret not in result.output
    assert secret not in (result.junit_xml or "")
    assert os.environ[MARKER_VARIABLE] == secret  # the marker really was in the worker's environment
    assert_worker_unharmed(runner, result, tmp_path / "after")


def test_sces_files_are_invisible(
    runner: BubblewrapRunner, sandbox_python: SandboxPython, tmp_path: Path
) -> None:
    repository = Path(settings.BASE_DIR)
    cache = sandbox_python.venv.parent
    targets = {
        "the data folder": str(settings.DATA_DIR),
        "the repository's data folder": str(repository / "var"),
        "the repository": str(repository / "pyproject.toml"),
        "the sandbox cache's other folders": str(cache / "leases"),
        "SCE's other caches": str(cache.parent / "wheels"),
        "root's home": "/root/.ssh",
        "the host's secrets": "/etc/shadow",
        "the host's /work": "/work",
    }
    result = run_payload(
        runner,
        tmp_path / "files",
        f"""
        import os
        import pytest

        TARGETS = {targets!r}


        @pytest.mark.parametrize("what", sorted(TARGETS))
        def test_read_sces_files(what):
            path = TARGETS[what]
            if os.path.isdir(path):
                listing = os.listdir(path)
                assert listing, "empty"
                assert False, f"listed {{listing}}"
            with open(path, "rb") as stolen:
                assert False, f"read {{stolen.read(100)!r}}"
        """,
    )

    cases = cases_of(result)
    assert len(cases) == len(targets)
    for name, case in cases.items():
        assert case.outcome == "failed", name
        assert "No such file or directory" in case.message or "empty" in case.message, (name, case.message)
    assert "read b'" not in result.output
    assert "listed [" not in result.output
    assert_worker_unharmed(runner, result, tmp_path / "after")


def test_a_test_that_sleeps_forever_is_killed_with_its_whole_tree(
    runner: BubblewrapRunner, tmp_path: Path
) -> None:
    token = f"sce-sleeper-{uuid.uuid4().hex}"
    result = run_payload(
        runner,
        tmp_path / "sleep",
        f"""
        import subprocess
        import time


        def test_sleep_forever():
            # A detached grandchild in a session of its own, too.
            subprocess.Popen(["sh", "-c", "exec sleep 1000 {token}"], start_new_session=True)
            subprocess.Popen(["sleep", "1000", "{token}"])
            time.sleep(10**6)
        """,
        timeout_seconds=3.0,
    )

    assert result.timed_out
    assert result.killed
    assert result.exit_code is None
    assert result.reason == "timed out after 3 s; every process of the run was killed"
    assert 3.0 <= result.duration_seconds < 8.0
    assert command_lines_with(token) == []
    assert_worker_unharmed(runner, result, tmp_path / "after")


def test_writing_outside_the_workspace_is_refused(
    runner: BubblewrapRunner, sandbox_python: SandboxPython, tmp_path: Path
) -> None:
    site_packages = next(sandbox_python.venv.glob("lib/python3*/site-packages"))
    targets = [
        "/usr/pwned",
        "/etc/pwned",
        "/pwned",
        "/dev/pwned",
        "/dev/shm/pwned",  # noqa: S108  (inside the sandbox)
        f"{site_packages}/pwned.py",
    ]
    result = run_payload(
        runner,
        tmp_path / "write",
        f"""
        import pytest


        @pytest.mark.parametrize("path", {targets!r})
        def test_write_outside(path):
            with open(path, "w") as planted:
                planted.write("pwned")
        """,
    )

    cases = cases_of(result)
    assert len(cases) == len(targets)
    for name, case in cases.items():
        assert case.outcome == "failed", name
        assert "Read-only file system" in case.message or "Permission denied" in case.message, case.message
    assert not (site_packages / "pwned.py").exists()
    assert not Path("/usr/pwned").exists()
    assert_worker_unharmed(runner, result, tmp_path / "after")


def test_a_cpu_hog_is_killed_at_its_cpu_limit(runner: BubblewrapRunner, tmp_path: Path) -> None:
    result = run_payload(
        runner,
        tmp_path / "cpu",
        """
        def test_spin():
            while True:
                pass
        """,
        cpu_seconds=1,
    )

    assert result.killed
    assert result.exit_code is None
    assert result.reason == "killed: over its 1 s of CPU time (SIGXCPU)"
    assert result.junit_xml is None
    assert_worker_unharmed(runner, result, tmp_path / "after")


def test_a_memory_hog_stops_at_its_memory_limit(runner: BubblewrapRunner, tmp_path: Path) -> None:
    result = run_payload(
        runner,
        tmp_path / "memory",
        """
        def test_hog():
            hoard = []
            while True:
                hoard.append(bytearray(64 * 1024 * 1024))
        """,
        memory_mb=256,
    )

    case = cases_of(result)["test_hog"]
    assert case.outcome == "failed"
    assert "MemoryError" in case.message
    assert_worker_unharmed(runner, result, tmp_path / "after")
