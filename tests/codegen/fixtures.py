"""What the codegen tests share: requirements, a workflow, a sandbox runner that answers
from a script (the real one is tested in tests/codegen/sandbox and end to end), and the
tasks a service sends, recorded instead of sent."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from codegen import tasks
from codegen.sandbox import SandboxLimits, SandboxResult
from tests.workflows.proposal_fixtures import order_flow

__all__ = ["order_flow"]

REQUIREMENTS: dict[str, Any] = {
    "conversation": None,
    "title": "Order fulfilment",
    "blueprint": "Business process",
    "status": "complete",
    "requirements": {
        "trigger": {"label": "Trigger", "value": "A webhook call"},
        "steps": {
            "label": "Steps",
            "value": "Check the order's stock, charge the card, send a confirmation.",
        },
        "integrations": {"label": "Integrations", "value": ["Salesforce", "Email"]},
        "human_approvals": {"label": "Human approvals", "value": False},
        "timeouts_slas": {"label": "Timeouts and SLAs", "value": None},
    },
}

PASSING_JUNIT = """<?xml version="1.0" encoding="utf-8"?>
<testsuites><testsuite name="pytest" tests="2" failures="0" errors="0" skipped="0">
<testcase classname="tests.test_api" name="test_health" time="0.01"/>
<testcase classname="tests.test_api" name="test_create" time="0.02"/>
</testsuite></testsuites>"""

FAILING_JUNIT = """<?xml version="1.0" encoding="utf-8"?>
<testsuites><testsuite name="pytest" tests="2" failures="1" errors="0" skipped="0">
<testcase classname="tests.test_api" name="test_health" time="0.01"/>
<testcase classname="tests.test_api" name="test_create" time="0.02">
<failure message="assert 500 == 201">boom</failure></testcase>
</testsuite></testsuites>"""


@dataclass
class ScriptedRunner:
    """A SandboxRunner answering from a script; it records the projects it was given.

    `hold` (when set) makes a run wait until released or cancelled, like a long test run.
    """

    junit: str = PASSING_JUNIT
    exit_code: int = 0
    hold: threading.Event | None = None
    projects: list[dict[str, str]] = field(default_factory=list)
    started: threading.Event = field(default_factory=threading.Event)

    def run(
        self,
        project: Path,
        command: tuple[str, ...],
        *,
        limits: SandboxLimits,
        cancel: threading.Event | None = None,
    ) -> SandboxResult:
        self.projects.append(
            {
                str(path.relative_to(project)): path.read_text()
                for path in project.rglob("*")
                if path.is_file()
            }
        )
        self.started.set()
        if self.hold is not None:
            while not self.hold.wait(0.05):
                if cancel is not None and cancel.is_set():
                    return SandboxResult(None, False, "", None, 0.1, reason="cancelled", killed=True)
        return SandboxResult(self.exit_code, False, "2 passed", self.junit, 0.1)


Message = tuple[int, str]


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> list[Message]:
    """The (generation id, lease) of every task the services send, instead of sending it."""
    messages: list[Message] = []
    monkeypatch.setattr(tasks.run_generation, "delay", lambda *message: messages.append(message))
    return messages
