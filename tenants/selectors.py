"""Reads for tenants, memberships and invitations."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import QuerySet
from django.utils import timezone

from tenants.models import Invitation, Membership, Tenant, User
from tenants.tokens import hash_token


def memberships_of_user(*, user: User) -> QuerySet[Membership]:
    """The tenants a user belongs to, with their role, by tenant name."""
    return Membership.objects.for_user(user).select_related("tenant").order_by("tenant__name")


def membership_for_slug(*, user: User, slug: str) -> Membership | None:
    """The user's membership in the tenant with `slug`; None for a missing or foreign tenant."""
    return memberships_of_user(user=user).filter(tenant__slug=slug).first()


def members_of_tenant(*, tenant: Tenant) -> QuerySet[Membership]:
    return Membership.objects.for_tenant(tenant).select_related("user", "tenant").order_by("user__email")


def open_invitations_of_tenant(*, tenant: Tenant) -> QuerySet[Invitation]:
    """Invitations not yet accepted or revoked, expired ones included so they can be renewed."""
    return (
        Invitation.objects.for_tenant(tenant)
        .filter(accepted_at__isnull=True, revoked_at__isnull=True)
        .select_related("invited_by")
        .order_by("-created_at")
    )


def invitation_by_token(*, token: str) -> Invitation | None:
    """The invitation a link's secret token opens, from any tenant: the token is the key."""
    return (
        Invitation.objects.dangerously_unscoped()
        .select_related("tenant", "invited_by")
        .filter(token_hash=hash_token(token))
        .first()
    )


@dataclass(frozen=True)
class TenantSummary:
    members: int
    pending_invitations: int

    @property
    def has_invited(self) -> bool:
        """Whether anyone besides the founder was brought in: a colleague joined or is invited."""
        return self.members > 1 or self.pending_invitations > 0


def tenant_summary(*, tenant: Tenant) -> TenantSummary:
    """The tenant's member count and its invitations still open (unexpired), for its dashboard."""
    return TenantSummary(
        members=Membership.objects.for_tenant(tenant).count(),
        pending_invitations=Invitation.objects.for_tenant(tenant)
        .filter(accepted_at__isnull=True, revoked_at__isnull=True, expires_at__gt=timezone.now())
        .count(),
    )
