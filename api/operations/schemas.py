"""The bodies of /health and of the operations routes' refusals."""

from __future__ import annotations

from typing import Literal

from ninja import Schema
from pydantic import Field


class HealthCheck(Schema):
    """One service SCE depends on, as the last check found it."""

    ok: bool = Field(examples=[True])
    backend: str = Field(
        description="What serves it (sqlite, postgresql, redis, embedded…).", examples=["redis"]
    )
    ms: float = Field(description="How long the check took, in milliseconds.", examples=[1.4])
    error: str | None = Field(
        default=None,
        description="The kind of error a failed check met (details stay in the server's log).",
        examples=["timeout"],
    )


class Health(Schema):
    """Seed 000's health body, `{status, version}`, with each check beside it."""

    status: Literal["healthy", "unhealthy"] = Field(examples=["healthy"])
    version: str = Field(description="SCE's version.", examples=["0.1.0"])
    checks: dict[str, HealthCheck] = Field(
        examples=[
            {
                "database": {"ok": True, "backend": "postgresql", "ms": 0.9},
                "channel_layer": {"ok": True, "backend": "redis", "ms": 1.2},
                "broker": {"ok": True, "backend": "redis", "ms": 2.0},
                "temporal": {"ok": True, "backend": "remote", "ms": 6.3},
            }
        ]
    )


class Problem(Schema):
    """Seed 000's error body."""

    error: str = Field(examples=["not_found"])
    message: str = Field(examples=["There is no endpoint at GET /metrics."])
