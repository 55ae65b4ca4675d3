"""The Usage page's cards and charts, assembled from one read of the window's calls.

The cards are the sums of the charts' buckets, and the buckets are the log rows of the
window (providers.selectors.usage_series): the figures cannot drift apart, nor from the
Logs page, which lists the same rows for the same window.
"""

from __future__ import annotations

from dataclasses import dataclass

from providers import selectors
from providers.charts import Chart, Series, line_chart
from providers.metrics import CallFigures
from tenants.models import Tenant

# How each window's buckets are labelled along the time axis.
TIME_FORMATS = {"24h": "%H:%M", "7d": "%b %d", "30d": "%b %d"}
BUCKET_NAMES = {"24h": "hour", "7d": "6 hours", "30d": "day"}
NO_CALLS = "No calls in this window."


@dataclass(frozen=True)
class Usage:
    window: selectors.UsageWindow
    totals: CallFigures
    charts: list[Chart]

    @property
    def bucket_name(self) -> str:
        """How long each chart point is: "hour", "6 hours", "day"."""
        return BUCKET_NAMES[self.window.name]


def _plural(count: int, singular: str, plural: str) -> str:
    return f"{count} {singular if count == 1 else plural}"


def cost_note(totals: CallFigures, unpriced_models: list[str]) -> str:
    """Why the cost line lies at (or partly at) zero, when it does for a reason worth saying."""
    if totals.calls == 0:
        return NO_CALLS
    unpriced = ""
    if totals.unpriced_calls:
        names = ", ".join(unpriced_models)
        unpriced = (
            _plural(totals.unpriced_calls, "call", "calls")
            + f" to {'a model' if len(unpriced_models) == 1 else 'models'} with no recorded price"
            + (f" ({names})" if names else "")
            + ", counted at $0"
        )
    if totals.cost_usd > 0:
        return f"{unpriced}." if unpriced else ""
    reasons = []
    if totals.free_calls:
        reasons.append(_plural(totals.free_calls, "call", "calls") + " to the embedded model, which is free")
    if unpriced:
        reasons.append(unpriced)
    nothing_charged = totals.failed + totals.running
    if nothing_charged:
        reasons.append(
            _plural(nothing_charged, "call", "calls") + " failed or still running, which cost nothing"
        )
    if not reasons:
        return "$0 in this window: the calls used no tokens."
    return "$0 in this window: " + "; ".join(reasons) + "."


def usage_of(*, tenant: Tenant, window_name: str) -> Usage:
    """The figures and charts of `window_name` (one of selectors.USAGE_WINDOWS)."""
    window = selectors.usage_window(window_name)
    points = selectors.usage_series(tenant=tenant, window=window)
    totals = CallFigures()
    for point in points:
        totals.add(point.figures)
    times = [point.start for point in points]
    figures = [point.figures for point in points]
    busy = [f.calls > 0 for f in figures]

    def chart(title: str, unit: str, *series: Series, note: str = "") -> Chart:
        return line_chart(
            title=title,
            unit=unit,
            times=times,
            series=list(series),
            time_format=TIME_FORMATS[window.name],
            note=NO_CALLS if totals.calls == 0 else note,
        )

    unpriced = selectors.unpriced_models(tenant=tenant, window=window) if totals.unpriced_calls else []
    charts = [
        chart("Calls", "", Series("calls", [f.calls for f in figures], "line-a"),
              Series("failed", [f.failed for f in figures], "line-error")),
        chart("Tokens", "", Series("input", [f.input_tokens for f in figures], "line-a"),
              Series("output", [f.output_tokens for f in figures], "line-b")),
        chart("Cost", "$", Series("cost", [float(f.cost_usd) for f in figures], "line-a", marked=busy),
              note=cost_note(totals, unpriced)),
        chart("Latency", "ms", Series("p50", [f.p50_ms for f in figures], "line-a"),
              Series("p95", [f.p95_ms for f in figures], "line-b"),
              note="" if totals.timed else "No completed calls to time in this window."),
    ]  # fmt: skip
    return Usage(window=window, totals=totals, charts=charts)
