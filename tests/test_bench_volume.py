"""bench.volume and bench.page_volume at a tiny scale: the tenants' shape, the rollup of their
calls, and that the page benchmark reads every page of the tenant portal. No timings are
asserted: the benchmark's figures are for docs/benchmarks.md."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.db.models import Sum

from bench.page_volume import Reader, reads_of_both, temporary_key, write_workflow
from bench.volume import reads
from bench.volume.build import VolumeTenant, ensure_volumes, finished_calls, shape_of
from bench.volume.provider_logs import PROVIDERS
from conversations.models import Conversation
from providers.models import LogState, ProviderLog, ProviderMetric

SCALE = 0.002  # big: 20 conversations, 1 workflow, 600 calls; small: 1, 1 and 1


@pytest.fixture
def volumes(db: None) -> dict[str, VolumeTenant]:
    return {volume.label: volume for volume in ensure_volumes(scale=SCALE, report=lambda line: None)}


@pytest.fixture
def workflow_file(tmp_path: Path) -> str:
    return write_workflow(tmp_path / "workflow.json")


def test_it_makes_a_big_and_a_small_tenant_of_the_scaled_size(volumes: dict[str, VolumeTenant]) -> None:
    for volume in volumes.values():
        shape = shape_of(volume.tenant)
        assert shape.fits(volume.spec)
        assert shape.messages > shape.conversations
        assert shape.versions >= 2  # the first workflow, published twice
    assert shape_of(volumes["big"].tenant).log_rows == 600
    assert shape_of(volumes["small"].tenant).log_rows == 1


def test_its_per_minute_metrics_are_the_rollup_of_its_calls(volumes: dict[str, VolumeTenant]) -> None:
    for volume in volumes.values():
        finished = ProviderLog.objects.for_tenant(volume.tenant).exclude(state=LogState.PENDING)
        metrics = ProviderMetric.objects.filter(tenant=volume.tenant)
        assert metrics.exists()
        assert shape_of(volume.tenant).metric_requests == finished_calls(volume.tenant) == finished.count()
        assert (
            metrics.aggregate(tokens=Sum("input_tokens"))["tokens"]
            == finished.aggregate(tokens=Sum("input_tokens"))["tokens"]
        )


def test_its_calls_look_like_the_gateways(volumes: dict[str, VolumeTenant]) -> None:
    tenant = volumes["big"].tenant
    calls = ProviderLog.objects.for_tenant(tenant)
    assert set(calls.values_list("provider", flat=True)) <= {provider.name for provider in PROVIDERS}
    assert {LogState.COMPLETED, LogState.FAILED, LogState.PENDING} <= set(
        calls.values_list("state", flat=True)
    )
    assert calls.filter(state=LogState.COMPLETED, cost_usd__gt=0).exists()
    assert calls.exclude(fallback_from="").exists()  # a failed call fell back to another provider
    links = calls.filter(task="conversation").values_list("links", flat=True)
    linked = {int(link["conversation"]) for link in links}
    assert linked <= set(Conversation.objects.for_tenant(tenant).values_list("pk", flat=True))


def test_reuse_keeps_a_volume_that_fits_the_scale(volumes: dict[str, VolumeTenant]) -> None:
    lines: list[str] = []
    again = ensure_volumes(scale=SCALE, reuse=True, report=lines.append)
    assert [volume.tenant.pk for volume in again] == [volumes["big"].tenant.pk, volumes["small"].tenant.pk]
    assert lines == ["  volume-big: kept", "  volume-small: kept"]


def test_the_benchmark_reads_every_page_of_the_tenant_portal(volumes: dict[str, VolumeTenant]) -> None:
    page_reads, left_out = reads.page_reads(volumes["big"].tenant)
    read = {page.label for page in page_reads}
    routes = reads.tenant_routes()
    assert {route.label for route in routes} == {label for label in read if " ?" not in label} | set(left_out)
    assert {route.label for route in routes if route.is_list} <= read
    for label in [
        "tenants:dashboard",
        "providers:provider_list",
        "providers:provider_logs ?state=failed",
        "providers:usage ?window=30d",
        "conversations:conversation_list",
        "workflows:workflow_list",
        "api:key_list",
    ]:
        assert label in read


def test_every_read_answers_for_both_tenants(volumes: dict[str, VolumeTenant], workflow_file: str) -> None:
    small, big = volumes["small"], volumes["big"]
    readers = [Reader(volume, temporary_key(volume)[1]) for volume in (small, big)]
    paired, _ = reads_of_both(small, big, workflow_file)
    kinds = {small_read.kind for small_read, _ in paired}
    assert kinds == {"page", "api", "cli"}
    for pair in paired:
        statuses = [reader.once(read) for reader, read in zip(readers, pair, strict=True)]
        for status in statuses:
            assert status in {"200", "202", "302", "405", "ok"}, (pair[0].label, status)


def test_a_measured_read_counts_its_queries(volumes: dict[str, VolumeTenant]) -> None:
    volume = volumes["small"]
    reader = Reader(volume, temporary_key(volume)[1])
    dashboard = next(read for read in reads.page_reads(volume.tenant)[0] if read.label == "tenants:dashboard")
    timing = reader.measure(dashboard, repeat=2, budget=0)
    assert timing.status == "200"
    assert timing.queries > 0
    assert len(timing.times_ms) == 2
