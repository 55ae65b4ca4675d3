from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.urls import include, path, reverse_lazy

from tenants import account_views, views

app_name = "tenants"

# Under t/<slug:tenant_slug>/: the tenant's own pages.
tenant_urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("members/", views.members, name="members"),
    path("members/<int:member_id>/role/", views.member_role, name="member_role"),
    path("members/<int:member_id>/remove/", views.member_remove, name="member_remove"),
    path("invitations/<int:invitation_id>/revoke/", views.invitation_revoke, name="invitation_revoke"),
    path("settings/", views.tenant_settings, name="tenant_settings"),
]

urlpatterns = [
    path("", views.home, name="home"),
    path("organizations/new/", views.tenant_create, name="tenant_create"),
    path("invitations/<str:token>/", account_views.invitation_accept, name="invitation_accept"),
    path("account/", account_views.account, name="account"),
    path("accounts/signup/", account_views.signup, name="signup"),
    path("accounts/login/", account_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path(
        "accounts/password/change/",
        # Django's auth views name their next page without a namespace: given here.
        auth_views.PasswordChangeView.as_view(success_url=reverse_lazy("tenants:password_change_done")),
        name="password_change",
    ),
    path(
        "accounts/password/change/done/",
        auth_views.PasswordChangeDoneView.as_view(),
        name="password_change_done",
    ),
    path(
        "accounts/password/reset/",
        account_views.PasswordResetView.as_view(success_url=reverse_lazy("tenants:password_reset_done")),
        name="password_reset",
    ),
    path(
        "accounts/password/reset/sent/",
        auth_views.PasswordResetDoneView.as_view(),
        name="password_reset_done",
    ),
    path(
        "accounts/password/reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(
            success_url=reverse_lazy("tenants:password_reset_complete")
        ),
        name="password_reset_confirm",
    ),
    path(
        "accounts/password/reset/complete/",
        auth_views.PasswordResetCompleteView.as_view(),
        name="password_reset_complete",
    ),
    path("t/<slug:tenant_slug>/", include(tenant_urlpatterns)),
]
