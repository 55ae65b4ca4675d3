"""Sign-up, sign-in and invitation links: the pages outside any tenant."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import PasswordResetForm
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from tenants import selectors, services, throttles
from tenants.access import signed_in_user
from tenants.forms import EmailAuthenticationForm, SignUpForm
from tenants.models import Invitation

MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"


class LoginView(auth_views.LoginView):
    authentication_form = EmailAuthenticationForm
    redirect_authenticated_user = True

    def form_invalid(self, form: EmailAuthenticationForm) -> HttpResponse:  # type: ignore[override]
        return self.render_to_response(self.get_context_data(form=form), status=422)


class PasswordResetView(auth_views.PasswordResetView):
    """Mail a reset link built on SITE_ROOT (never on the request's Host), a few times per window.

    A refused request gets the same "if an account uses that address" page as any other:
    the answer reveals neither the account nor the limit.
    """

    @property
    def extra_email_context(self) -> dict[str, Any]:
        return {"site_root": settings.SITE_ROOT}

    def form_valid(self, form: PasswordResetForm) -> HttpResponse:
        allowed = throttles.password_reset_allowed(
            email=form.cleaned_data["email"], address=throttles.client_address(self.request)
        )
        if not allowed:
            return HttpResponseRedirect(self.get_success_url())
        return super().form_valid(form)


def _pending_invitation(token: str | None) -> Invitation | None:
    invitation = selectors.invitation_by_token(token=token) if token else None
    return invitation if invitation and invitation.is_pending else None


@require_http_methods(["GET", "POST"])
def signup(request: HttpRequest) -> HttpResponse:
    """Create an account and either a new tenant or, through an invitation, a membership."""
    if request.user.is_authenticated:
        return redirect("tenants:home")
    token = request.GET.get("invitation")
    invitation = _pending_invitation(token)
    form = SignUpForm(request.POST or None, invited_email=invitation.email if invitation else None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        with transaction.atomic():
            if invitation:
                user = services.user_create(email=data["email"], password=data["password"], name=data["name"])
                tenant = services.invitation_accept(invitation=invitation, user=user).tenant
            else:
                user, tenant = services.account_sign_up(
                    email=data["email"],
                    password=data["password"],
                    name=data["name"],
                    organization=data["organization"],
                )
        login(request, user, backend=MODEL_BACKEND)
        return redirect("tenants:dashboard", tenant_slug=tenant.slug)
    status = 422 if form.errors else 200
    return render(
        request, "registration/signup.html", {"form": form, "invitation": invitation}, status=status
    )


@require_http_methods(["GET", "POST"])
def invitation_accept(request: HttpRequest, token: str) -> HttpResponse:
    """The page an invitation link opens: sign in or sign up, then accept."""
    invitation = selectors.invitation_by_token(token=token)
    if invitation is None:
        return render(request, "tenants/invitation_invalid.html", status=404)
    if not invitation.is_pending:
        return render(request, "tenants/invitation_closed.html", {"invitation": invitation}, status=410)
    context: dict[str, object] = {"invitation": invitation, "token": token}
    if not request.user.is_authenticated:
        return render(request, "tenants/invitation_accept.html", context)
    if request.method == "POST":
        try:
            membership = services.invitation_accept(invitation=invitation, user=signed_in_user(request))
        except services.TenantError as error:
            context["error"] = str(error)
            return render(request, "tenants/invitation_accept.html", context, status=403)
        messages.success(request, f"Welcome to {membership.tenant.name}.")
        return redirect("tenants:dashboard", tenant_slug=membership.tenant.slug)
    return render(request, "tenants/invitation_accept.html", context)


@login_required
def account(request: HttpRequest) -> HttpResponse:
    memberships = selectors.memberships_of_user(user=signed_in_user(request))
    return render(request, "tenants/account.html", {"memberships": memberships})
