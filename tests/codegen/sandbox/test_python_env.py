"""The sandbox's interpreter: prepared once from the pins, apart from SCE's, then instant."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from django.conf import settings

from codegen.sandbox import python_env
from codegen.sandbox.python_env import (
    READY_MARKER,
    SandboxPython,
    base_interpreter,
    ensure_sandbox_python,
    sandbox_python_ready,
    venv_name,
)
from codegen.targets.python_sandbox import PACKAGES

REPOSITORY = Path(__file__).resolve().parents[3]


def test_the_prepared_interpreter_is_found_without_installing(sandbox_python: SandboxPython) -> None:
    root = Path(settings.CODEGEN_SANDBOX_DIR)

    assert sandbox_python_ready() == sandbox_python.python
    assert ensure_sandbox_python() == sandbox_python.python
    assert sandbox_python.venv.parent == root
    assert sandbox_python.venv.name == venv_name(base_interpreter())


def test_it_has_the_pins_and_nothing_of_sces(sandbox_python: SandboxPython) -> None:
    probe = (
        "import sys, importlib.util as u;"
        "print(sys.prefix != sys.base_prefix, sys.base_prefix,"
        " [m for m in ('django', 'celery', 'codegen') if u.find_spec(m)])"
    )
    completed = subprocess.run(
        [str(sandbox_python.python), "-I", "-c", probe], capture_output=True, text=True, check=True, cwd="/"
    )

    in_venv, base_prefix, sces_modules = completed.stdout.split(" ", 2)
    assert in_venv == "True"
    assert base_prefix == str(sandbox_python.base_prefix)
    assert sces_modules.strip() == "[]"
    assert not str(sandbox_python.python.resolve()).startswith(str(REPOSITORY))
    locked = (sandbox_python.venv / "requirements.lock").read_text().splitlines()
    for requirement in PACKAGES.values():
        assert requirement.lower() in {line.lower() for line in locked}
    marker = json.loads((sandbox_python.venv / READY_MARKER).read_text())
    assert marker["freeze"] == locked


def test_an_unprepared_root_is_not_ready(tmp_path: Path) -> None:
    assert sandbox_python_ready(root=tmp_path) is None


def test_the_folder_changes_with_the_pins(monkeypatch: pytest.MonkeyPatch) -> None:
    before = venv_name(Path("/usr/bin/python3.11"))
    monkeypatch.setitem(PACKAGES, "fastapi", "fastapi==0.1.0")

    assert venv_name(Path("/usr/bin/python3.11")) != before
    assert venv_name(Path("/opt/python3.11")) != before


def test_two_preparations_at_once_install_only_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []

    def prepare(venv: Path, base: Path) -> None:
        calls.append(venv)
        time.sleep(0.3)  # long enough for the other thread to be waiting on the lock
        (venv / "bin").mkdir(parents=True)
        (venv / "bin" / "python").write_text("")
        marker = {"packages": sorted(PACKAGES.values()), "base_prefix": "/usr"}
        (venv / READY_MARKER).write_text(json.dumps(marker))

    monkeypatch.setattr(python_env, "_prepare", prepare)
    results: list[Path] = []
    threads = [
        threading.Thread(target=lambda: results.append(ensure_sandbox_python(root=tmp_path))) for _ in "ab"
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(calls) == 1
    assert results[0] == results[1] == tmp_path / venv_name(base_interpreter()) / "bin" / "python"


def test_the_command_prints_the_interpreter_without_django(sandbox_python: SandboxPython) -> None:
    environment = {key: value for key, value in os.environ.items() if key != "DJANGO_SETTINGS_MODULE"}
    completed = subprocess.run(
        [sys.executable, "-m", "codegen.sandbox.python_env", "--root", str(sandbox_python.venv.parent)],
        capture_output=True,
        text=True,
        check=True,
        cwd=REPOSITORY,
        env=environment,
    )

    assert completed.stdout.strip() == str(sandbox_python.python)
