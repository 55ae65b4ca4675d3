"""Who a request under /api/ acts for, and the JSON errors the API answers with.

Every API error body is `{error, message, details?}`; nothing under /api/ answers with an
HTML page or a redirect to the login page. Callers sign in with the session for now;
`api_caller` is the one place that decides who is calling, so tenant API keys can be added
there without touching the endpoints.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views import csrf, defaults

from tenants.access import LAST_TENANT_SESSION_KEY
from tenants.models import Membership, Role, Tenant, User
from tenants.selectors import membership_for_slug, memberships_of_user

API_PREFIX = "/api/"
TENANT_PARAMETER = "tenant"
TENANT_HEADER = "X-SCE-Tenant"


class ApiError(Exception):
    """A request the API refuses: its HTTP status, a stable code and a message for people."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        details: Any = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details
        self.headers = headers

    def response(self) -> JsonResponse:
        return api_error_response(self.status, self.code, self.message, self.details, self.headers)


def api_error_response(
    status: int, code: str, message: str, details: Any = None, headers: dict[str, str] | None = None
) -> JsonResponse:
    """The API's error body: `{error, message}`, plus `details` when there are any."""
    body: dict[str, Any] = {"error": code, "message": message}
    if details is not None:
        body["details"] = details
    return JsonResponse(body, status=status, headers=headers)


def method_not_allowed(request: HttpRequest, allowed: list[str]) -> ApiError:
    """405, with the Allow header listing `allowed`."""
    return ApiError(
        405,
        "method_not_allowed",
        f"{request.method} is not allowed here; use {' or '.join(allowed)}.",
        {"allowed": allowed},
        {"Allow": ", ".join(allowed)},
    )


def is_api_request(request: HttpRequest) -> bool:
    return request.path_info.startswith(API_PREFIX)


@dataclass(frozen=True)
class ApiCaller:
    """The tenant an API request acts for, with the caller's role in it.

    `by_session` says the caller was identified by the session cookie, which a browser
    sends on its own, so state-changing requests must also pass Django's CSRF check.
    """

    tenant: Tenant
    role: Role
    user: User | None
    by_session: bool


def api_caller(request: HttpRequest) -> ApiCaller:
    """Identify the caller and the tenant of an API request; raises ApiError.

    The tenant is `?tenant=<slug>` or the `X-SCE-Tenant` header; without either, the user's
    only tenant, or else the one they last used in the portal. A tenant that does not exist
    and one the user is not a member of are the same 404.
    """
    user = request.user
    if not isinstance(user, User) or not user.is_authenticated:
        raise ApiError(401, "not_authenticated", "Sign in first: the API uses the portal's session.")
    membership = _membership(request, user)
    tenant = membership.tenant
    if tenant.is_suspended:
        raise ApiError(403, "tenant_suspended", f"The organization {tenant.slug!r} is suspended.")
    return ApiCaller(tenant=tenant, role=membership.role_enum, user=user, by_session=True)


def _membership(request: HttpRequest, user: User) -> Membership:
    from_parameter = request.GET.get(TENANT_PARAMETER, "").strip()
    from_header = request.headers.get(TENANT_HEADER, "").strip()
    if from_parameter and from_header and from_parameter != from_header:
        raise ApiError(
            400,
            "tenant_conflict",
            f"?{TENANT_PARAMETER}= and the {TENANT_HEADER} header name different organizations.",
        )
    slug = from_parameter or from_header
    if slug:
        membership = membership_for_slug(user=user, slug=slug)
        if membership is None:
            raise ApiError(404, "not_found", f"No organization {slug!r} among yours.")
        return membership
    memberships = list(memberships_of_user(user=user)[:2])
    if len(memberships) == 1:
        return memberships[0]
    last = request.session.get(LAST_TENANT_SESSION_KEY)
    membership = membership_for_slug(user=user, slug=last) if isinstance(last, str) and last else None
    if membership is not None:
        return membership
    if not memberships:
        raise ApiError(400, "tenant_required", "You are not a member of any organization.")
    raise ApiError(
        400,
        "tenant_required",
        f"You belong to several organizations: name one with ?{TENANT_PARAMETER}=<slug>"
        f" or the {TENANT_HEADER} header.",
    )


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """Django's CSRF failure page; under /api/ a JSON 403 that says how to pass the check."""
    if not is_api_request(request):
        return csrf.csrf_failure(request, reason)
    return api_error_response(
        403,
        "csrf_failed",
        "The CSRF check failed: send the csrftoken cookie's value in the X-CSRFToken header.",
        {"reason": reason},
    )


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """Django's 404 page; under /api/ (any version, any method) a JSON 404."""
    if not is_api_request(request):
        return defaults.page_not_found(request, exception)
    return api_error_response(404, "not_found", f"There is no API endpoint at {request.path}.")


def server_error(request: HttpRequest) -> HttpResponse:
    """Django's 500 page; under /api/ a JSON 500 (the error itself is logged by Django)."""
    if not is_api_request(request):
        return defaults.server_error(request)
    return api_error_response(500, "server_error", "The server failed on this request; it was logged.")
