"""What changed between two workflow documents: nodes, edges, variables, triggers, policy.

Nodes and edges are matched by id, variables by name; a changed item lists the paths of
the values that differ (`config.prompt_template`, `position.x`), so a reviewer sees what an
edit or an AI proposal actually touches.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from workflows.dsl.document_types import WorkflowDocument


@dataclass(frozen=True)
class Change:
    kind: str  # "added" | "removed" | "changed"
    section: str  # "nodes" | "edges" | "variables" | "triggers" | "workflow"
    key: str  # the node or edge id, the variable name, the trigger index, the setting
    label: str
    fields: tuple[str, ...] = ()
    before: Any = None
    after: Any = None

    def value_changes(self) -> list[ValueChange]:
        """The changed values one by one (what `fields` names), with before and after."""
        return value_changes(self.before, self.after) if self.kind == "changed" else []


@dataclass
class WorkflowDiff:
    changes: list[Change] = field(default_factory=list)

    @property
    def is_empty(self) -> bool:
        return not self.changes

    def of(self, section: str) -> list[Change]:
        return [change for change in self.changes if change.section == section]

    def counts(self) -> dict[str, int]:
        counts = {"added": 0, "removed": 0, "changed": 0}
        for change in self.changes:
            counts[change.kind] += 1
        return counts


@dataclass(frozen=True)
class ValueChange:
    """One value that differs inside a changed item; `path` is "" when the whole value did."""

    path: str
    before: Any = None
    after: Any = None
    in_before: bool = True
    in_after: bool = True


def value_changes(before: Any, after: Any, prefix: str = "") -> list[ValueChange]:
    """Where two JSON values differ, with both sides (objects by key, everything else whole)."""
    if isinstance(before, dict) and isinstance(after, dict):
        changes: list[ValueChange] = []
        for key in sorted(set(before) | set(after), key=str):
            path = f"{prefix}.{key}" if prefix else str(key)
            if key not in before or key not in after:
                changes.append(
                    ValueChange(path, before.get(key), after.get(key), key in before, key in after)
                )
            elif before[key] != after[key]:
                changes += value_changes(before[key], after[key], path)
        return changes
    return [] if before == after else [ValueChange(prefix, before, after)]


def _paths(before: Any, after: Any) -> list[str]:
    return [change.path or "value" for change in value_changes(before, after)]


def _items(document: WorkflowDocument, section: str, key: str) -> dict[str, dict[str, Any]]:
    items = document.get(section)
    result: dict[str, dict[str, Any]] = {}
    for index, item in enumerate(items if isinstance(items, list) else []):
        if isinstance(item, dict):
            name = item.get(key)
            result[str(name) if isinstance(name, str | int) else f"#{index}"] = item
    return result


def _label(section: str, key: str, item: dict[str, Any]) -> str:
    if section == "nodes":
        return f"{item.get('label') or key} ({item.get('node_type', 'node')})"
    if section == "edges":
        return f"{item.get('source')} → {item.get('target')}"
    if section == "triggers":
        return f"trigger {key}: {item.get('trigger_type')}"
    return key


def diff_documents(before: WorkflowDocument, after: WorkflowDocument) -> WorkflowDiff:
    result = WorkflowDiff()
    for section, key in (("nodes", "id"), ("edges", "id"), ("variables", "name")):
        old, new = _items(before, section, key), _items(after, section, key)
        for name in old.keys() - new.keys():
            result.changes.append(
                Change("removed", section, name, _label(section, name, old[name]), before=old[name])
            )
        for name in new.keys() - old.keys():
            result.changes.append(
                Change("added", section, name, _label(section, name, new[name]), after=new[name])
            )
        for name in old.keys() & new.keys():
            if old[name] != new[name]:
                result.changes.append(
                    Change(
                        "changed",
                        section,
                        name,
                        _label(section, name, new[name]),
                        tuple(_paths(old[name], new[name])),
                        old[name],
                        new[name],
                    )
                )
    old_triggers, new_triggers = before.get("triggers"), after.get("triggers")
    old_triggers = old_triggers if isinstance(old_triggers, list) else []
    new_triggers = new_triggers if isinstance(new_triggers, list) else []
    for index in range(max(len(old_triggers), len(new_triggers))):
        old_item = old_triggers[index] if index < len(old_triggers) else None
        new_item = new_triggers[index] if index < len(new_triggers) else None
        if old_item == new_item:
            continue
        shown = new_item if isinstance(new_item, dict) else old_item if isinstance(old_item, dict) else {}
        kind = "added" if old_item is None else "removed" if new_item is None else "changed"
        label = _label("triggers", str(index + 1), shown)
        result.changes.append(
            Change(
                kind, "triggers", str(index + 1), label, tuple(_paths(old_item, new_item)), old_item, new_item
            )
        )
    for setting in ("name", "error_policy"):
        if before.get(setting) != after.get(setting):
            result.changes.append(
                Change(
                    "changed",
                    "workflow",
                    setting,
                    setting.replace("_", " "),
                    tuple(_paths(before.get(setting), after.get(setting))),
                    before.get(setting),
                    after.get(setting),
                )
            )
    order = {"workflow": 0, "nodes": 1, "edges": 2, "variables": 3, "triggers": 4}
    kinds = {"removed": 0, "added": 1, "changed": 2}
    result.changes.sort(key=lambda change: (order[change.section], kinds[change.kind], change.key))
    return result
