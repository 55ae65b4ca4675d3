"""What the provider gateway adds to the tenant dashboard: a key of the tenant's own to add,
and the month's spend.

Registered in `ProvidersConfig.ready()` through core.navigation.
"""

from __future__ import annotations

from django.template.defaultfilters import floatformat
from django.urls import reverse

from core.navigation import Figure
from providers import selectors
from tenants.models import Tenant


def add_key_url(tenant: Tenant) -> str:
    return reverse("providers:provider_list", kwargs={"tenant_slug": tenant.slug}) + "#add-heading"


def has_own_key(tenant: Tenant) -> bool:
    """Whether the tenant stored a provider key of its own (enabled or not)."""
    return selectors.credentials_of_tenant(tenant=tenant).exists()


def month_spend_figure(tenant: Tenant) -> Figure:
    """This month's gateway spend, from the selector and in the format of the Usage page:
    the two pages show one number."""
    spend = selectors.month_spend(tenant=tenant)
    usage, limits = spend["usage"], spend["limits"]
    # Without the counter store (Redis) the month's spend is unknown, as on the Usage page.
    value = f"${floatformat(usage.used_cost_usd, 4)}" if usage is not None else "—"
    label = "spent this month"
    if limits.monthly_cost_usd is not None:
        label += f" of ${floatformat(limits.monthly_cost_usd, 2)}"
    return Figure(
        value=value, label=label, url=reverse("providers:usage", kwargs={"tenant_slug": tenant.slug})
    )
