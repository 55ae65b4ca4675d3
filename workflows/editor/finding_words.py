"""Validation findings in the editor's words: what is wrong, named by the nodes' labels, and
what to do about it. The codes stay for reference; a newcomer reads the sentences.

Pure functions over a finding and the names the editor knows (no Django), so every code's
wording is tested without a page.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from workflows.dsl import findings as codes
from workflows.dsl.findings import Finding

# A message's subject, which the headline already names: "node 'x': ", "edge 'e' ".
_SUBJECT = re.compile(r"^(?:decision |parallel )?(?:node|edge) '(?:[^'\\]|\\.)*'(?::\s*|\s+)")


# The codes whose headline names the node or edge, so the detail need not.
_NAMED_IN_HEADLINE = frozenset(
    {
        codes.INVALID_NODE,
        codes.INVALID_EDGE,
        codes.UNDEFINED_VARIABLE,
        codes.MISSING_TIMEOUT,
        codes.UNKNOWN_SUBFLOW,
    }
)

# An id as the analysis quotes it (Python's repr), after "edge " for an edge.
_QUOTED = re.compile(r"(edge )?'([^'\\]*)'")


# A quoted word left after that (no spaces, so two apostrophes in a sentence are not one).
_QUOTED_WORD = re.compile(r"'([^'\\\s]+)'")


@dataclass(frozen=True)
class Explained:
    """A finding in words: `headline` says what is wrong, `detail` the particulars the
    analysis found (may be empty), `advice` what to do."""

    headline: str
    detail: str
    advice: str


@dataclass(frozen=True)
class Names:
    """What the editor calls the parts a finding is about.

    `nodes`: node id -> label; `edges`: edge id -> (source id, target id); `entry`: the node
    the workflow's main flow starts at (the first entry node with edges), when validation
    found one; `field_label`: the form's label of
    the node's field at a path inside the node (("config", "activity_name")), if it has one.
    """

    nodes: Mapping[str, str]
    edges: Mapping[str, tuple[str, str]]
    entry: str | None = None
    field_label: Callable[[str, tuple[str | int, ...]], str | None] = lambda node_id, path: None

    def node(self, node_id: str) -> str:
        """A node as the page names it: “its label”, or its id when it has none."""
        return f"“{self.nodes.get(node_id) or node_id}”"

    def edge(self, edge_id: str) -> str:
        """An edge by its ends: the edge from “A” to “B”."""
        ends = self.edges.get(edge_id)
        if ends is None:
            return f"the edge {edge_id}"
        return f"the edge from {self.node(ends[0])} to {self.node(ends[1])}"


def node_of(finding: Finding, nodes: Mapping[str, str], node_order: list[str]) -> str | None:
    """The id of the node a finding is about: its node_id, or the node its path points into."""
    if finding.node_id is not None:
        return finding.node_id if finding.node_id in nodes else None
    path = finding.path or ()
    if finding.code != codes.CYCLIC_GRAPH and len(path) >= 2 and path[0] == "nodes":
        index = path[1]
        if isinstance(index, int) and 0 <= index < len(node_order):
            return node_order[index]
    return None


def explain(finding: Finding, names: Names, node_id: str | None = None) -> Explained:
    """The finding in words; `node_id` is the node it is about (see `node_of`)."""
    subject = names.node(node_id) if node_id is not None else ""
    edge = names.edge(finding.edge_id) if finding.edge_id is not None else "an edge"
    detail = _detail(finding, names, node_id)
    code = finding.code
    if code == codes.CYCLIC_GRAPH:
        loop = " → ".join(names.node(str(part)) for part in finding.path or ())
        return Explained(
            "The workflow goes round in a loop",
            loop,
            "A workflow runs forward only: remove or redirect one of the edges on the loop.",
        )
    if code == codes.UNREACHABLE_NODE and node_id is not None:
        start = names.node(names.entry) if names.entry is not None else "the first step"
        return Explained(
            f"{subject} is never reached",
            "Every edge into it comes from a loop, or from steps that are never reached: "
            "nothing the workflow starts with leads to it.",
            f"Connect it from {start} or a step after it, or remove it.",
        )
    if code == codes.ISOLATED_NODE and node_id is not None:
        start = names.node(names.entry) if names.entry is not None else "the first step"
        return Explained(
            f"{subject} is not connected",
            "It has no edges, so it runs on its own as soon as the workflow starts, beside the other steps.",
            f"If it belongs in the flow, connect it from {start} or a step after it; otherwise remove it.",
        )
    if code == codes.NO_ENTRY_NODE:
        if finding.path == ("nodes",):
            return Explained("The workflow has no steps yet", "", "Add a node from the panel.")
        return Explained(
            "No step starts the workflow",
            "Every node has an edge coming in, so none of them is the first.",
            "Remove the edge that leads into the step that should come first.",
        )
    if code == codes.DUPLICATE_ID:
        return Explained(
            "Two parts have the same id",
            detail,
            "Ids tell the parts apart: delete one of the two, or add it again under another id.",
        )
    if code == codes.INVALID_EDGE:
        return Explained(
            f"{edge[0].upper()}{edge[1:]} cannot be used as it is", detail, "Open the edge and correct it."
        )
    if code == codes.INVALID_NODE and node_id is not None:
        field = _field_of(finding, names, node_id)
        advice = f"Open the node and correct {field}." if field else "Open the node to correct it."
        return Explained(f"{subject} is not set up right", detail, advice)
    if code == codes.UNDEFINED_VARIABLE:
        where = subject or "A step"
        return Explained(
            f"{where} reads a value that may not be set",
            detail,
            "Add it as a variable of the workflow, or have an earlier step write it "
            "(its output variable) on every way to this one.",
        )
    if code == codes.UNKNOWN_SUBFLOW:
        if node_id is None:
            return Explained(
                "The error policy names a workflow that does not exist here",
                detail,
                "Choose one of this organization's workflows as the compensation workflow.",
            )
        return Explained(
            f"{subject} runs a workflow that does not exist here",
            detail,
            "Open the node and choose one of this organization's workflows.",
        )
    if code == codes.RECURSIVE_SUBFLOW:
        return Explained(
            f"{subject or 'A step'} runs this workflow itself",
            "",
            "It would start itself again and again: choose another workflow.",
        )
    if code == codes.NO_DEFAULT_BRANCH:
        return Explained(
            f"{subject} has no way out when no branch holds",
            "The workflow then fails at this decision.",
            "Choose its default branch, or add an edge from it without a condition.",
        )
    if code == codes.MISSING_TIMEOUT:
        return Explained(
            f"{subject} has no timeout", detail, "Without one it may wait for ever: give it a timeout."
        )
    if code == codes.SINGLE_BRANCH_PARALLEL:
        return Explained(
            f"{subject} runs only one branch",
            "",
            "Connect it to a second branch, or use a plain edge instead of a parallel node.",
        )
    if code == codes.UNLIMITED_RETRIES:
        return Explained(
            f"{subject} retries for ever",
            "Max attempts 0 means no limit.",
            "Set the most attempts it may make.",
        )
    if code == codes.NO_COMPENSATION_WORKFLOW:
        return Explained(
            "The error policy compensates, with no workflow to do it",
            "Failures are then only logged.",
            "Choose the compensation workflow, or another error policy.",
        )
    if code == codes.UNUSED_VARIABLE:
        return Explained(
            detail or "A variable is never used", "", "Use it in a step as {{name}}, or delete it."
        )
    if code == codes.UNKNOWN_FIELD:
        return Explained("A setting is not known and is ignored", detail, "Delete it, or check its spelling.")
    if code == codes.TOO_LARGE:
        return Explained(
            "The workflow is too large to check", detail, "Make it smaller, or split it into subflows."
        )
    if code == codes.INVALID_TRIGGER:
        if finding.path and finding.path[0] == "variables":
            return Explained(
                "Scheduled runs would miss a required input",
                detail,
                "Give the variable a default value, or make it optional.",
            )
        return Explained(
            "A schedule is not set up right", detail, "Open the trigger and correct its settings."
        )
    if code == codes.INVALID_VARIABLE:
        return Explained("A variable is not right", detail, "Open the variable and correct it.")
    if code == codes.INVALID_DOCUMENT:
        return Explained(
            "Part of the workflow has the wrong shape", detail, "Correct it, or import it again."
        )
    return Explained(subject or "A problem", detail, "")


def _detail(finding: Finding, names: Names, node_id: str | None) -> str:
    """The analysis' message with its subject dropped and ids, field names put in words."""
    message = finding.message
    if finding.code in _NAMED_IN_HEADLINE and (node_id is not None or finding.edge_id is not None):
        message = _SUBJECT.sub("", message, count=1)
    field = _field_of(finding, names, node_id) if node_id is not None else None
    if field and finding.path:
        dotted = ".".join(str(part) for part in finding.path[2:] if part != "config")
        message = message.replace(dotted, field)
    # The DSL's word for it, as the node forms call it.
    message = message.replace("output_variable", "output variable").replace("source_handle", "branch")
    message = _QUOTED.sub(lambda match: _named(match, names), message)
    message = _QUOTED_WORD.sub(r"“\1”", message)  # what is no node: a variable, a branch
    message = message.replace(" -> ", " → ")
    return message[:1].upper() + message[1:] if message else ""


def _named(match: re.Match[str], names: Names) -> str:
    edge_word, quoted = match.group(1), match.group(2)
    if edge_word and quoted in names.edges:
        return names.edge(quoted)
    if quoted in names.nodes:
        return (edge_word or "") + names.node(quoted)
    return match.group(0)


def _field_of(finding: Finding, names: Names, node_id: str) -> str | None:
    """“The form label” of the node's field the finding points at, if it has one."""
    if not finding.path or len(finding.path) <= 2:
        return None
    label = names.field_label(node_id, tuple(finding.path[2:]))
    return f"“{label}”" if label else None
