"""`email.send`: one message through Django's email backend (EMAIL_HOST's SMTP, or the console).

Every address is checked before anything is sent, so a typo fails the node with the address
named instead of bouncing later; a cap on recipients keeps a workflow from becoming a mailing
list. Sending is blocking I/O, so it runs in a thread, off the worker's event loop.
"""

from __future__ import annotations

import smtplib
from email.utils import parseaddr
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives
from django.core.validators import validate_email

from runs.activities.arguments import Arguments
from runs.activities.spec import ActivityContext, ActivityError, ArgumentSpec, BuiltinSpec

MAX_RECIPIENTS = 50
MAX_SUBJECT_LENGTH = 500
MAX_BODY_LENGTH = 1_000_000

ARGUMENTS = (
    ArgumentSpec(
        "to",
        "text or list",
        True,
        f"Recipients: a list, or text with commas between; at most {MAX_RECIPIENTS}.",
    ),
    ArgumentSpec("subject", "text", True, "The subject line, on one line."),
    ArgumentSpec("body", "text", True, "The message as plain text."),
    ArgumentSpec("html", "text", False, "The message as HTML too, for mail programs that show it."),
    ArgumentSpec("from", "text", False, "The sender; the platform's DEFAULT_FROM_EMAIL when not given."),
)


async def email_send(arguments: dict[str, Any], context: ActivityContext) -> dict[str, Any]:
    """Send the message; the result counts its recipients."""
    given = Arguments("email.send", arguments, ARGUMENTS)
    recipients = _recipients(given)
    subject = given.text("subject", max_length=MAX_SUBJECT_LENGTH)
    if "\n" in subject or "\r" in subject:
        raise given.invalid("subject", "must be on one line")
    body = given.text("body", max_length=MAX_BODY_LENGTH)
    html = given.text("html", max_length=MAX_BODY_LENGTH) if given.has("html") else None
    sender = _address(given, "from", given.text("from")) if given.has("from") else settings.DEFAULT_FROM_EMAIL

    message = EmailMultiAlternatives(subject=subject, body=body, from_email=sender, to=recipients)
    if html is not None:
        message.attach_alternative(html, "text/html")
    try:
        # No database is touched: any thread will do, not the one the ORM needs.
        await sync_to_async(message.send, thread_sensitive=False)()
    except (smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused) as error:
        raise ActivityError(
            "email_refused", f"The mail server refused the message: {error}", retryable=False
        ) from error
    except (smtplib.SMTPException, OSError) as error:
        raise ActivityError(
            "email_failed", f"The message could not be sent: {error}", retryable=True
        ) from error
    return {"sent": len(recipients)}


def _recipients(given: Arguments) -> list[str]:
    value = given.value("to")
    if isinstance(value, str):
        # A trailing or doubled comma is a slip, not a recipient.
        items: list[Any] = [part for part in value.split(",") if part.strip()]
    elif isinstance(value, list):
        items = value
    else:
        raise given.invalid("to", "must be an address, a list of addresses, or text with commas between")
    recipients: list[str] = []
    for item in items:
        if not isinstance(item, str):
            raise given.invalid("to", "must hold only addresses (text)")
        address = _address(given, "to", item)
        if address not in recipients:
            recipients.append(address)
    if not recipients:
        raise given.invalid("to", "must name at least one recipient")
    if len(recipients) > MAX_RECIPIENTS:
        raise given.invalid("to", f"names {len(recipients)} recipients; at most {MAX_RECIPIENTS} are allowed")
    return recipients


def _address(given: Arguments, name: str, text: str) -> str:
    """`someone@example.com` or `Someone <someone@example.com>`, checked, stripped."""
    text = text.strip()
    _display, address = parseaddr(text)
    try:
        if "\n" in text or "\r" in text or not address:
            raise ValidationError("not an address")
        validate_email(address)
    except ValidationError:
        raise given.invalid(name, f"holds {text!r}, which is not an email address") from None
    return text


EMAIL_SEND = BuiltinSpec(
    name="email.send",
    run=email_send,
    summary="Sends an email through the platform's mail server.",
    arguments=ARGUMENTS,
    returns="sent: how many recipients the message went to.",
)
