"""How much data each volume tenant holds, and the scaled-down shapes of a quick run."""

from __future__ import annotations

from dataclasses import dataclass, fields, replace


@dataclass(frozen=True)
class Spec:
    """The size of one tenant's data. `days`: how far back its calls and work reach."""

    conversations: int
    workflows: int
    log_rows: int
    members: int  # besides the owner
    invitations: int  # still open
    api_keys: int
    blueprints: int
    credentials: int
    days: int = 30

    def scaled(self, factor: float) -> Spec:
        """Every count times `factor` (at least one of each the full spec has; days kept)."""
        if factor == 1:
            return self
        counts = {
            item.name: max(1, round(getattr(self, item.name) * factor)) if getattr(self, item.name) else 0
            for item in fields(self)
            if item.name != "days"
        }
        return replace(self, **counts)


# Issue 17's measured tenant, and a small one beside it on the same database.
BIG = Spec(
    conversations=10_000,
    workflows=200,
    log_rows=300_000,
    members=12,
    invitations=4,
    api_keys=15,
    blueprints=4,
    credentials=3,
)
SMALL = Spec(
    conversations=20,
    workflows=5,
    log_rows=500,
    members=1,
    invitations=1,
    api_keys=2,
    blueprints=1,
    credentials=3,
)
