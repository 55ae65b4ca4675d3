"""What a call costs: the model's list price in force, looked up by the longest matching name.

Providers answer with dated model names (claude-sonnet-4-5-20250929); a price recorded
for `claude-sonnet-4-5` covers them. Local and embedded models cost nothing. Prices are
cached in the process for PRICE_CACHE_SECONDS (a minute): they change rarely and every
request needs one.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.utils import timezone

from providers.models import ModelPrice

FREE_KINDS = frozenset({"embedded"})
# Servers a tenant runs itself: free unless an operator recorded a price for the model.
SELF_HOSTED_KINDS = frozenset({"openai_compatible"})


@dataclass(frozen=True)
class Price:
    input_per_mtok_usd: Decimal
    output_per_mtok_usd: Decimal
    version: str

    def cost_usd(self, input_tokens: int, output_tokens: int) -> Decimal:
        million = Decimal(1_000_000)
        return (input_tokens * self.input_per_mtok_usd + output_tokens * self.output_per_mtok_usd) / million


FREE = Price(Decimal(0), Decimal(0), "free")
UNKNOWN = Price(Decimal(0), Decimal(0), "")

PriceTable = dict[str, list[tuple[str, Price]]]

_lock = threading.Lock()
_table: PriceTable = {}
_loaded_at: float | None = None


def _load() -> PriceTable:
    today = timezone.now().date()
    current: dict[tuple[str, str], ModelPrice] = {}
    for row in ModelPrice.objects.filter(effective_from__lte=today).order_by("effective_from"):
        current[(row.kind, row.model)] = row  # later rows replace earlier ones
    table: PriceTable = {}
    for (kind, model), row in current.items():
        table.setdefault(kind, []).append(
            (model, Price(row.input_per_mtok_usd, row.output_per_mtok_usd, row.version))
        )
    for prices in table.values():
        prices.sort(key=lambda entry: len(entry[0]), reverse=True)
    return table


def clear_cache() -> None:
    global _loaded_at
    with _lock:
        _loaded_at = None


def price_table() -> PriceTable:
    """Every price in force, read from the database at most once per PRICE_CACHE_SECONDS."""
    global _table, _loaded_at
    with _lock:
        if _loaded_at is None or time.monotonic() - _loaded_at >= settings.PRICE_CACHE_SECONDS:
            _table = _load()
            _loaded_at = time.monotonic()
        return _table


def lookup(table: PriceTable, kind: str, model: str) -> Price:
    """The price of a model of a provider kind in `table`, by the longest matching name.

    A model with no recorded price costs 0 with an empty price version, which the logs show
    as "no price"; on a self-hosted server (openai_compatible) it is free instead.
    """
    if kind in FREE_KINDS:
        return FREE
    for name, price in table.get(kind, []):
        if model == name or model.startswith((name + "-", name + "@")):
            return price
    return FREE if kind in SELF_HOSTED_KINDS else UNKNOWN


def price_for(kind: str, model: str) -> Price:
    return lookup(price_table(), kind, model)
