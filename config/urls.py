from __future__ import annotations

from django.contrib import admin
from django.urls import include, path

from config import health
from conversations import blueprint_urls
from conversations import urls as conversation_urls
from providers import urls as provider_urls
from tenants import urls as tenant_urls
from workflows import api_urls as workflow_api_urls
from workflows import urls as workflow_urls

admin.site.site_header = "SCE operations"
admin.site.site_title = "SCE operations"

# Under /api/ these answer JSON, elsewhere the usual pages.
handler404 = "tenants.api_access.page_not_found"
handler500 = "tenants.api_access.server_error"

# Everything a tenant sees lives under /t/<tenant-slug>/; each app contributes its
# `tenant_urlpatterns` here.
tenant_urlpatterns = [
    *tenant_urls.tenant_urlpatterns,
    *provider_urls.tenant_urlpatterns,
    *conversation_urls.tenant_urlpatterns,
    *blueprint_urls.tenant_urlpatterns,
    *workflow_urls.tenant_urlpatterns,
]

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("api/v1/", include(workflow_api_urls)),
    path("t/<slug:tenant_slug>/", include(tenant_urlpatterns)),
    path("", include(tenant_urls)),
]
