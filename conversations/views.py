"""Services (conversations): the list, starting one, the interview page, editing answers."""

from __future__ import annotations

import logging
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.core.paginator import Paginator
from django.http import HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods

from conversations import pages, selectors, services, streams
from conversations.blueprints.schema import SKIPPED, FieldType, InvalidAnswer
from conversations.models import Conversation, Message
from core.redis import UNAVAILABLE
from tenants.access import TenantRequest, get_tenant_object_or_404, tenant_view
from tenants.models import Role

logger = logging.getLogger(__name__)


@tenant_view()
@require_GET
def conversation_list(request: TenantRequest) -> HttpResponse:
    query = request.GET.get("q", "").strip()[:100]
    status = request.GET.get("status", "")
    if status not in ("", *Conversation.Status.values):
        status = ""
    conversations = selectors.conversations_of_tenant(tenant=request.tenant, query=query, status=status)
    page = Paginator(conversations, 30).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "query": query,
        "status": status,
        "can_start": request.membership.can(Role.MEMBER),
    }
    template = "conversations/list.html#conversation-table" if request.htmx else "conversations/list.html"
    return render(request, template, context)


@tenant_view()
@require_http_methods(["GET", "POST"])
def conversation_new(request: TenantRequest) -> HttpResponse:
    choices = selectors.blueprints_of_tenant(tenant=request.tenant)
    if request.method == "POST":
        choice = selectors.blueprint_choice(tenant=request.tenant, ref=request.POST.get("blueprint", ""))
        if choice is None:
            context = {"choices": choices, "error": "Choose one of the blueprints."}
            return render(request, "conversations/new.html", context, status=422)
        title = request.POST.get("title", "").strip()[:150]
        conversation = services.conversation_create(
            tenant=request.tenant, owner=request.membership.user, blueprint=choice.blueprint, title=title
        )
        return redirect(
            "conversations:conversation_detail",
            tenant_slug=request.tenant.slug,
            conversation_id=conversation.pk,
        )
    return render(request, "conversations/new.html", {"choices": choices})


@tenant_view()
@require_GET
def conversation_detail(request: TenantRequest, conversation_id: int) -> HttpResponse:
    conversation = get_tenant_object_or_404(Conversation, request.tenant, pk=conversation_id)
    # The frame number first, then the database: every frame up to it is reflected in what
    # is read next, and the page's socket asks for what comes after it.
    try:
        since: int | None = streams.current_seq(conversation.pk)
    except UNAVAILABLE:
        # Redis is out of reach: the page shows the conversation as stored, without a socket
        # (nothing could be sent or received over it) and says so.
        logger.warning("conversation %s shown without live updates: Redis is unreachable", conversation.pk)
        since = None
    messages = list(selectors.messages_of(conversation))
    for message in messages:
        if since is None or message.role != Message.Role.ASSISTANT or message.seq_start is None:
            continue
        if message.state == Message.State.STREAMING or (message.seq_end or 0) > since:
            # Mid-stream (or finished after `since` was read): shown from its first frame on,
            # replayed by the socket, so its text arrives once and in order.
            since = min(since, message.seq_start - 1)
            message.state, message.text = Message.State.STREAMING, ""
    state = pages.page_state(conversation)
    context = {
        **state,
        "chat_messages": messages,
        "since": since or 0,
        "live": since is not None,
        "can_answer": request.membership.can(Role.MEMBER),
    }
    return render(request, "conversations/conversation.html", context)


def _nudge(conversation: Conversation) -> None:
    """Tell the conversation's open sockets to ask whatever is now open."""
    layer = get_channel_layer()
    if layer is not None:
        async_to_sync(layer.group_send)(streams.group_name(conversation.pk), {"type": "conversation.nudge"})


def _parse_edit(request: TenantRequest, field_type: FieldType) -> Any:
    if field_type is FieldType.MULTI_SELECT:
        return request.POST.getlist("value")
    return request.POST.get("value", "")


@tenant_view()
@require_http_methods(["GET", "POST"])
def answer_edit(request: TenantRequest, conversation_id: int, key: str) -> HttpResponse:
    """Change one answer from the answers panel; what depended on it is asked again."""
    conversation = get_tenant_object_or_404(Conversation, request.tenant, pk=conversation_id)
    blueprint = conversation.schema()
    field = blueprint.field(key)
    if field is None or key not in conversation.answers:
        return render(request, "404.html", status=404)
    offered = selectors.offered_options(conversation, key) or list(field.options)
    context: dict[str, Any] = {
        "conversation": conversation,
        "field": field,
        "offered": offered,
        "current": conversation.answers.get(key),
        "boolean_choices": pages.BOOLEAN_CHOICES,
        # Said before saving: what a change clears (services.answer_edit).
        "cleared_by_change": blueprint.labels(
            [k for k in blueprint.dependents(key) if k in conversation.answers]
        ),
    }
    if request.method == "GET":
        return render(request, "conversations/partials/answer_form.html", context)
    if not request.membership.can(Role.MEMBER):
        return render(request, "403.html", status=403)
    raw = _parse_edit(request, field.type)
    if request.POST.get("skip") and not field.required:
        raw = SKIPPED
    try:
        value = field.accepts(raw, offered)
    except InvalidAnswer as error:
        return render(
            request, "conversations/partials/answer_form.html", {**context, "error": str(error)}, status=422
        )
    conversation, notice = services.answer_edit(conversation=conversation, key=key, value=value)
    try:
        # Other open pages of the conversation see the change as it happens.
        streams.publish_template(
            conversation.pk, "conversations/frames/message_added.html", {"message": notice}
        )
        streams.publish_template(
            conversation.pk, "conversations/frames/state.html", pages.page_state(conversation)
        )
        _nudge(conversation)
    except UNAVAILABLE:
        # The change is stored; the page this request reloads says live updates are off.
        logger.warning("conversation %s: an edit was not published, Redis is unreachable", conversation.pk)
    target = reverse(
        "conversations:conversation_detail",
        kwargs={"tenant_slug": request.tenant.slug, "conversation_id": conversation.pk},
    )
    if request.htmx:
        # A page whose conversation was complete has no socket: it reloads to get one.
        response = HttpResponse(status=204)
        response["HX-Redirect"] = target
        return response
    return redirect(target)


@tenant_view()
@require_GET
def conversation_requirements(request: TenantRequest, conversation_id: int) -> JsonResponse:
    """The requirements gathered, as a JSON download."""
    conversation = get_tenant_object_or_404(Conversation, request.tenant, pk=conversation_id)
    payload = pages.requirements_payload(conversation)
    response = JsonResponse(payload, json_dumps_params={"indent": 2, "ensure_ascii": False})
    response["Content-Disposition"] = f'attachment; filename="requirements-{conversation.pk}.json"'
    return response
