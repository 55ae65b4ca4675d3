"""The work per node and edge stays flat as workflows grow, for every shape.

No clock: the lines of Python executed in the workflow code (and networkx) are counted, which
is deterministic. Validation, compilation and the editor's drawing each run on every shape of
`bench.workflow_shapes` at sizes 1x and 4x (limits lifted: this is about the passes, not the
limits); a pass that is quadratic on a shape does about four times the work per element at
4x, one that is linear the same (n log n: a few percent more).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Any

import networkx
import pytest

import workflows
from bench.workflow_shapes import SHAPES, Document
from workflows.analysis.limits import WorkflowLimits
from workflows.analysis.validation import validate_workflow
from workflows.compiler import compile_workflow
from workflows.editor.drawing import layout
from workflows.editor.graph_svg import render_svg

COUNTED = (str(Path(workflows.__file__).parent), str(Path(networkx.__file__).parent))
SMALL, LARGE = 60, 240
# Linear work per element at 4x the size is the same up to constant overheads; quadratic
# work is about 4x.
MOST_GROWTH = 1.25
UNLIMITED = WorkflowLimits.unlimited()


def lines_executed(action: Callable[[], object], counted: tuple[str, ...] = COUNTED) -> int:
    """How many lines of the `counted` files (paths or their folders) `action` executes."""
    count = 0

    def line(frame: FrameType, event: str, argument: Any) -> Any:
        nonlocal count
        if event == "line":
            count += 1
        return line

    def call(frame: FrameType, event: str, argument: Any) -> Any:
        return line if frame.f_code.co_filename.startswith(counted) else None

    previous = sys.gettrace()
    sys.settrace(call)
    try:
        action()
    finally:
        sys.settrace(previous)
    return count


def validate(document: Document) -> object:
    analysis = validate_workflow(document, known_workflow_ids=set(), limits=UNLIMITED)
    assert analysis.is_valid, analysis.errors[:3]
    return analysis


def compile_(document: Document) -> object:
    return compile_workflow(document, known_workflow_ids=set(), limits=UNLIMITED)


def draw(document: Document) -> object:
    return render_svg(layout(document))


def forget_parsed_values() -> None:
    """Empty the bounded caches of parsed expressions and Go literals, so each size does its
    own parsing (the large workflow's conditions include the small one's)."""
    for name, module in list(sys.modules.items()):
        if not name.startswith("workflows."):
            continue
        for value in vars(module).values():
            info = getattr(value, "cache_info", None)
            if callable(info) and info().maxsize is not None:
                value.cache_clear()


def per_element(
    step: Callable[[Document], object], document: Document, counted: tuple[str, ...] = COUNTED
) -> float:
    """Lines executed per node and edge, parsing caches empty."""
    step(document)  # once before counting: what is built on first use (templates) is built
    forget_parsed_values()
    return lines_executed(lambda: step(document), counted) / (len(document["nodes"]) + len(document["edges"]))


@pytest.mark.parametrize("step", [validate, compile_, draw], ids=["validate", "compile", "draw"])
@pytest.mark.parametrize("shape", list(SHAPES))
def test_the_work_per_element_does_not_grow_with_the_size(
    shape: str, step: Callable[[Document], object]
) -> None:
    small, large = SHAPES[shape](SMALL), SHAPES[shape](LARGE)
    assert len(large["nodes"]) + len(large["edges"]) >= 3.5 * (len(small["nodes"]) + len(small["edges"]))

    growth = per_element(step, large) / per_element(step, small)

    assert growth <= MOST_GROWTH, f"{shape}: {growth:.2f}x the work per element at 4x the size"


def test_the_measure_catches_a_quadratic_pass() -> None:
    def every_pair(document: Document) -> int:
        nodes = document["nodes"]
        pairs = 0
        for first in nodes:
            for second in nodes:
                pairs += first is not second
        return pairs

    small, large = SHAPES["parallel fan-out"](SMALL), SHAPES["parallel fan-out"](LARGE)
    here = (__file__,)

    growth = per_element(every_pair, large, here) / per_element(every_pair, small, here)

    assert growth > 3
