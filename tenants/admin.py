from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.db.models import Count, QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from tenants import services
from tenants.models import Invitation, Membership, Tenant, User


class TenantOwnedAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Operators see every tenant's rows: the admin is the named exception to scoping."""

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        queryset: QuerySet[Any] = self.model.objects.dangerously_unscoped()
        ordering = self.get_ordering(request)
        return queryset.order_by(*ordering) if ordering else queryset


@admin.register(User)
class UserAdmin(BaseUserAdmin[User]):
    ordering = ["email"]
    list_display = ["email", "name", "is_staff", "is_active", "last_login", "date_joined"]
    list_filter = ["is_staff", "is_superuser", "is_active"]
    search_fields = ["email", "name"]
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Profile", {"fields": ("name",)}),
        ("Permissions", {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")}),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "name", "password1", "password2")}),)


@admin.register(Tenant)
class TenantAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["name", "slug", "plan", "status", "member_count", "created_at"]
    list_filter = ["status", "plan"]
    search_fields = ["name", "slug"]
    readonly_fields = ["created_at", "suspended_at", "members"]
    actions = ["suspend", "reactivate"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Tenant]:
        queryset: QuerySet[Tenant] = super().get_queryset(request)
        return queryset.annotate(_members=Count("tenants_membership", distinct=True))

    @admin.display(description="members", ordering="_members")
    def member_count(self, tenant: Tenant) -> int:
        return getattr(tenant, "_members", 0)

    # Not an inline: inline formsets query through the default manager, which refuses
    # unscoped queries. Memberships are edited in their own admin.
    @admin.display(description="members")
    def members(self, tenant: Tenant) -> str:
        memberships = Membership.objects.for_tenant(tenant).select_related("user").order_by("user__email")
        listing = format_html_join(
            "", "<li>{} ({})</li>", ((m.user.email, m.get_role_display()) for m in memberships)
        )
        link = reverse("admin:tenants_membership_changelist") + f"?tenant__id__exact={tenant.pk}"
        return format_html('<ul>{}</ul><a href="{}">Edit memberships</a>', listing, link)

    @admin.action(description="Suspend selected tenants")
    def suspend(self, request: HttpRequest, queryset: QuerySet[Tenant]) -> None:
        for tenant in queryset:
            services.tenant_suspend(tenant=tenant, reason="Suspended by an operator")
        self.message_user(request, f"Suspended {len(queryset)} tenant(s).", messages.SUCCESS)

    @admin.action(description="Reactivate selected tenants")
    def reactivate(self, request: HttpRequest, queryset: QuerySet[Tenant]) -> None:
        for tenant in queryset:
            services.tenant_reactivate(tenant=tenant)
        self.message_user(request, f"Reactivated {len(queryset)} tenant(s).", messages.SUCCESS)


@admin.register(Membership)
class MembershipAdmin(TenantOwnedAdmin):
    list_display = ["user", "tenant", "role", "created_at"]
    list_filter = ["role", "tenant__status"]
    search_fields = ["user__email", "user__name", "tenant__name", "tenant__slug"]
    list_select_related = ["user", "tenant"]
    autocomplete_fields = ["user", "tenant"]


@admin.register(Invitation)
class InvitationAdmin(TenantOwnedAdmin):
    list_display = ["email", "tenant", "role", "status", "invited_by", "created_at", "expires_at"]
    list_filter = ["role", "tenant__status"]
    search_fields = ["email", "tenant__name", "tenant__slug"]
    list_select_related = ["tenant", "invited_by"]
    readonly_fields = ["token_hash", "created_at", "accepted_at", "accepted_by", "invited_by"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        # An invitation's link exists only when it is issued from the Members page.
        return False

    @admin.display(description="status")
    def status(self, invitation: Invitation) -> str:
        return invitation.status
