"""The catalog of built-in activities: its entries, and `email.send`, `log`, `transform` and
`wait.sleep` (`http.request` has tests/runs/test_http_request.py)."""

from __future__ import annotations

import logging
import smtplib
from dataclasses import dataclass
from typing import Any

import pytest
from django.core.mail import EmailMultiAlternatives
from django.core.mail.backends.base import BaseEmailBackend
from django.core.mail.message import EmailMessage

from runs.activities import sleep
from runs.activities.catalog import BUILTINS, ActivityContext, ActivityError, builtin


@dataclass
class Beats:
    count: int = 0

    def __call__(self) -> None:
        self.count += 1


def context(heartbeat: Any = None) -> ActivityContext:
    if heartbeat is None:
        return ActivityContext(tenant_id=7, run_id=42, node_id="notify")
    return ActivityContext(tenant_id=7, run_id=42, node_id="notify", heartbeat=heartbeat)


async def run(name: str, **arguments: Any) -> Any:
    spec = builtin(name)
    assert spec is not None, f"{name} is not in the catalog"
    return await spec.run(arguments, context())


async def refused(name: str, **arguments: Any) -> ActivityError:
    with pytest.raises(ActivityError) as raised:
        await run(name, **arguments)
    return raised.value


# --- The catalog ----------------------------------------------------------------------------------


def test_it_lists_the_five_built_ins_with_what_the_catalog_page_shows() -> None:
    assert sorted(BUILTINS) == ["email.send", "http.request", "log", "transform", "wait.sleep"]
    for name, spec in BUILTINS.items():
        assert spec.name == name
        assert builtin(name) is spec
        assert spec.summary.endswith(".")
        assert [argument.name for argument in spec.arguments if argument.required], f"{name} needs something"


def test_an_unknown_name_is_not_a_built_in() -> None:
    """Other names are the test-run mode's canned outputs, which the caller handles."""
    assert builtin("crm.create_ticket") is None


@pytest.mark.parametrize("name", sorted(BUILTINS))
async def test_every_built_in_refuses_an_argument_it_does_not_take(name: str) -> None:
    """...and names the ones it does take: the same the catalog page lists."""
    error = await refused(name, colour="blue")
    assert (error.code, error.retryable) == ("bad_arguments", False)
    spec = BUILTINS[name]
    listed = ", ".join(f"`{argument.name}`" for argument in spec.arguments)
    assert error.message == f"{name} does not take `colour`; its arguments are {listed}."


# --- email.send -----------------------------------------------------------------------------------


async def test_email_send_sends_through_djangos_backend(mailoutbox: list[EmailMessage]) -> None:
    result = await run(
        "email.send",
        to="ana@example.com, Bo Li <bo@example.org>,",
        subject="Order 5 shipped",
        body="It is on its way.",
    )
    assert result == {"sent": 2}
    [message] = mailoutbox
    assert message.to == ["ana@example.com", "Bo Li <bo@example.org>"]
    assert (message.subject, message.body) == ("Order 5 shipped", "It is on its way.")
    assert message.from_email == "SCE <noreply@localhost>"


async def test_email_send_takes_a_list_html_and_a_sender(mailoutbox: list[EmailMessage]) -> None:
    result = await run(
        "email.send",
        to=["ana@example.com", "ana@example.com", "cy@example.net"],
        subject="Hi",
        body="Plain",
        html="<p>Rich</p>",
        **{"from": "Orders <orders@example.com>"},
    )
    assert result == {"sent": 2}, "a repeated address is one recipient"
    [message] = mailoutbox
    assert message.from_email == "Orders <orders@example.com>"
    assert isinstance(message, EmailMultiAlternatives)
    assert message.alternatives[0][0] == "<p>Rich</p>"


@pytest.mark.parametrize(
    ("arguments", "named"),
    [
        ({"subject": "s", "body": "b"}, "needs `to`"),
        ({"to": "not-an-address", "subject": "s", "body": "b"}, "`to` holds 'not-an-address'"),
        ({"to": ["a@example.com", 5], "subject": "s", "body": "b"}, "`to` must hold only addresses"),
        ({"to": {"a": 1}, "subject": "s", "body": "b"}, "`to` must be an address, a list"),
        ({"to": " , ", "subject": "s", "body": "b"}, "`to` must name at least one recipient"),
        (
            {"to": "a@example.com", "subject": "s\nBcc: x@evil.test", "body": "b"},
            "`subject` must be on one line",
        ),
        ({"to": "a@example.com", "subject": "s"}, "needs `body`"),
        ({"to": "a@example.com", "subject": "s", "body": "b", "html": 3}, "`html` must be text"),
        ({"to": "a@example.com", "subject": "s", "body": "b", "from": "me"}, "`from` holds 'me'"),
    ],
)
async def test_email_send_refuses_bad_arguments(
    mailoutbox: list[EmailMessage], arguments: dict[str, Any], named: str
) -> None:
    error = await refused("email.send", **arguments)
    assert (error.code, error.retryable) == ("bad_arguments", False)
    assert named in error.message
    assert mailoutbox == []


async def test_email_send_refuses_more_than_fifty_recipients(mailoutbox: list[EmailMessage]) -> None:
    fifty = [f"user{number}@example.com" for number in range(50)]
    assert await run("email.send", to=fifty, subject="s", body="b") == {"sent": 50}
    error = await refused("email.send", to=[*fifty, "one.more@example.com"], subject="s", body="b")
    assert "names 51 recipients; at most 50 are allowed" in error.message
    assert len(mailoutbox) == 1


class UnreachableServer(BaseEmailBackend):
    def send_messages(self, email_messages: Any) -> int:
        raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")


class RefusingServer(BaseEmailBackend):
    def send_messages(self, email_messages: Any) -> int:
        raise smtplib.SMTPRecipientsRefused({"a@example.com": (550, b"No such user")})


@pytest.mark.parametrize(
    ("backend", "code", "retryable"),
    [("UnreachableServer", "email_failed", True), ("RefusingServer", "email_refused", False)],
)
async def test_a_mail_server_failure_is_an_activity_error(
    settings: Any, backend: str, code: str, retryable: bool
) -> None:
    settings.EMAIL_BACKEND = f"{__name__}.{backend}"
    error = await refused("email.send", to="a@example.com", subject="s", body="b")
    assert (error.code, error.retryable) == (code, retryable)


# --- log ------------------------------------------------------------------------------------------


async def test_log_writes_to_the_runs_logger_with_the_runs_ids(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="runs.activities"):
        assert await run("log", message="Order checked", level="Warning", data={"id": 5}) == {"logged": True}
    [record] = caplog.records
    assert record.name == "runs.activities"
    assert record.levelno == logging.WARNING
    assert record.getMessage() == 'tenant 7 run 42 node notify: Order checked {"id": 5}'
    fields = record.__dict__
    assert (fields["tenant_id"], fields["run_id"], fields["node_id"], fields["data"]) == (
        7,
        42,
        "notify",
        {"id": 5},
    )


async def test_log_cuts_long_data_in_the_line(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="runs.activities"):
        await run("log", message="big", data="x" * 10_000)
    [record] = caplog.records
    assert record.levelno == logging.INFO
    assert record.getMessage().endswith("... (6,002 more characters)")


@pytest.mark.parametrize(
    ("arguments", "named"),
    [
        ({}, "needs `message`"),
        ({"message": "m", "level": "debug"}, "`level` must be one of info, warning, error"),
    ],
)
async def test_log_refuses_bad_arguments(arguments: dict[str, Any], named: str) -> None:
    error = await refused("log", **arguments)
    assert error.code == "bad_arguments"
    assert named in error.message


# --- transform ------------------------------------------------------------------------------------


def nested(depth: int) -> Any:
    value: Any = "x"
    for _ in range(depth):
        value = [value]
    return value


ORDER = {
    "order": {"id": 5, "customer": {"name": "Ana"}, "lines": [{"sku": "A1"}], "paid": True, "note": None}
}


async def test_transform_renders_every_string_in_the_template() -> None:
    template = {
        "title": "Order {{order.id}} for {{ order.customer.name }}",
        "customer": "{{order.customer}}",
        "lines": ["{{order.lines}}", "first: {{order.lines}}", 3, None, False],
        "flags": {"paid": "{{order.paid}}", "paid_text": "paid={{order.paid}}", "{{order.id}}": "key kept"},
    }
    assert await run("transform", template=template, data=ORDER) == {
        "title": "Order 5 for Ana",
        "customer": {"name": "Ana"},
        "lines": [[{"sku": "A1"}], 'first: [{"sku":"A1"}]', 3, None, False],
        "flags": {"paid": True, "paid_text": "paid=true", "{{order.id}}": "key kept"},
    }


async def test_transform_reads_a_missing_path_as_null() -> None:
    result = await run(
        "transform",
        template=["{{order.nothing}}", "note: [{{order.note}}]", "{{order.id.deeper}}"],
        data=ORDER,
    )
    assert result == [None, "note: []", None]


async def test_transform_of_a_plain_string_or_value_gives_it_back() -> None:
    assert await run("transform", template="no placeholders") == "no placeholders"
    assert await run("transform", template=12.5) == 12.5


@pytest.mark.parametrize(
    ("arguments", "named"),
    [
        ({}, "needs `template`"),
        ({"template": "Hi {{ 5 }}"}, "`template` has a bad placeholder: expected a variable name"),
        ({"template": "x", "data": [1]}, "`data` must be an object"),
        ({"template": nested(65)}, "nested more than 64 levels deep"),
    ],
)
async def test_transform_refuses_bad_arguments(arguments: dict[str, Any], named: str) -> None:
    error = await refused("transform", **arguments)
    assert error.code == "bad_arguments"
    assert named in error.message


# --- wait.sleep -----------------------------------------------------------------------------------


async def test_wait_sleep_heartbeats_between_steps(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sleep, "STEP_SECONDS", 0.02)
    beats = Beats()
    spec = builtin("wait.sleep")
    assert spec is not None
    assert await spec.run({"seconds": "0.1"}, context(beats)) == {"slept": 0.1}
    assert 4 <= beats.count <= 6


async def test_wait_sleep_of_zero_returns_at_once() -> None:
    assert await run("wait.sleep", seconds=0) == {"slept": 0}


@pytest.mark.parametrize(
    ("arguments", "named"),
    [
        ({}, "needs `seconds`"),
        ({"seconds": -1}, "`seconds` must be at least 0 and at most 3,600, not -1"),
        ({"seconds": 3601}, "at most 3,600"),
        ({"seconds": "a while"}, "`seconds` must be a number, not 'a while'"),
        ({"seconds": "nan"}, "`seconds` must be a finite number"),
        ({"seconds": [1]}, "`seconds` must be a number, not a list"),
    ],
)
async def test_wait_sleep_refuses_bad_arguments(arguments: dict[str, Any], named: str) -> None:
    error = await refused("wait.sleep", **arguments)
    assert error.code == "bad_arguments"
    assert named in error.message
