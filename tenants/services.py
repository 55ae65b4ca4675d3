"""Writes for accounts, tenants, memberships and invitations."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.text import slugify

from tenants import events
from tenants.models import Invitation, Membership, Role, Tenant, User, normalize_email
from tenants.tokens import hash_token, new_token


class TenantError(Exception):
    """A request that the tenant rules refuse; the message is shown to the user."""


def _unique_slug(name: str) -> str:
    base = slugify(name)[:40].strip("-") or "org"
    slug = base
    while Tenant.objects.filter(slug=slug).exists():
        slug = f"{base}-{secrets.token_hex(2)}"
    return slug


def user_create(*, email: str, password: str, name: str = "") -> User:
    """Create a user account; the email is stored lower-cased."""
    return User.objects.create_user(email=email, password=password, name=name)


@transaction.atomic
def tenant_create(*, name: str, owner: User) -> Tenant:
    """Create a tenant with `owner` as its first owner; the slug is derived from the name."""
    for _ in range(5):
        try:
            with transaction.atomic():
                tenant = Tenant.objects.create(name=name, slug=_unique_slug(name))
            break
        except IntegrityError:
            # Two sign-ups raced for the same slug; the next attempt draws a new suffix.
            continue
    else:
        raise TenantError("could not allocate an address for this organization; try another name")
    Membership.objects.create(tenant=tenant, user=owner, role=Role.OWNER)
    return tenant


@transaction.atomic
def account_sign_up(*, email: str, password: str, name: str, organization: str) -> tuple[User, Tenant]:
    """Sign-up: a new user and the tenant they own."""
    user = user_create(email=email, password=password, name=name)
    tenant = tenant_create(name=organization, owner=user)
    return user, tenant


@transaction.atomic
def tenant_rename(*, tenant: Tenant, name: str) -> Tenant:
    tenant.name = name
    tenant.save(update_fields=["name"])
    return tenant


@transaction.atomic
def tenant_suspend(*, tenant: Tenant, reason: str = "") -> Tenant:
    """Suspend a tenant: its members see the suspended page instead of its content."""
    tenant.status = Tenant.Status.SUSPENDED
    tenant.suspended_at = timezone.now()
    tenant.suspended_reason = reason
    tenant.save(update_fields=["status", "suspended_at", "suspended_reason"])
    events.tenant_access_changed_on_commit(tenant.pk)
    return tenant


@transaction.atomic
def tenant_reactivate(*, tenant: Tenant) -> Tenant:
    tenant.status = Tenant.Status.ACTIVE
    tenant.suspended_at = None
    tenant.suspended_reason = ""
    tenant.save(update_fields=["status", "suspended_at", "suspended_reason"])
    return tenant


# --- Invitations ------------------------------------------------------------------------


@dataclass(frozen=True)
class IssuedInvitation:
    invitation: Invitation
    url: str  # holds the secret token: shown once to the inviter and emailed, never stored


@transaction.atomic
def invitation_create(*, actor: Membership, email: str, role: Role) -> IssuedInvitation:
    """Invite `email` into the actor's tenant with `role`, replacing an open invitation.

    The link is emailed to the invitee and returned so the inviter can copy it.
    """
    tenant = actor.tenant
    if not actor.can_manage(role):
        raise TenantError(f"your role cannot invite someone as {role.label.lower()}")
    email = normalize_email(email)
    members = Membership.objects.for_tenant(tenant)
    if members.filter(user__email__iexact=email).exists():
        raise TenantError(f"{email} is already a member")
    now = timezone.now()
    Invitation.objects.for_tenant(tenant).filter(
        email__iexact=email, accepted_at__isnull=True, revoked_at__isnull=True
    ).update(revoked_at=now)
    token = new_token()
    invitation = Invitation.objects.create(
        tenant=tenant,
        email=email,
        role=role,
        token_hash=hash_token(token),
        invited_by=actor.user,
        expires_at=now + settings.INVITATION_TTL,
    )
    url = settings.SITE_ROOT + reverse("tenants:invitation_accept", args=[token])
    context = {"invitation": invitation, "tenant": tenant, "inviter": actor.user, "url": url}
    body = render_to_string("tenants/email/invitation.txt", context)
    transaction.on_commit(
        lambda: send_mail(
            f"You are invited to {tenant.name} on SCE",
            body,
            settings.DEFAULT_FROM_EMAIL,
            [email],
        )
    )
    return IssuedInvitation(invitation=invitation, url=url)


@transaction.atomic
def invitation_revoke(*, actor: Membership, invitation: Invitation) -> None:
    if not actor.can_manage(invitation.role):
        raise TenantError("your role cannot revoke this invitation")
    if invitation.is_pending:
        invitation.revoked_at = timezone.now()
        invitation.save(update_fields=["revoked_at"])


@transaction.atomic
def invitation_accept(*, invitation: Invitation, user: User) -> Membership:
    """Turn a pending invitation into a membership of `user`; the link then stops working."""
    locked = Invitation.objects.dangerously_unscoped().select_for_update().get(pk=invitation.pk)
    if not locked.is_pending:
        raise TenantError(f"this invitation is {locked.status}")
    if normalize_email(user.email) != normalize_email(locked.email):
        raise TenantError(f"this invitation is for {locked.email}; you are signed in as {user.email}")
    tenant = locked.tenant
    if Membership.objects.for_tenant(tenant).filter(user=user).exists():
        raise TenantError(f"you are already a member of {tenant.name}")
    membership = Membership.objects.create(tenant=tenant, user=user, role=locked.role)
    locked.accepted_at = timezone.now()
    locked.accepted_by = user
    locked.save(update_fields=["accepted_at", "accepted_by"])
    events.members_changed_on_commit(tenant)
    return membership


# --- Memberships ------------------------------------------------------------------------


def _owner_count(tenant: Tenant) -> int:
    return Membership.objects.for_tenant(tenant).filter(role=Role.OWNER).count()


@transaction.atomic
def membership_change_role(*, actor: Membership, membership: Membership, role: Role) -> Membership:
    """Change a member's role. The last owner cannot be demoted."""
    if not (actor.can_manage(role) and actor.can_manage(membership.role)):
        raise TenantError("your role cannot make this change")
    # Lock the tenant's owners so two concurrent demotions cannot both pass the check.
    list(Membership.objects.for_tenant(membership.tenant).filter(role=Role.OWNER).select_for_update())
    if membership.role == Role.OWNER and role != Role.OWNER and _owner_count(membership.tenant) <= 1:
        raise TenantError("the last owner cannot be demoted: make someone else owner first")
    membership.role = role
    membership.save(update_fields=["role"])
    events.members_changed_on_commit(membership.tenant)
    events.user_access_changed_on_commit(membership.user_id)
    return membership


@transaction.atomic
def membership_remove(*, actor: Membership, membership: Membership) -> None:
    """Remove a member (or let a member leave). The last owner cannot be removed."""
    leaving = actor.pk == membership.pk
    if not leaving and not actor.can_manage(membership.role):
        raise TenantError("your role cannot remove this member")
    list(Membership.objects.for_tenant(membership.tenant).filter(role=Role.OWNER).select_for_update())
    if membership.role == Role.OWNER and _owner_count(membership.tenant) <= 1:
        raise TenantError("the last owner cannot be removed: make someone else owner first")
    tenant, user_id = membership.tenant, membership.user_id
    membership.delete()
    events.members_changed_on_commit(tenant)
    events.user_access_changed_on_commit(user_id)


@transaction.atomic
def invitations_purge_closed(*, older_than: timedelta) -> int:
    """Delete every tenant's invitations closed (accepted, revoked, expired) before `older_than` ago."""
    cutoff = timezone.now() - older_than
    closed = (
        Q(accepted_at__lt=cutoff)
        | Q(revoked_at__lt=cutoff)
        | Q(accepted_at__isnull=True, revoked_at__isnull=True, expires_at__lt=cutoff)
    )
    deleted, _ = Invitation.objects.dangerously_unscoped().filter(closed).delete()
    return deleted
