"""An ai_action node's call: the gateway, as every model call in SCE goes (the tenant's
routing for the `run` task, quotas, logs linked to the run and node, cost)."""

from __future__ import annotations

import json
from typing import Any

from temporalio.exceptions import ApplicationError

from providers import gateway
from providers.errors import POLICIES, ErrorCode, ProviderError
from providers.interface import Capability, GatewayRequest, Message, Task
from runs.engine.types import NodeCall

# Providers a node may name that SCE serves under the same name; others go to routing.
PINNABLE = {"anthropic": "anthropic", "openai": "openai", "local": "embedded"}


async def answer(call: NodeCall) -> Any:
    """The model's reply: text, or the JSON the node's output_schema asks for."""
    config = call.config
    schema = config.get("output_schema") if isinstance(config.get("output_schema"), dict) else None
    provider = "embedded" if config.get("use_local_model") else PINNABLE.get(str(config.get("provider")))
    request = GatewayRequest(
        task=Task.RUN,
        messages=(Message("user", str(call.arguments.get("prompt", ""))),),
        tenant_id=call.tenant_id,
        provider=provider,
        model=(str(config.get("model") or "") or None) if provider else None,
        max_tokens=max(1, int(config.get("max_tokens") or 1024)),
        temperature=config.get("temperature"),
        json_schema=schema,
        json_schema_name="output",
        links={"run": str(call.run_id), "node": call.node_id},
        needs=frozenset({Capability.STRUCTURED_OUTPUT}) if schema else frozenset(),
    )
    try:
        completion = await gateway.complete(request)
    except ProviderError as error:
        if error.code == ErrorCode.BAD_REQUEST and provider and "unknown provider" in error.message:
            # The organization has no provider of that name: its routing chooses.
            return await answer(_unpinned(call))
        raise ApplicationError(
            error.message, type=error.code.value, non_retryable=not _retryable(error)
        ) from None
    if schema is None:
        return completion.text
    try:
        return json.loads(completion.text)
    except ValueError:
        raise ApplicationError(
            "The model's reply was not the JSON the node's output schema asks for.", type="invalid_output"
        ) from None


def _unpinned(call: NodeCall) -> NodeCall:
    config = {**call.config, "provider": "", "use_local_model": False}
    return NodeCall(**{**call.__dict__, "config": config})


def _retryable(error: ProviderError) -> bool:
    """Whether Temporal should try the node again later: failures that time heals (the
    gateway has already retried and fallen back within this attempt)."""
    policy = POLICIES.get(error.code)
    return policy is not None and policy.retryable
