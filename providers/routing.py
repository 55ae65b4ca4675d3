"""Which providers a request may use, in order, and under which limits.

Platform providers come from the environment (anthropic, openai) plus the embedded model;
tenants add their own credentials and may route each task to a primary and fallbacks.
Without a route, a tenant's enabled credentials come first, then the platform providers.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass

from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.signals import setting_changed

from providers.crypto import KeyringError, parse_keyring
from providers.errors import ErrorCode, ProviderError
from providers.interface import Capability, GatewayRequest, Task
from providers.kinds import ProviderConfig, capabilities_of, carries_tools
from providers.models import GatewaySettings, ProviderCredential, TaskRoute
from providers.pricing import Price, PriceTable, lookup, price_table
from providers.quotas import Limits
from tenants.models import Tenant

logger = logging.getLogger(__name__)

PLATFORM_NAMES = ("anthropic", "openai", "embedded")


@dataclass(frozen=True)
class Candidate:
    config: ProviderConfig
    model: str
    price: Price


@dataclass(frozen=True)
class Plan:
    candidates: tuple[Candidate, ...]
    limits: Limits | None  # None: platform requests, which no quota applies to
    store_content: bool
    prices: PriceTable


def platform_providers() -> dict[str, ProviderConfig]:
    """The providers the installation itself offers, by name."""
    providers: dict[str, ProviderConfig] = {}
    if settings.ANTHROPIC_API_KEY:
        providers["anthropic"] = ProviderConfig(
            name="anthropic",
            kind="anthropic",
            default_model=settings.ANTHROPIC_MODEL,
            api_key=settings.ANTHROPIC_API_KEY,
            base_url=settings.ANTHROPIC_BASE_URL or None,
            capabilities=capabilities_of("anthropic", settings.ANTHROPIC_CAPABILITIES),
        )
    if settings.OPENAI_API_KEY:
        providers["openai"] = ProviderConfig(
            name="openai",
            kind="openai",
            default_model=settings.OPENAI_MODEL,
            api_key=settings.OPENAI_API_KEY,
            base_url=settings.OPENAI_BASE_URL or None,
            capabilities=capabilities_of("openai", settings.OPENAI_CAPABILITIES),
        )
    providers["embedded"] = ProviderConfig(
        name="embedded",
        kind="embedded",
        default_model=settings.EMBEDDED_MODEL_NAME,
        capabilities=capabilities_of("embedded", settings.EMBEDDED_CAPABILITIES),
    )
    return providers


def not_capable(needs: frozenset[Capability]) -> ProviderError:
    """The refusal of a request no available provider is fit for."""
    named = " and ".join(sorted(capability.value.replace("_", " ") for capability in needs))
    return ProviderError(
        ErrorCode.NOT_CAPABLE,
        f"no provider available here is declared fit for {named}: "
        "add an Anthropic or OpenAI key under Providers",
    )


def credential_aad(credential: ProviderCredential) -> str:
    """The associated data that binds a ciphertext to its row and tenant."""
    return f"sce.provider_credential:{credential.uuid}:{credential.tenant_id}"


def credential_secret(credential: ProviderCredential) -> str:
    """The plaintext key of a tenant credential (never store or show it)."""
    return parse_keyring(settings.PROVIDER_KEYRING).decrypt(
        credential.encrypted_key, associated_data=credential_aad(credential)
    )


def credential_config(credential: ProviderCredential) -> ProviderConfig:
    return ProviderConfig(
        name=credential.name,
        kind=credential.kind,
        default_model=credential.default_model,
        api_key=credential_secret(credential),
        base_url=credential.base_url or None,
        credential_id=credential.pk,
        capabilities=capabilities_of(credential.kind, credential.capabilities),
        api_version=str((credential.options or {}).get("api_version") or ""),
    )


def limits_for(tenant: Tenant, gateway: GatewaySettings | None) -> Limits:
    plan = settings.PLAN_LIMITS.get(tenant.plan, settings.PLAN_LIMITS["free"])

    def pick(own: object, key: str) -> object:
        return own if own is not None else plan.get(key)

    rpm = pick(gateway.requests_per_minute if gateway else None, "requests_per_minute")
    tokens = pick(gateway.monthly_token_budget if gateway else None, "monthly_tokens")
    cost = pick(gateway.monthly_cost_budget_usd if gateway else None, "monthly_cost_usd")
    return Limits(
        requests_per_minute=None if rpm is None else int(str(rpm)),
        monthly_tokens=None if tokens is None else int(str(tokens)),
        monthly_cost_usd=None if cost is None else float(str(cost)),
    )


def _tenant_providers(tenant: Tenant) -> dict[str, ProviderConfig]:
    providers: dict[str, ProviderConfig] = {}
    for credential in (
        ProviderCredential.objects.for_tenant(tenant).filter(enabled=True).order_by("created_at")
    ):
        try:
            providers[credential.name] = credential_config(credential)
        except KeyringError:
            # A row the keyring cannot open (a key removed too early, a tampered row): skip
            # it loudly rather than fail every request of the tenant.
            logger.error("credential %s of tenant %s cannot be decrypted", credential.pk, tenant.pk)
    return providers


@dataclass(frozen=True)
class Setup:
    """Everything routing needs to know about a tenant (or the platform), read in one go."""

    providers: dict[str, ProviderConfig]
    own: tuple[str, ...]  # the tenant's credential names, in the order they were added
    routes: dict[str, list[dict[str, str]]]
    limits: Limits | None
    store_content: bool
    prices: PriceTable


def load_setup(tenant_id: int | None) -> Setup:
    """Read a tenant's providers, routes, limits and privacy choice (database reads)."""
    platform = platform_providers()
    if tenant_id is None:
        return Setup(platform, (), {}, None, True, price_table())
    tenant = Tenant.objects.get(pk=tenant_id)
    own = _tenant_providers(tenant)
    gateway = GatewaySettings.objects.for_tenant(tenant).first()
    return Setup(
        # A tenant's credential may shadow a platform name; the tenant's own wins.
        providers={**platform, **own},
        own=tuple(own),
        routes={route.task: list(route.targets) for route in TaskRoute.objects.for_tenant(tenant)},
        limits=limits_for(tenant, gateway),
        store_content=gateway.store_content if gateway else True,
        prices=price_table(),
    )


# Setups are kept a few seconds per process: every request needs one, and reading it costs
# a thread hop and several queries. Writes in this process forget the tenant's at once;
# other processes see a change within SETUP_SECONDS. An expired setup keeps serving while
# one background read replaces it, so requests never queue behind the refresh.
SETUP_SECONDS = 5.0
_setups: dict[int | None, tuple[float, Setup]] = {}
_loading: dict[int | None, asyncio.Future[Setup]] = {}


def forget_setup(tenant_id: int | None = None, **kwargs: object) -> None:
    """Drop a tenant's cached setup (all of them when called as a setting_changed receiver)."""
    if kwargs.get("signal") is not None or tenant_id is None:
        _setups.clear()
    else:
        _setups.pop(tenant_id, None)


setting_changed.connect(forget_setup)


async def _load(tenant_id: int | None) -> Setup:
    """One read per tenant at a time: concurrent callers share it."""
    loading = _loading.get(tenant_id)
    if loading is not None and loading.get_loop() is asyncio.get_running_loop():
        return await asyncio.shield(loading)
    future: asyncio.Future[Setup] = asyncio.get_running_loop().create_future()
    _loading[tenant_id] = future
    try:
        setup = await sync_to_async(load_setup)(tenant_id)
    except BaseException as error:
        future.set_exception(error)
        future.exception()  # retrieved: nobody else may be waiting
        raise
    finally:
        if _loading.get(tenant_id) is future:
            del _loading[tenant_id]
    _setups[tenant_id] = (time.monotonic() + SETUP_SECONDS, setup)
    future.set_result(setup)
    return setup


async def _refresh(tenant_id: int | None) -> None:
    try:
        await _load(tenant_id)
    except Exception:
        logger.warning("could not refresh the routing setup of tenant %s", tenant_id, exc_info=True)


async def setup_for(tenant_id: int | None) -> Setup:
    cached = _setups.get(tenant_id)
    if cached is None:
        return await _load(tenant_id)
    expires, setup = cached
    if expires <= time.monotonic() and tenant_id not in _loading:
        asyncio.get_running_loop().create_task(_refresh(tenant_id))
    return setup


def plan_request(request: GatewayRequest, setup: Setup, *, embeddings: bool = False) -> Plan:
    """The ordered candidates for a request, from its tenant's setup (no I/O).

    `embeddings`: the request is for vectors; otherwise embeddings-only providers (Voyage)
    are passed over, and a request pinned to one is refused as not_capable. A request with
    tools passes over the kinds that cannot carry them (the embedded model) the same way.
    """
    available = setup.providers
    route_targets = setup.routes.get(Task(request.task), [])
    if request.tenant_id is not None and not route_targets:
        route_targets = [{"provider": name} for name in setup.own] + [
            {"provider": name} for name in PLATFORM_NAMES if name in available and name not in setup.own
        ]
    if request.provider:
        config = available.get(request.provider)
        if config is None:
            raise ProviderError(
                ErrorCode.BAD_REQUEST, f"unknown provider {request.provider!r}", provider=request.provider
            )
        targets = [{"provider": request.provider, "model": request.model or config.default_model}]
    else:
        targets = route_targets or [{"provider": name} for name in PLATFORM_NAMES if name in available]

    candidates: list[Candidate] = []
    for position, target in enumerate(targets):
        config = available.get(target.get("provider", ""))
        if config is None:
            logger.warning("route names provider %r, which is not available", target.get("provider"))
            continue
        model = target.get("model") or config.default_model
        if position == 0 and request.model and not request.provider:
            model = request.model
        candidates.append(
            Candidate(config=config, model=model, price=lookup(setup.prices, config.kind, model))
        )
    if not candidates:
        raise ProviderError(ErrorCode.BAD_REQUEST, "no provider is available for this request")
    if not embeddings:
        candidates = [candidate for candidate in candidates if candidate.config.completes]
        if not candidates:
            raise ProviderError(
                ErrorCode.NOT_CAPABLE,
                f"{request.provider} serves embeddings only, not completions"
                if request.provider
                else f"the providers routed for {request.task} serve embeddings only, not completions",
                provider=request.provider or "",
            )
    if request.uses_tools:
        candidates = _carrying_tools(request, candidates)
    fit = [candidate for candidate in candidates if request.needs <= candidate.config.capabilities]
    if not fit:
        raise not_capable(request.needs)
    return Plan(
        candidates=tuple(fit),
        limits=setup.limits,
        store_content=setup.store_content,
        prices=setup.prices,
    )


def _carrying_tools(request: GatewayRequest, candidates: list[Candidate]) -> list[Candidate]:
    """The candidates whose kind can carry the request's tools; refused as not_capable when
    none is left (no upstream call is made)."""
    carrying = [candidate for candidate in candidates if carries_tools(candidate.config.kind)]
    if carrying:
        return carrying
    if request.provider:
        kind = candidates[0].config.kind
        message = (
            f"{request.provider} ({kind}) cannot call tools: send the request without tools, "
            "or to a provider that can"
        )
    else:
        message = (
            f"none of the providers routed for {request.task} can call tools: "
            "add an Anthropic, OpenAI or Gemini key under Providers"
        )
    raise ProviderError(ErrorCode.NOT_CAPABLE, message, provider=request.provider or "")
