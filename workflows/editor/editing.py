"""Changes the editor makes to a draft document: pure functions from a document to a new one.

Drafts are stored as the user left them and may not validate, so these read the document
defensively (a section that is not a list counts as empty) and never change the input.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable
from typing import Any

from workflows.dsl.document_types import WorkflowDocument

Item = dict[str, Any]

_NOT_ID = re.compile(r"[^A-Za-z0-9_]+")


def items_of(document: WorkflowDocument, section: str) -> list[Item]:
    """The dictionaries in a section (`nodes`, `edges`, `variables`, `triggers`)."""
    items = document.get(section)
    if not isinstance(items, list):
        return []
    return [item for item in items if isinstance(item, dict)]


def ids_of(document: WorkflowDocument, section: str) -> list[str]:
    """The string ids of a section's items, in document order, each once."""
    ids = (item.get("id") for item in items_of(document, section))
    return list(dict.fromkeys(item_id for item_id in ids if isinstance(item_id, str)))


def find(document: WorkflowDocument, section: str, item_id: str) -> Item | None:
    """The first item of the section with this id."""
    return next((item for item in items_of(document, section) if item.get("id") == item_id), None)


def decision_branches(document: WorkflowDocument) -> dict[str, list[tuple[str, str]]]:
    """Node id -> its declared branches as (branch id, what to call it: label, else condition),
    for the nodes whose config lists branches as objects (decisions; parallel branches are
    node ids). The first node of an id counts, and a branch id once per node."""
    found: dict[str, list[tuple[str, str]]] = {}
    seen: set[str] = set()
    for node in items_of(document, "nodes"):
        node_id, config = node.get("id"), node.get("config")
        if not isinstance(node_id, str) or node_id in seen:
            continue
        seen.add(node_id)
        if not isinstance(config, dict):
            continue
        branches = config.get("branches")
        named: dict[str, str] = {}
        for branch in branches if isinstance(branches, list) else []:
            if not isinstance(branch, dict) or not isinstance(branch.get("id"), str) or not branch["id"]:
                continue
            label, condition = branch.get("label"), branch.get("condition")
            words = label if isinstance(label, str) and label.strip() else condition
            named.setdefault(branch["id"], words if isinstance(words, str) else "")
        if named:
            found[node_id] = list(named.items())
    return found


def fresh_id(base: str, taken: Iterable[str], *, fallback: str) -> str:
    """An id made from `base` (a label) that is not taken: `check_stock`, `check_stock_2`…"""
    stem = _NOT_ID.sub("_", base.strip().lower()).strip("_")[:48] or fallback
    if stem[0].isdigit():
        stem = f"{fallback}_{stem}"
    used = set(taken)
    candidate, number = stem, 2
    while candidate in used:
        candidate, number = f"{stem}_{number}", number + 1
    return candidate


def _with_section(document: WorkflowDocument, section: str, items: list[Any]) -> WorkflowDocument:
    changed = copy.deepcopy(document)
    changed[section] = items
    return changed


def _section(document: WorkflowDocument, section: str) -> list[Any]:
    """The section's raw list (a copy), keeping entries that are not dictionaries."""
    items = document.get(section)
    return copy.deepcopy(items) if isinstance(items, list) else []


def with_item_added(document: WorkflowDocument, section: str, item: Item) -> WorkflowDocument:
    return _with_section(document, section, [*_section(document, section), item])


def with_item_replaced(
    document: WorkflowDocument, section: str, item_id: str, item: Item
) -> WorkflowDocument:
    """The document with the first item of that id replaced by `item`."""
    items = _section(document, section)
    for index, existing in enumerate(items):
        if isinstance(existing, dict) and existing.get("id") == item_id:
            items[index] = item
            break
    return _with_section(document, section, items)


def with_node_removed(document: WorkflowDocument, node_id: str) -> tuple[WorkflowDocument, int]:
    """The document without the node, its edges and its place in parallel branch lists;
    also returns how many edges went with it."""
    nodes = [
        item
        for item in _section(document, "nodes")
        if not (isinstance(item, dict) and item.get("id") == node_id)
    ]
    for node in nodes:
        config = node.get("config") if isinstance(node, dict) else None
        if (
            isinstance(config, dict)
            and config.get("type") == "parallel"
            and isinstance(config.get("branches"), list)
        ):
            config["branches"] = [branch for branch in config["branches"] if branch != node_id]
    edges = _section(document, "edges")
    kept = [
        edge
        for edge in edges
        if not (isinstance(edge, dict) and node_id in (edge.get("source"), edge.get("target")))
    ]
    changed = _with_section(document, "nodes", nodes)
    changed["edges"] = kept
    return changed, len(edges) - len(kept)


def with_edge_removed(document: WorkflowDocument, edge_id: str) -> WorkflowDocument:
    """The document without the first edge of that id."""
    edges = _section(document, "edges")
    for index, edge in enumerate(edges):
        if isinstance(edge, dict) and edge.get("id") == edge_id:
            del edges[index]
            break
    return _with_section(document, "edges", edges)


def entry_at(document: WorkflowDocument, section: str, index: int) -> Item | None:
    """The section's entry at `index` (variables and triggers have no ids)."""
    items = document.get(section)
    if not isinstance(items, list) or not 0 <= index < len(items) or not isinstance(items[index], dict):
        return None
    entry: Item = items[index]
    return entry


def with_entry_replaced(
    document: WorkflowDocument, section: str, index: int, entry: Item
) -> WorkflowDocument:
    """The document with the section's entry at `index` replaced (unchanged if it is gone)."""
    items = _section(document, section)
    if 0 <= index < len(items):
        items[index] = entry
    return _with_section(document, section, items)


def with_entry_removed(document: WorkflowDocument, section: str, index: int) -> WorkflowDocument:
    """The document without the section's entry at `index` (unchanged if it is gone)."""
    items = _section(document, section)
    if 0 <= index < len(items):
        del items[index]
    return _with_section(document, section, items)


def with_value(document: WorkflowDocument, key: str, value: Any) -> WorkflowDocument:
    """The document with a top-level value replaced (`error_policy`, `name`)."""
    changed = copy.deepcopy(document)
    changed[key] = value
    return changed
