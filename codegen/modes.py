"""Which writer a generation gets: the model when one that can write code routes the
`codegen` task, the templates otherwise (the embedded 135M model cannot write code)."""

from __future__ import annotations

from codegen.models import Generation
from providers import routing
from providers.errors import ProviderError
from providers.interface import GatewayRequest, Message, Task
from tenants.models import Tenant

# Kinds whose models are too small to write a service: the embedded llama.cpp model.
INCAPABLE_KINDS = frozenset({"embedded"})


def capable_model_available(tenant: Tenant | None) -> bool:
    """Whether the codegen task's route (or the default order) has a provider that can write
    code: any kind but the embedded model."""
    setup = routing.load_setup(tenant.pk if tenant is not None else None)
    probe = GatewayRequest(
        task=Task.CODEGEN, messages=(Message("user", "probe"),), tenant_id=tenant.pk if tenant else None
    )
    try:
        plan = routing.plan_request(probe, setup)
    except ProviderError:
        return False
    return any(candidate.config.kind not in INCAPABLE_KINDS for candidate in plan.candidates)


def default_mode(tenant: Tenant | None) -> str:
    return Generation.Mode.MODEL if capable_model_available(tenant) else Generation.Mode.TEMPLATE
