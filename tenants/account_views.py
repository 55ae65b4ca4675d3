"""Sign-up, sign-in and invitation links: the pages outside any tenant."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from tenants import selectors, services
from tenants.access import signed_in_user
from tenants.forms import EmailAuthenticationForm, SignUpForm
from tenants.models import Invitation

MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"


class LoginView(auth_views.LoginView):
    authentication_form = EmailAuthenticationForm
    redirect_authenticated_user = True

    def form_invalid(self, form: EmailAuthenticationForm) -> HttpResponse:  # type: ignore[override]
        return self.render_to_response(self.get_context_data(form=form), status=422)


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
