"""Workflows as files: exporting a draft or version as JSON, importing such a file."""

from __future__ import annotations

from django.core.files.uploadedfile import UploadedFile
from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_GET, require_http_methods

from tenants.access import TenantRequest, get_tenant_object_or_404, signed_in_user, tenant_view
from workflows import services
from workflows.dsl.files import export_bytes
from workflows.models import Workflow
from workflows.versions.choice import BadVersionChoice, choose_document
from workflows.versions.views import bad_version_choice

MAX_IMPORT_BYTES = services.MAX_IMPORT_BYTES
# A form with a 2 MB file is a little more than 2 MB: boundaries, headers, the CSRF token.
MAX_IMPORT_REQUEST_BYTES = MAX_IMPORT_BYTES + 64 * 1024
LIMIT = f"{MAX_IMPORT_BYTES // 1024 // 1024} MB"


@tenant_view()
@require_GET
def workflow_export(request: TenantRequest, workflow_id: int) -> HttpResponse:
    """The draft (or `?version=N`) as a JSON file that import reads back."""
    workflow = get_tenant_object_or_404(Workflow, request.tenant, pk=workflow_id)
    try:
        chosen = choose_document(workflow, request.GET.get("version"), parameter="version")
    except BadVersionChoice as problem:
        return bad_version_choice(request, workflow, problem)
    response = HttpResponse(export_bytes(chosen.document), content_type="application/json; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{chosen.file_name(workflow, "json")}"'
    return response


def _megabytes(size: int) -> str:
    return f"{size / 1024 / 1024:.1f} MB"


def _import_page(request: TenantRequest, status: int = 200, **context: object) -> HttpResponse:
    return render(request, "workflows/import.html", {"limit": LIMIT, **context}, status=status)


# CSRF is checked after the size: the middleware's check parses the whole multipart body
# (files over FILE_UPLOAD_MAX_MEMORY_SIZE go to a temporary file), and a request too large
# to import is turned away before that.
@csrf_exempt
@tenant_view()
@require_http_methods(["GET", "POST"])
def workflow_import(request: TenantRequest) -> HttpResponse:
    """Upload an exported workflow: a new draft, or the draft of the workflow it came from."""
    if request.method == "POST":
        declared = request.META.get("CONTENT_LENGTH") or "0"
        size = int(declared) if declared.isdigit() else 0
        if size > MAX_IMPORT_REQUEST_BYTES:
            problem = f"The upload is {_megabytes(size)}; at most {LIMIT} can be imported."
            return _import_page(request, status=413, error=problem)
    return _checked_import(request)


@csrf_protect
def _checked_import(request: TenantRequest) -> HttpResponse:
    if request.method == "GET":
        return _import_page(request)
    upload = request.FILES.get("file")
    if not isinstance(upload, UploadedFile):
        return _import_page(request, status=422, error="Choose a .json file to import.")
    if upload.size is not None and upload.size > MAX_IMPORT_BYTES:
        problem = f"{upload.name} is {_megabytes(upload.size)}; at most {LIMIT} can be imported."
        return _import_page(request, status=422, error=problem)
    imported = services.workflow_import(
        tenant=request.tenant, actor=signed_in_user(request), data=upload.read(MAX_IMPORT_BYTES + 1)
    )
    if imported.workflow is None:
        return _import_page(
            request, status=422, error=f"{upload.name} was not imported.", findings=imported.findings
        )
    return _import_page(request, imported=imported, file_name=upload.name)
