from __future__ import annotations

from django.contrib import admin
from django.urls import include, path

from api import urls as api_urls
from api.public_api import public_api
from codegen import urls as codegen_urls
from config import health
from conversations import urls as conversation_urls
from providers import urls as provider_urls
from runs import urls as run_urls
from runs import webhook_views as run_webhook_views
from tenants import urls as tenant_urls
from workflows import urls as workflow_urls

admin.site.site_header = "SCE operations"
admin.site.site_title = "SCE operations"

# Under /api/ and /v1/ these answer JSON, elsewhere the usual pages.
handler404 = "api.errors.page_not_found"
handler500 = "tenants.api_access.server_error"

# Each app's URLs live in its own namespace; tenants' pages are under /t/<tenant-slug>/.
urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("", include(tenant_urls)),
    path("", include(provider_urls)),
    path("", include(conversation_urls)),
    path("", include(workflow_urls)),
    path("", include(codegen_urls)),
    path("", include(run_urls)),
    path("", include(api_urls)),
    # The public API (OpenAI/Anthropic-compatible /v1/, SCE's /api/v1/, /health, /metrics).
    path("", public_api.urls),
    path("hooks/runs/<str:token>", run_webhook_views.webhook_receive, name="run_webhook"),
]
