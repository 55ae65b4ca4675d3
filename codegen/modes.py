"""Which writer a generation gets: the model when a provider declared fit for code routes the
`codegen` task, the templates otherwise (the embedded 135M model is not fit to write code)."""

from __future__ import annotations

from codegen.models import Generation
from providers import gateway
from providers.interface import Capability, Task
from tenants.models import Tenant

NEEDS = frozenset({Capability.CODE})


def capable_model_available(tenant: Tenant | None) -> bool:
    """Whether the codegen task's route (or the default order) has a provider fit for code."""
    return gateway.fit_for_sync(
        tenant_id=tenant.pk if tenant is not None else None, task=Task.CODEGEN, needs=NEEDS
    )


def default_mode(tenant: Tenant | None) -> str:
    return Generation.Mode.MODEL if capable_model_available(tenant) else Generation.Mode.TEMPLATE
