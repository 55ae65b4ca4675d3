"""The sandbox's tests share one prepared interpreter; each gets a runner with small limits."""

from __future__ import annotations

import pytest

from codegen.sandbox.bubblewrap import BubblewrapRunner
from codegen.sandbox.python_env import SandboxPython, ensure_sandbox_install
from tests.codegen.sandbox.projects import WORKSPACE_MB


@pytest.fixture(scope="session")
def sandbox_python() -> SandboxPython:
    """The real sandbox interpreter (prepared with pip the first time, offline afterwards)."""
    return ensure_sandbox_install()


@pytest.fixture
def runner(sandbox_python: SandboxPython) -> BubblewrapRunner:
    # The default lease folder on purpose: a uid must never be shared with a worker's run.
    return BubblewrapRunner(sandbox_python, workspace_mb=WORKSPACE_MB, tmp_mb=8)
