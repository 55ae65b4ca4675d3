"""Blueprints: the list, copying one, the editor and deleting. Admins write; everyone in
the tenant reads."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.db import IntegrityError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from pydantic import ValidationError

from conversations import selectors, services
from conversations.blueprints.builtin import BUILTIN
from conversations.blueprints.editor_rows import blank_row, editor_data, moved, row_from_field, rows_of
from conversations.blueprints.form_validation import (
    attach_validation_errors,
    blueprint_data,
    error_summary,
    kept_forms,
    removed_keys,
)
from conversations.blueprints.forms import (
    PREFIX,
    TYPE_CHOICES,
    BlueprintCopyForm,
    BlueprintForm,
    FieldFormSet,
    copy_name,
)
from conversations.blueprints.schema import Blueprint
from conversations.models import TenantBlueprint
from tenants.access import TenantRequest, get_tenant_object_or_404, tenant_view
from tenants.models import Role

NAME_TAKEN = "Another blueprint of this organization has this name."


def _own_names(
    choices: list[selectors.BlueprintChoice], *, besides: TenantBlueprint | None = None
) -> set[str]:
    return {
        choice.own.name
        for choice in choices
        if choice.own is not None and (besides is None or choice.own.pk != besides.pk)
    }


def _list_page(
    request: TenantRequest, *, copy_form: BlueprintCopyForm | None = None, status: int = 200
) -> HttpResponse:
    choices = selectors.blueprints_of_tenant(tenant=request.tenant)
    context = {
        "builtins": [
            {"key": key, "ref": f"builtin:{key}", "blueprint": blueprint}
            for key, blueprint in BUILTIN.items()
        ],
        "own": [choice for choice in choices if choice.own is not None],
        "can_manage": request.membership.can(Role.ADMIN),
        "copy_form": copy_form or BlueprintCopyForm(choices=choices, taken_names=set()),
    }
    return render(request, "conversations/blueprints/list.html", context, status=status)


@tenant_view(write=Role.ADMIN)
@require_GET
def blueprint_list(request: TenantRequest) -> HttpResponse:
    return _list_page(request)


@tenant_view(write=Role.ADMIN)
@require_POST
def blueprint_copy(request: TenantRequest) -> HttpResponse:
    """Copy a built-in blueprint or one of the tenant's own; the copy opens in the editor."""
    choices = selectors.blueprints_of_tenant(tenant=request.tenant)
    taken = _own_names(choices)
    form = BlueprintCopyForm(request.POST, choices=choices, taken_names=taken)
    if not form.is_valid():
        return _list_page(request, copy_form=form, status=422)
    source = form.chosen().blueprint
    name = form.cleaned_data["name"] or copy_name(source.name, taken)
    try:
        copy = services.blueprint_copy(
            tenant=request.tenant, actor=request.membership.user, source=source, name=name
        )
    except IntegrityError:
        # Another admin took the name since the form was checked.
        form.add_error("name", NAME_TAKEN)
        return _list_page(request, copy_form=form, status=422)
    messages.success(request, f"Copied {source.name} as “{copy.name}”. Edit it below.")
    return redirect("conversations:blueprint_edit", tenant_slug=request.tenant.slug, blueprint_id=copy.pk)


@tenant_view(write=Role.ADMIN)
@require_GET
def blueprint_builtin(request: TenantRequest, key: str) -> HttpResponse:
    """A built-in blueprint, read-only; admins copy it to change it."""
    return _detail_page(request, BUILTIN[key], ref=f"builtin:{key}")


def _detail_page(
    request: TenantRequest, blueprint: Blueprint | None, *, ref: str, own: TenantBlueprint | None = None
) -> HttpResponse:
    labels = dict(TYPE_CHOICES)
    context = {
        "name": own.name if own else blueprint.name if blueprint else "",
        "blueprint": blueprint,
        "rows": [{"field": field, "type_label": labels[field.type]} for field in blueprint.fields]
        if blueprint
        else [],
        "ref": ref,
        "own": own,
        "can_manage": request.membership.can(Role.ADMIN),
    }
    return render(request, "conversations/blueprints/detail.html", context)


@tenant_view(write=Role.ADMIN)
@require_http_methods(["GET", "POST"])
def blueprint_edit(request: TenantRequest, blueprint_id: int) -> HttpResponse:
    """The editor (admins) or a read-only view (everyone else).

    Besides saving, the page posts to itself to add a field or move one: the form set is
    re-rendered from what was typed, so nothing is lost and no script is needed.
    """
    blueprint = get_tenant_object_or_404(TenantBlueprint, request.tenant, pk=blueprint_id)
    if request.method == "GET" and not request.membership.can(Role.ADMIN):
        try:
            schema: Blueprint | None = blueprint.as_blueprint()
        except ValueError:
            schema = None  # saved before a rule tightened; an admin must fix it
        return _detail_page(request, schema, ref=f"tenant:{blueprint.pk}", own=blueprint)
    choices = selectors.blueprints_of_tenant(tenant=request.tenant)
    taken = _own_names(choices, besides=blueprint)
    if request.method == "GET":
        rows = [row_from_field(field) for field in blueprint.fields]
        data: Any = editor_data(name=blueprint.name, description=blueprint.description, rows=rows)
        return _editor(request, blueprint, data, taken)
    if "add" in request.POST or "move" in request.POST:
        return _rearranged(request, blueprint, taken)
    meta = BlueprintForm(request.POST, taken_names=taken)
    formset = FieldFormSet(request.POST, prefix=PREFIX)
    if not (meta.is_valid() and formset.is_valid()):
        return _editor_page(request, blueprint, meta, formset, status=422)
    field_forms = kept_forms(formset)
    plain = blueprint_data(meta, field_forms, removed=removed_keys(formset))
    if plain is None:
        return _editor_page(request, blueprint, meta, formset, status=422)
    try:
        validated = Blueprint.model_validate(plain)
    except ValidationError as error:
        general = attach_validation_errors(error, meta, field_forms)
        return _editor_page(request, blueprint, meta, formset, general=general, status=422)
    try:
        services.blueprint_update(blueprint=blueprint, validated=validated)
    except IntegrityError:
        meta.add_error("name", NAME_TAKEN)
        return _editor_page(request, blueprint, meta, formset, status=422)
    messages.success(request, f"Saved {validated.name}: new services use it from now on.")
    return redirect("conversations:blueprint_list", tenant_slug=request.tenant.slug)


def _rearranged(request: TenantRequest, blueprint: TenantBlueprint, taken: set[str]) -> HttpResponse:
    """The editor again, with a field added or moved; nothing is saved."""
    rows = rows_of(FieldFormSet(request.POST, prefix=PREFIX))
    focus = None
    if "add" in request.POST:
        rows.append(blank_row())
        focus = len(rows) - 1
    else:
        index, _, direction = request.POST.get("move", "").partition(":")
        if index.isdigit():
            rows = moved(rows, int(index), direction)
    data = editor_data(
        name=request.POST.get("name", ""), description=request.POST.get("description", ""), rows=rows
    )
    return _editor(request, blueprint, data, taken, focus=focus)


def _editor(
    request: TenantRequest,
    blueprint: TenantBlueprint,
    data: Any,
    taken: set[str],
    *,
    focus: int | None = None,
) -> HttpResponse:
    meta = BlueprintForm(data, taken_names=taken)
    formset = FieldFormSet(data, prefix=PREFIX)
    if focus is not None and focus < len(formset.forms):
        formset.forms[focus].fields["key"].widget.attrs["autofocus"] = True
    return _editor_page(request, blueprint, meta, formset)


def _editor_page(
    request: TenantRequest,
    blueprint: TenantBlueprint,
    meta: BlueprintForm,
    formset: Any,
    *,
    general: list[str] | None = None,
    status: int = 200,
) -> HttpResponse:
    # Problems are listed only after a save: a page just opened or rearranged shows its
    # forms as they are, without calling an unfinished new field an error.
    problems = error_summary(meta, formset, general or []) if status == 422 else []
    keys = sorted({str(form.data.get(form.add_prefix("key"), "")) for form in formset.forms} - {""})
    context = {
        "blueprint": blueprint,
        "meta_form": meta,
        "formset": formset,
        "problems": problems,
        "keys": keys,
        "show_errors": status == 422,
        "list_url": reverse("conversations:blueprint_list", kwargs={"tenant_slug": request.tenant.slug}),
    }
    return render(request, "conversations/blueprints/edit.html", context, status=status)


@tenant_view(write=Role.ADMIN)
@require_POST
def blueprint_delete(request: TenantRequest, blueprint_id: int) -> HttpResponse:
    """Delete a tenant blueprint; services started from it keep their own copy."""
    blueprint = get_tenant_object_or_404(TenantBlueprint, request.tenant, pk=blueprint_id)
    name = blueprint.name
    services.blueprint_delete(blueprint=blueprint)
    messages.success(request, f"Deleted {name}.")
    target = reverse("conversations:blueprint_list", kwargs={"tenant_slug": request.tenant.slug})
    if request.htmx:
        # The confirmation is htmx's; the list is a new page, not a fragment.
        response = HttpResponse(status=204)
        response["HX-Redirect"] = target
        return response
    return redirect(target)
