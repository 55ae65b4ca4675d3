"""Tool calls put back together from their streamed pieces (ToolCallDelta, ToolCallEvent):
the first piece of call `index` names it, every piece may add to its arguments."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from providers.interface import Tool, ToolCall


@dataclass
class ToolCallPieces:
    """The tool calls of one reply, as their pieces arrive."""

    _ids: dict[int, str] = field(default_factory=dict)
    _names: dict[int, str] = field(default_factory=dict)
    _arguments: dict[int, list[str]] = field(default_factory=dict)

    def add(self, index: int, *, id: str = "", name: str = "", arguments: str = "") -> None:
        """One piece of call `index`."""
        if id:
            self._ids[index] = id
        if name:
            self._names[index] = name
        self._arguments.setdefault(index, []).append(arguments)

    def add_calls(self, calls: Iterable[ToolCall]) -> None:
        """Whole calls, each as one piece."""
        for index, call in enumerate(calls, start=len(self._arguments)):
            self.add(index, id=call.id, name=call.name, arguments=call.arguments)

    def __bool__(self) -> bool:
        return bool(self._arguments)

    @property
    def calls(self) -> tuple[ToolCall, ...]:
        """The calls so far, in the order of their indexes."""
        return tuple(
            ToolCall(id=self._ids.get(index, ""), name=self._names.get(index, ""), arguments="".join(pieces))
            for index, pieces in sorted(self._arguments.items())
        )


def tool_definition(tool: Tool) -> dict[str, object]:
    """A tool as JSON: what a log row keeps of it, and what its prompt size is estimated from."""
    return {"name": tool.name, "description": tool.description, "parameters": dict(tool.parameters)}


def tool_call_record(call: ToolCall) -> dict[str, str]:
    return {"id": call.id, "name": call.name, "arguments": call.arguments}


def tool_calls_text(calls: Iterable[ToolCall]) -> str:
    """The text a model wrote for its tool calls: what their share of its output is estimated from."""
    return "".join(call.name + call.arguments for call in calls)


def tools_text(tools: Sequence[Tool]) -> str:
    """The tool definitions a request sends: what their share of its prompt is estimated from."""
    return json.dumps([tool_definition(tool) for tool in tools]) if tools else ""
