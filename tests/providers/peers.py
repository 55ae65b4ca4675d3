"""Start peer gateway processes (tests/providers/peer.py) from a test."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

from tests.servers import ROOT, server_env


class Peer:
    def __init__(self, spec: dict[str, Any], env: dict[str, str]) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.providers.peer", json.dumps(spec)],
            cwd=ROOT,
            env=server_env(**env),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if line.strip() != "ready":
            raise RuntimeError(
                f"peer did not start: {line}{self.process.stderr.read() if self.process.stderr else ''}"
            )

    def go(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write("go\n")
        self.process.stdin.flush()

    def results(self, timeout: float = 60) -> list[dict[str, Any]]:
        out, err = self.process.communicate(timeout=timeout)
        if self.process.returncode != 0:
            raise RuntimeError(f"peer failed: {err}")
        return list(json.loads(out.strip().splitlines()[-1]))
