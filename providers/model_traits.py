"""What each provider's model was found not to take, remembered across calls and processes.

A kind learns a trait from a server's refusal (providers/kinds/openai.py) and records it
here: in this process at once, and in the database (ModelTraits) for every other process
and after a restart. Reads come from a per-process cache refreshed every TRAITS_SECONDS, so
a call pays no database read; an operator's deletion of a row (the admin) reaches the other
processes within that time. A trait is keyed by the provider credential and the model, and
holds only for the server it was learned on (its base URL).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from asgiref.sync import sync_to_async
from django.db import DatabaseError, transaction
from django.db.models import QuerySet
from django.utils import timezone

from providers.kinds import ProviderConfig
from providers.models import ModelTraits
from providers.structured_output import StructuredOutputMode

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Traits:
    """What to send a model: the best structured-output mode it takes, and whether to ask
    for usage in streams (`stream_options`)."""

    structured_output_mode: StructuredOutputMode = StructuredOutputMode.JSON_SCHEMA
    stream_usage: bool = True

    def lowered(
        self, *, structured_output_mode: StructuredOutputMode | None, stream_usage: bool | None
    ) -> Traits:
        """These traits with what was learned since: a mode only ever steps down, and usage
        once refused stays off."""
        mode = self.structured_output_mode
        if structured_output_mode is not None:
            mode = mode.at_most(structured_output_mode)
        return Traits(mode, self.stream_usage and stream_usage is not False)


FULL = Traits()

TRAITS_SECONDS = 60.0
BASE_URL_CHARS = 300

# (provider_key, model) -> (expires, base URL, traits)
_cache: dict[tuple[str, str], tuple[float, str, Traits]] = {}


def _base_url(config: ProviderConfig) -> str:
    return (config.base_url or "")[:BASE_URL_CHARS]


def _traits_of(row: ModelTraits | None, base_url: str) -> Traits:
    if row is None or row.base_url != base_url:
        return FULL
    return Traits(StructuredOutputMode(row.structured_output_mode), row.stream_usage)


def load_traits(*, provider_key: str, model: str, base_url: str) -> Traits:
    """The traits on record for a model of a provider at `base_url` (a database read)."""
    row = ModelTraits.objects.filter(provider_key=provider_key, model=model).first()
    return _traits_of(row, base_url)


async def traits_for(config: ProviderConfig, model: str) -> Traits:
    """What `model` at `config`'s provider takes, from the cache or, once it is stale, the
    database. A database that cannot be read leaves the traits this process knows."""
    key = (config.breaker_key, model)
    base_url = _base_url(config)
    cached = _cache.get(key)
    if cached is not None and cached[1] == base_url and cached[0] > time.monotonic():
        return cached[2]
    try:
        traits = await sync_to_async(load_traits)(
            provider_key=config.breaker_key, model=model, base_url=base_url
        )
    except DatabaseError:
        logger.warning("could not read the traits of %s %s", config.breaker_key, model, exc_info=True)
        traits = cached[2] if cached is not None and cached[1] == base_url else FULL
    _cache[key] = (time.monotonic() + TRAITS_SECONDS, base_url, traits)
    return traits


async def learn(
    config: ProviderConfig,
    model: str,
    *,
    evidence: str,
    structured_output_mode: StructuredOutputMode | None = None,
    stream_usage: bool | None = None,
) -> Traits:
    """Remember what `model` at `config`'s provider refused: here at once, then on record.

    Returns the traits now in force. A failed write is logged, not raised: the call that
    learned it goes on, and this process still knows.
    """
    key = (config.breaker_key, model)
    base_url = _base_url(config)
    current = await traits_for(config, model)
    traits = current.lowered(structured_output_mode=structured_output_mode, stream_usage=stream_usage)
    _cache[key] = (time.monotonic() + TRAITS_SECONDS, base_url, traits)
    try:
        traits = await sync_to_async(model_traits_learn)(
            provider_key=config.breaker_key,
            model=model,
            base_url=base_url,
            credential_id=config.credential_id,
            structured_output_mode=structured_output_mode,
            stream_usage=stream_usage,
            evidence=evidence,
        )
    except DatabaseError:
        logger.warning("could not record the traits of %s %s", config.breaker_key, model, exc_info=True)
        return traits
    _cache[key] = (time.monotonic() + TRAITS_SECONDS, base_url, traits)
    return traits


@transaction.atomic
def model_traits_learn(
    *,
    provider_key: str,
    model: str,
    base_url: str,
    credential_id: int | None,
    evidence: str,
    structured_output_mode: StructuredOutputMode | None = None,
    stream_usage: bool | None = None,
) -> Traits:
    """Record what a model refused, merged with what is on record for the same server (a
    record of another server is replaced). Returns the traits now on record."""
    row, _created = ModelTraits.objects.get_or_create(
        provider_key=provider_key,
        model=model,
        defaults={"base_url": base_url, "credential_id": credential_id},
    )
    row = ModelTraits.objects.select_for_update().get(pk=row.pk)
    learned = _traits_of(row, base_url).lowered(
        structured_output_mode=structured_output_mode, stream_usage=stream_usage
    )
    row.base_url = base_url
    row.credential_id = credential_id
    row.structured_output_mode = learned.structured_output_mode.value
    row.stream_usage = learned.stream_usage
    row.learned_at = timezone.now()
    row.evidence = evidence
    row.save(
        update_fields=[
            "base_url",
            "credential",
            "structured_output_mode",
            "stream_usage",
            "learned_at",
            "evidence",
        ]
    )
    return learned


@transaction.atomic
def model_traits_forget(*, rows: QuerySet[ModelTraits], actor_label: str) -> int:
    """Delete learned traits, so the next call tries the full request again. This process
    forgets them at once; others within TRAITS_SECONDS. Returns how many were deleted."""
    forgotten = [f"{row.provider_key} {row.model}" for row in rows]
    deleted, _by_model = rows.delete()
    transaction.on_commit(forget_cached_traits)
    logger.info("%s forgot the learned traits of %s", actor_label, ", ".join(forgotten) or "nothing")
    return deleted


def forget_cached_traits() -> None:
    """Drop this process's cached traits: the next call of each model reads the record."""
    _cache.clear()
