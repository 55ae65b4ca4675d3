"""Which provider and model a `/v1/` request's `model` names, and what /v1/models lists."""

from __future__ import annotations

from decimal import Decimal

import pytest

from api.errors import ApiProblem
from api.gateway_models import ModelChoice, listed_models, resolve
from providers.kinds import ProviderConfig
from providers.pricing import Price
from providers.routing import Setup

PRICE = Price(Decimal(1), Decimal(2), "v1")


def _setup(routes: list[str] | None = None) -> Setup:
    providers = {
        "anthropic": ProviderConfig("anthropic", "anthropic", "claude-sonnet-5-5"),
        "embedded": ProviderConfig("embedded", "embedded", "qwen-0.5b"),
        "team-openai": ProviderConfig("team-openai", "openai", "gpt-4.1-mini"),
    }
    return Setup(
        providers=providers,
        own=("team-openai",),
        routes={"api": [{"provider": name} for name in routes]} if routes else {},
        limits=None,
        store_content=True,
        prices={"openai": [("gpt-4o", PRICE)], "anthropic": [("claude-haiku-4-5", PRICE)]},
    )


def test_auto_and_provider_names_follow_the_routing() -> None:
    setup = _setup()
    assert resolve(setup, "auto") == ModelChoice("auto")
    assert resolve(setup, "anthropic") == ModelChoice("anthropic", provider="anthropic")
    assert resolve(setup, "team-openai/gpt-4o") == ModelChoice("team-openai/gpt-4o", "team-openai", "gpt-4o")


def test_a_bare_model_goes_to_the_first_provider_serving_it() -> None:
    setup = _setup(routes=["anthropic", "team-openai"])
    assert resolve(setup, "gpt-4.1-mini") == ModelChoice("gpt-4.1-mini", "team-openai", "gpt-4.1-mini")
    # Known by price only: the first provider of that kind in route order.
    assert resolve(setup, "claude-haiku-4-5") == ModelChoice(
        "claude-haiku-4-5", "anthropic", "claude-haiku-4-5"
    )
    assert resolve(setup, "gpt-4o") == ModelChoice("gpt-4o", "team-openai", "gpt-4o")


@pytest.mark.parametrize("name", ["gpt-99", "nobody/gpt-4o", "team-openai/", "", "../etc"])
def test_an_unknown_model_is_404_naming_the_field(name: str) -> None:
    with pytest.raises(ApiProblem) as refused:
        resolve(_setup(), name)
    assert (refused.value.status, refused.value.code, refused.value.param) == (
        404,
        "model_not_found",
        "model",
    )


def test_the_list_starts_with_auto_and_names_each_provider_in_route_order() -> None:
    listed = listed_models(_setup(routes=["anthropic"]))
    assert [model.id for model in listed] == [
        "auto",
        "anthropic/claude-sonnet-5-5",
        "anthropic",
        "team-openai/gpt-4.1-mini",
        "team-openai",
        "embedded/qwen-0.5b",
        "embedded",
    ]
    assert listed[0].alias_of == "anthropic/claude-sonnet-5-5"
    assert all(resolve(_setup(routes=["anthropic"]), model.id) for model in listed)
