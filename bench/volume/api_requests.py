"""What a volume tenant's programs asked of the public API and left for its reads: one
inference request and one workflow job, made through the API's own services (queued for
workers this benchmark does not run, which is how the reads find them)."""

from __future__ import annotations

from api.inference import services as inference_services
from api.models import ApiKey
from tenants.models import Tenant
from workflows.proposals import services as proposal_services


def add_api_requests(*, tenant: Tenant) -> None:
    key = ApiKey.objects.for_tenant(tenant).filter(revoked_at__isnull=True).order_by("pk").first()
    if key is None:
        return
    inference_services.inference_request_create(
        key=key, prompt="Summarise the open incidents of the week.", model="auto", max_tokens=256
    )
    proposal_services.proposal_create_described(
        tenant=tenant,
        api_key=key.prefix,
        prompt="Approve refunds above 500 euros with a second reviewer.",
        context={},
    )
