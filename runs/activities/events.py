"""Recording a batch of a run's events and showing them on its live page: for the record
activity, and for a node's activity recording its own node_started as it begins."""

from __future__ import annotations

from runs import frames, recording
from runs.engine.types import EventBatch


def record_and_show(batch: EventBatch) -> None:
    created = recording.record_batch(batch)
    if created:
        frames.publish(batch.tenant_id, batch.run_id, created)
