"""Reads of inference requests, always within one tenant."""

from __future__ import annotations

import uuid

from django.db.models import Max, QuerySet

from api.inference.events import Event
from api.inference.models import InferenceEvent, InferenceRequest
from tenants.models import Tenant


def inference_request_of_tenant(*, tenant: Tenant, request_id: str) -> InferenceRequest | None:
    """The tenant's request with this public id; None for another tenant's, a missing one or
    a string that is no id at all (callers answer all three alike: 404)."""
    try:
        public_id = uuid.UUID(str(request_id))
    except ValueError:
        return None
    return (
        InferenceRequest.objects.for_tenant(tenant)
        .select_related("tenant")
        .filter(request_id=public_id)
        .first()
    )


def events_of(request: InferenceRequest) -> QuerySet[InferenceEvent]:
    """The request's events in their order."""
    return InferenceEvent.objects.for_tenant(request.tenant).filter(request=request).order_by("seq")


def events_after(*, tenant: Tenant, request_pk: int, after: int) -> list[Event]:
    """The events of the tenant's request `request_pk` numbered after `after`, oldest first."""
    rows = (
        InferenceEvent.objects.for_tenant(tenant)
        .filter(request_id=request_pk, seq__gt=after)
        .order_by("seq")
        .values_list("seq", "kind", "data")
    )
    return [Event(seq, kind, data) for seq, kind, data in rows]


def last_event_seq(request: InferenceRequest) -> int:
    """The number of the request's last event (0 before the first)."""
    return int(events_of(request).aggregate(last=Max("seq"))["last"] or 0)
