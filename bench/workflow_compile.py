"""Benchmark: validate and compile generated workflows of 100, 1,000 and 10,000 nodes, and
workflows of extreme shapes (`bench.workflow_shapes`) as they grow.

Run from the repository root:

    .venv/bin/python -m bench.workflow_compile [--runs 5] [--only generated|shapes]

Each figure is the best of several runs, by the wall clock; compile also by CPU time, which
leaves out waiting for a CPU on a busy machine. "validate" and "compile" start from a parsed
workflow (what the editor holds); compile includes its own validation. "from JSON" is the
whole path an API request takes: JSON text -> parse -> validate -> Go. Growth is relative to
the 100-node size measured in the same run, so machines of different speed compare.
Goals: compile at 1,000 nodes <= 100 ms, at 10,000 nodes <= 1 s, near-linear growth.

The shapes (one parallel node or decision with every branch, a ladder of decisions, deeply
nested blocks with a join each or one join for all, layers joined edge for edge) run with
the size limits lifted, from 500 to 4,000 nodes: growth is against the 500-node size of the
same shape, and "per element" divides it by the growth in nodes + edges (1.00x = linear).
Then each shape at the largest size the default limits allow (WORKFLOW_MAX_*), which is what
a server can be asked to do.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from collections.abc import Callable
from dataclasses import dataclass

from bench.workflow_generator import KNOWN_WORKFLOW_IDS, generate_workflow
from bench.workflow_shapes import (
    SHAPES,
    Document,
    decision_ladder,
    deep_nesting,
    dense_joins,
    fan_out,
    fan_outs,
    nested_one_join,
    wide_decision,
)
from workflows.analysis.limits import WorkflowLimits
from workflows.analysis.validation import validate_workflow
from workflows.compiler import compile_workflow
from workflows.dsl.documents import parse_workflow
from workflows.dsl.models import WorkflowDSL
from workflows.editor.drawing import layout
from workflows.editor.graph_svg import render_svg

SIZES = (100, 1_000, 10_000)
GOALS_MS = {1_000: 100.0, 10_000: 1_000.0}
SHAPE_SIZES = (500, 1_000, 2_000, 4_000)
UNLIMITED = WorkflowLimits.unlimited()


def _at_the_limits() -> dict[str, Document]:
    """Each shape at the largest size the default limits allow (checked when measured)."""
    limits = WorkflowLimits()
    return {
        "parallel fan-out": fan_out(limits.max_branches),
        "decision fan-out": wide_decision(limits.max_branches - 1),  # its default is a branch too
        "decision ladder": decision_ladder(limits.max_depth),
        "deep nesting": deep_nesting(limits.max_depth),
        "nested, one join": nested_one_join(limits.max_depth),
        "dense joins": dense_joins(8, limits.max_depth - 1),  # each layer is one level deeper
        "generated": generate_workflow(limits.max_nodes, seed=limits.max_nodes),
        # 10 blocks of 197 branches: 1,991 nodes, 3,950 edges.
        "every limit": fan_outs(10, (limits.max_nodes - 1) // 10 - 2),
    }


@dataclass
class Measurement:
    size: int
    nodes: int
    edges: int
    go_lines: int
    parse_ms: float
    validate_ms: float
    compile_ms: float
    compile_cpu_ms: float
    from_json_ms: float


def best_of(runs: int, action: Callable[[], object]) -> float:
    """The fastest of `runs` timings of `action`, in milliseconds (wall clock)."""
    return best_of_both(runs, action)[0]


def best_of_both(runs: int, action: Callable[[], object]) -> tuple[float, float]:
    """The fastest wall-clock and the lowest CPU time of `runs` runs, in milliseconds.

    On a busy machine the process waits for a CPU part of the time; the CPU time leaves
    that out, so it is the steadier figure of the work itself.
    """
    best_wall = best_cpu = float("inf")
    for _ in range(runs):
        wall, cpu = time.perf_counter(), time.process_time()
        action()
        best_cpu = min(best_cpu, time.process_time() - cpu)
        best_wall = min(best_wall, time.perf_counter() - wall)
    return best_wall * 1000, best_cpu * 1000


def measure(size: int, runs: int) -> Measurement:
    """Time each stage for one generated workflow of about `size` nodes."""
    document = generate_workflow(size, seed=size)
    text = json.dumps(document)
    parsed = parse_workflow(text).workflow
    if not isinstance(parsed, WorkflowDSL):
        raise SystemExit(f"the generated {size}-node workflow does not parse")
    analysis = validate_workflow(parsed, known_workflow_ids=KNOWN_WORKFLOW_IDS, limits=UNLIMITED)
    if analysis.errors:
        raise SystemExit(f"the generated {size}-node workflow is invalid: {analysis.errors[0].message}")
    compiled = compile_workflow(parsed, known_workflow_ids=KNOWN_WORKFLOW_IDS, limits=UNLIMITED)
    compile_ms, compile_cpu_ms = best_of_both(
        runs, lambda: compile_workflow(parsed, known_workflow_ids=KNOWN_WORKFLOW_IDS, limits=UNLIMITED)
    )
    return Measurement(
        size=size,
        nodes=len(parsed.nodes),
        edges=len(parsed.edges),
        go_lines=compiled.code.count("\n"),
        parse_ms=best_of(runs, lambda: parse_workflow(text)),
        validate_ms=best_of(
            runs, lambda: validate_workflow(parsed, known_workflow_ids=KNOWN_WORKFLOW_IDS, limits=UNLIMITED)
        ),
        compile_ms=compile_ms,
        compile_cpu_ms=compile_cpu_ms,
        from_json_ms=best_of(
            runs, lambda: compile_workflow(text, known_workflow_ids=KNOWN_WORKFLOW_IDS, limits=UNLIMITED)
        ),
    )


def report(measurements: list[Measurement], reference_ms: float, loads: tuple[float, float]) -> str:
    """The results table and the verdict on the goals."""
    base = measurements[0]
    lines = [
        f"Python {platform.python_version()} on {platform.machine()}; best of the runs, milliseconds.",
        f"This machine's speed, to compare runs elsewhere: sum(range(10**7)) takes {reference_ms:.0f} ms.",
        # Other work on the machine slows large sizes most (their data no longer fits the
        # caches), so a figure is only comparable with one taken at a similar load.
        f"Load average (1 min) before / after: {loads[0]:.2f} / {loads[1]:.2f} on {os.cpu_count()} CPUs.",
        "",
        f"{'nodes':>7} {'edges':>7} {'Go lines':>9} {'parse':>8} {'validate':>9} {'compile':>8} "
        f"{'(CPU)':>8} {'from JSON':>10} {'growth':>8} {'per node':>9}",
    ]
    for m in measurements:
        growth = m.compile_ms / base.compile_ms
        per_node = growth / (m.nodes / base.nodes)
        lines.append(
            f"{m.nodes:>7} {m.edges:>7} {m.go_lines:>9} {m.parse_ms:>8.1f} {m.validate_ms:>9.1f} "
            f"{m.compile_ms:>8.1f} {m.compile_cpu_ms:>8.1f} {m.from_json_ms:>10.1f} {growth:>7.1f}x "
            f"{per_node:>8.2f}x"
        )
    lines += [
        "",
        "compile = validate + plan + render, from a parsed workflow, wall clock; (CPU) is its CPU time;",
        "growth is compile vs 100 nodes,",
    ]
    lines += ["per node is that growth divided by the growth in nodes (1.00x = linear)."]
    for m in measurements:
        goal = GOALS_MS.get(m.size)
        if goal is not None:
            verdict = "met" if m.compile_ms <= goal else "MISSED"
            lines.append(
                f"goal at {m.size} nodes: compile <= {goal:.0f} ms: {verdict} ({m.compile_ms:.0f} ms)"
            )
    return "\n".join(lines)


@dataclass
class ShapeMeasurement:
    shape: str
    size: int
    nodes: int
    edges: int
    validate_ms: float
    compile_ms: float
    draw_ms: float

    @property
    def elements(self) -> int:
        return self.nodes + self.edges


def measure_shape(shape: str, document: Document, runs: int, limits: WorkflowLimits) -> ShapeMeasurement:
    """Validate, compile and draw (the editor's layout and SVG) one workflow of a shape."""
    parsed = parse_workflow(document).workflow
    if not isinstance(parsed, WorkflowDSL):
        raise SystemExit(f"the {shape} workflow does not parse")
    analysis = validate_workflow(parsed, known_workflow_ids=KNOWN_WORKFLOW_IDS, limits=limits)
    if analysis.errors:
        raise SystemExit(f"the {shape} workflow is refused: {analysis.errors[0].message}")
    return ShapeMeasurement(
        shape=shape,
        size=len(document["nodes"]),
        nodes=len(parsed.nodes),
        edges=len(parsed.edges),
        validate_ms=best_of(
            runs, lambda: validate_workflow(parsed, known_workflow_ids=KNOWN_WORKFLOW_IDS, limits=limits)
        ),
        compile_ms=best_of(
            runs, lambda: compile_workflow(parsed, known_workflow_ids=KNOWN_WORKFLOW_IDS, limits=limits)
        ),
        draw_ms=best_of(runs, lambda: render_svg(layout(document))),
    )


def shapes_report(growing: list[ShapeMeasurement], at_limits: list[ShapeMeasurement]) -> str:
    """The shapes' table: growth against each shape's smallest size, then the limits' sizes."""
    lines = [
        "Shapes, limits lifted; growth of validate+compile+draw against the shape's 500-node size.",
        f"{'shape':<17} {'nodes':>6} {'edges':>7} {'validate':>9} {'compile':>8} {'draw':>8} "
        f"{'growth':>8} {'per element':>12}",
    ]
    base: ShapeMeasurement | None = None
    for m in growing:
        if base is None or base.shape != m.shape:
            base = m
        total, base_total = (
            m.validate_ms + m.compile_ms + m.draw_ms,
            base.validate_ms + base.compile_ms + base.draw_ms,
        )
        growth = total / base_total
        lines.append(
            f"{m.shape:<17} {m.nodes:>6} {m.edges:>7} {m.validate_ms:>9.1f} {m.compile_ms:>8.1f} "
            f"{m.draw_ms:>8.1f} {growth:>7.1f}x {growth / (m.elements / base.elements):>11.2f}x"
        )
    lines += ["", "At the default limits (WORKFLOW_MAX_*), the largest workflow of each shape:"]
    for m in at_limits:
        times = f"{m.validate_ms:>9.1f} {m.compile_ms:>8.1f} {m.draw_ms:>8.1f}"
        lines.append(f"{m.shape:<17} {m.nodes:>6} {m.edges:>7} {times}")
    return "\n".join(lines)


def main() -> None:
    """Run the benchmark and print the tables."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=5, help="runs per figure (the best counts)")
    parser.add_argument("--only", choices=["generated", "shapes"], help="run one of the two tables")
    arguments = parser.parse_args()
    load_before = os.getloadavg()[0]
    reference_ms = best_of(3, lambda: sum(range(10**7)))
    tables = []
    if arguments.only != "shapes":
        measurements = [
            measure(size, arguments.runs if size < 10_000 else max(3, arguments.runs // 2)) for size in SIZES
        ]
        tables.append(report(measurements, reference_ms, (load_before, os.getloadavg()[0])))
    if arguments.only != "generated":
        growing = [
            measure_shape(shape, make(size), arguments.runs, UNLIMITED)
            for shape, make in SHAPES.items()
            for size in SHAPE_SIZES
        ]
        at_limits = [
            measure_shape(shape, document, arguments.runs, WorkflowLimits())
            for shape, document in _at_the_limits().items()
        ]
        tables.append(
            f"Load average (1 min) before / after: {load_before:.2f} / {os.getloadavg()[0]:.2f}; "
            f"sum(range(10**7)) takes {reference_ms:.0f} ms.\n" + shapes_report(growing, at_limits)
        )
    print("\n\n".join(tables))


if __name__ == "__main__":
    main()
