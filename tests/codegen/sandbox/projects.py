"""Helpers for the sandbox's tests: small projects, the pytest command, small limits."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest

from codegen.sandbox import SandboxLimits, SandboxResult
from codegen.sandbox.junit import CaseResult, parse_junit

PYTEST = ("python", "-m", "pytest", "-q", "-p", "no:cacheprovider", "--junitxml={junit}")
# Small, so that each hostile payload is contained quickly.
LIMITS = SandboxLimits(timeout_seconds=20.0, cpu_seconds=10, memory_mb=512, file_mb=8, processes=24)
WORKSPACE_MB = 32

needs_bubblewrap = pytest.mark.skipif(
    shutil.which("bwrap") is None,
    reason="bubblewrap (bwrap) is not installed; scripts/ensure-system-tools installs Debian's bubblewrap",
)


def write_project(folder: Path, files: dict[str, str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return folder


def cases_of(result: SandboxResult) -> dict[str, CaseResult]:
    assert result.junit_xml, f"no JUnit report; reason={result.reason!r}\n{result.output[-3000:]}"
    return {case.name: case for case in parse_junit(result.junit_xml)}
