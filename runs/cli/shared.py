"""What `workflow run` and `workflow signal` share: exit statuses, and finding the tenant
and a run's page."""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import CommandError
from django.urls import reverse

from core.terminal import printable
from runs.models import Run
from tenants.models import Tenant

EXIT_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130  # what a shell reports for Ctrl-C


def tenant_by_slug(slug: str) -> Tenant:
    """The tenant named on the command line; exit 2 when there is none."""
    tenant = Tenant.objects.filter(slug=slug).first()
    if tenant is None:
        raise CommandError(f"no tenant with slug {printable(slug)!r}", returncode=EXIT_BAD_INPUT)
    return tenant


def site_url(path: str) -> str:
    return f"{settings.SITE_ROOT}{path}"


def run_url(run: Run) -> str:
    """The run's page in the portal."""
    return site_url(reverse("runs:run_detail", kwargs={"tenant_slug": run.tenant.slug, "run_id": run.pk}))
