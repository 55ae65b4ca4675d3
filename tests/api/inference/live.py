"""Helpers of the tests against the real servers: an SSE reader, and a submitted request."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import httpx


@dataclass(frozen=True)
class SseEvent:
    id: int
    event: str
    data: dict[str, Any]


def parse(lines: Iterator[str]) -> Iterator[SseEvent]:
    """The events of an SSE stream's lines (comments and `retry:` skipped)."""
    fields: dict[str, str] = {}
    for line in lines:
        if line == "":
            if "data" in fields:
                yield SseEvent(int(fields["id"]), fields.get("event", "message"), json.loads(fields["data"]))
            fields = {}
        elif not line.startswith(":"):
            name, _, value = line.partition(":")
            fields[name] = value.removeprefix(" ")


async def aparse(lines: AsyncIterator[str]) -> AsyncIterator[SseEvent]:
    fields: dict[str, str] = {}
    async for line in lines:
        if line == "":
            if "data" in fields:
                yield SseEvent(int(fields["id"]), fields.get("event", "message"), json.loads(fields["data"]))
            fields = {}
        elif not line.startswith(":"):
            name, _, value = line.partition(":")
            fields[name] = value.removeprefix(" ")


def submit(base: str, key: str, prompt: str = "What is Rust?", **fields: Any) -> dict[str, Any]:
    response = httpx.post(
        f"{base}/api/v1/infer", json={"prompt": prompt, **fields}, headers={"x-api-key": key}, timeout=10
    )
    assert response.status_code == 202, response.text
    body: dict[str, Any] = response.json()
    return body


def read_stream(
    base: str, key: str, request_id: str, **headers: str
) -> tuple[httpx.Response, list[SseEvent]]:
    """Every event of the stream until it closes, and its response."""
    with httpx.stream(
        "GET", f"{base}/api/v1/stream/{request_id}", headers={"x-api-key": key, **headers}, timeout=30
    ) as response:
        return response, list(parse(response.iter_lines())) if response.status_code == 200 else []
