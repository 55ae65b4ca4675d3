"""Benchmark: what the sandbox adds to a generated project's test run.

Run from the repository root (as the worker runs: root here, so the sandbox leases a uid):

    .venv/bin/python -m bench.sandbox_overhead [--runs 20]

A project with one trivial test, run with the sandbox's own interpreter and the same pytest
command the pipeline uses (JUnit report included), N times each way, interleaved:
"outside" runs it directly in a temp folder with the same minimal environment; "inside" is
`BubblewrapRunner.run` with the default limits: packing the project into a tar, leasing a
uid, bubblewrap's namespaces and mounts, unpacking onto the tmpfs, the report back, and the
sweep afterwards. A bare `python -c pass` each way shows the fixed part. Figures are
medians and 90th percentiles of wall time; the ratio is inside / outside.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from codegen.sandbox import SandboxLimits
from codegen.sandbox.bubblewrap import BubblewrapRunner
from codegen.sandbox.python_env import SandboxPython, ensure_sandbox_install

PYTEST = ("python", "-m", "pytest", "-q", "-p", "no:cacheprovider", "--junitxml={junit}")
TRIVIAL_TEST = "def test_trivial():\n    assert 1 + 1 == 2\n"


def _outside(python: SandboxPython, project: Path, command: tuple[str, ...]) -> Callable[[], None]:
    environment = {
        "PATH": f"{python.python.parent}:/usr/bin:/bin",
        "HOME": str(project),
        "LANG": "C.UTF-8",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONHASHSEED": "0",
    }
    argv = [part.replace("{junit}", str(project / ".sce-junit.xml")) for part in command]
    argv[0] = str(python.python)

    def run() -> None:
        completed = subprocess.run(argv, cwd=project, env=environment, capture_output=True, check=False)
        if completed.returncode != 0:
            raise SystemExit(f"outside run failed: {completed.stdout.decode()[-2000:]}")

    return run


def _inside(runner: BubblewrapRunner, project: Path, command: tuple[str, ...]) -> Callable[[], None]:
    limits = SandboxLimits()

    def run() -> None:
        result = runner.run(project, command, limits=limits)
        if result.exit_code != 0:
            raise SystemExit(f"sandboxed run failed: {result.reason} {result.output[-2000:]}")

    return run


def _measure(run: Callable[[], None]) -> float:
    started = time.perf_counter()
    run()
    return (time.perf_counter() - started) * 1000


def _summary(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, round(0.9 * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=20)
    arguments = parser.parse_args()

    python = ensure_sandbox_install()
    runner = BubblewrapRunner(python)
    with tempfile.TemporaryDirectory(prefix="sce-bench-sandbox-") as folder:
        project = Path(folder, "project")
        project.mkdir()
        (project / "test_trivial.py").write_text(TRIVIAL_TEST)
        scratch = Path(folder, "outside")
        scratch.mkdir()
        (scratch / "test_trivial.py").write_text(TRIVIAL_TEST)
        series = {
            "python -c pass": (
                _outside(python, scratch, ("python", "-c", "pass")),
                _inside(runner, project, ("python", "-c", "pass")),
            ),
            "pytest, one trivial test": (_outside(python, scratch, PYTEST), _inside(runner, project, PYTEST)),
        }
        version = subprocess.run(
            [str(python.python), "-c", "import platform; print(platform.python_version())"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        print(
            f"{platform.machine()}, {os.cpu_count()} CPUs, sandbox Python {version} ({python.python}), "
            f"uid {os.geteuid()}, load {os.getloadavg()[0]:.2f}, {arguments.runs} runs each"
        )
        print("| series | outside p50 | inside p50 | **added p50** | outside p90 | inside p90 | ratio p50 |")
        print("|---|---|---|---|---|---|---|")
        for name, (outside, inside) in series.items():
            outside(), inside()  # warm the page cache and the lease folder
            outside_ms: list[float] = []
            inside_ms: list[float] = []
            for _ in range(arguments.runs):
                outside_ms.append(_measure(outside))
                inside_ms.append(_measure(inside))
            (out50, out90), (in50, in90) = _summary(outside_ms), _summary(inside_ms)
            print(
                f"| {name} | {out50:.1f} ms | {in50:.1f} ms | **{in50 - out50:.1f} ms** | {out90:.1f} ms "
                f"| {in90:.1f} ms | {in50 / out50:.2f}x |"
            )


if __name__ == "__main__":
    main()
