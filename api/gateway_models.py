"""The model names a program may send to the OpenAI- and Anthropic-compatible routes.

A tenant's models are named three ways, all listed by `GET /v1/models`:
- `auto`: the tenant's routing for API calls (task `api`), with its fallbacks;
- a provider's name (`team-anthropic`): that provider with its default model;
- `provider/model` (`team-anthropic/claude-sonnet-4-5`): that model on that provider.
A bare model name (`gpt-4o-mini`, as the official clients' examples send) is served by
the first provider in the tenant's API route whose default model it is, else by the first
provider of a kind that prices it. Anything else is unknown: 404 `model_not_found`.
"""

from __future__ import annotations

from dataclasses import dataclass

from asgiref.sync import async_to_sync

from api.errors import ApiProblem
from providers.interface import Task
from providers.routing import PLATFORM_NAMES, Setup, setup_for

AUTO = "auto"


@dataclass(frozen=True)
class ModelChoice:
    """Where a request's `model` sends it: a pinned provider (and model), or the routing."""

    name: str  # the name the caller sent, echoed back in replies
    provider: str | None = None
    model: str | None = None


@dataclass(frozen=True)
class ListedModel:
    id: str
    provider: str
    kind: str
    model: str
    alias_of: str | None = None


def _route_order(setup: Setup) -> list[str]:
    """Provider names in the order the tenant's API calls try them."""
    routed = [target.get("provider", "") for target in setup.routes.get(Task.API.value, [])]
    order = [name for name in routed if name in setup.providers]
    order += [name for name in setup.own if name not in order]
    order += [name for name in PLATFORM_NAMES if name in setup.providers and name not in order]
    return order


def listed_models(setup: Setup) -> list[ListedModel]:
    """Every name `resolve` accepts for `setup`, `auto` first, then per provider in route order."""
    order = _route_order(setup)
    if not order:
        return []
    first = setup.providers[order[0]]
    routed = f"{first.name}/{first.default_model}"
    models = [ListedModel(AUTO, first.name, first.kind, first.default_model, alias_of=routed)]
    for name in order:
        config = setup.providers[name]
        canonical = f"{name}/{config.default_model}"
        models.append(ListedModel(canonical, name, config.kind, config.default_model))
        models.append(ListedModel(name, name, config.kind, config.default_model, alias_of=canonical))
    return models


def resolve(setup: Setup, requested: str) -> ModelChoice:
    """The provider and model `requested` names for this tenant; 404 when it names none."""
    name = requested.strip()
    if name == AUTO:
        return ModelChoice(requested)
    if name in setup.providers:
        return ModelChoice(requested, provider=name)
    provider, slash, model = name.partition("/")
    if slash and provider in setup.providers and model:
        return ModelChoice(requested, provider=provider, model=model)
    order = _route_order(setup)
    for candidate in order:
        if setup.providers[candidate].default_model == name:
            return ModelChoice(requested, provider=candidate, model=name)
    for candidate in order:
        config = setup.providers[candidate]
        if any(model_name == name for model_name, _price in setup.prices.get(config.kind, [])):
            return ModelChoice(requested, provider=candidate, model=name)
    message = f"The model {requested!r} does not exist or this key cannot use it; GET /v1/models lists them."
    raise ApiProblem(404, "model_not_found", message, param="model")


async def resolve_for(tenant_id: int, requested: str) -> ModelChoice:
    """`resolve` against the tenant's current routing setup."""
    return resolve(await setup_for(tenant_id), requested)


def resolve_sync(tenant_id: int, requested: str) -> ModelChoice:
    """`resolve_for`, from synchronous code."""
    return async_to_sync(resolve_for)(tenant_id, requested)


async def models_for(tenant_id: int) -> list[ListedModel]:
    """`listed_models` of the tenant's current routing setup."""
    return listed_models(await setup_for(tenant_id))
