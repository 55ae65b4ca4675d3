"""`http.request`: one HTTP call a workflow steers, through the egress guard.

The URL is the tenant's, so it goes through `core.egress`: checked as written (scheme, no
credentials, no literal internal address), then resolved once at connect time with every
address checked and the checked address connected to. Redirects are followed here, at most
five, each hop's URL checked the same way before it is requested, so a public URL cannot
bounce the call to the metadata endpoint or a loopback service. The body is read as a stream
and cut off past `max_bytes`; the whole call, redirects and body included, has one deadline.

An HTTP error status is not a failure: 4xx and 5xx come back as results, so a workflow can
branch on `status`. Failures are what gave no answer: a refused address, a timeout, a
connection that failed, a body too large.
"""

from __future__ import annotations

import asyncio
import codecs
import functools
import json
import re
import ssl
from typing import Any

import httpx2

from core.egress import EgressPolicy, EgressRefused, GuardedTransport, refusal_in, url_problem
from core.egress.transport import Resolver
from runs.activities.arguments import Arguments
from runs.activities.spec import ActivityContext, ActivityError, ArgumentSpec, BuiltinSpec

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD")
MAX_REDIRECTS = 5
DEFAULT_TIMEOUT_SECONDS = 30
MAX_TIMEOUT_SECONDS = 120
DEFAULT_MAX_BYTES = 1_000_000
MAX_MAX_BYTES = 10_000_000
# RFC 9110's token: what a header name may be spelled with.
_HEADER_NAME = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
# One call's client: a handful of connections (one per redirect hop at most).
_LIMITS = httpx2.Limits(max_connections=10, max_keepalive_connections=0)

ARGUMENTS = (
    ArgumentSpec("url", "text", True, "An http:// or https:// URL on the public internet."),
    ArgumentSpec("method", "text", False, f"One of {', '.join(METHODS)}; GET when not given."),
    ArgumentSpec("headers", "object", False, "Request headers, each value text."),
    ArgumentSpec("json", "any", False, "A JSON body (sent with content-type application/json)."),
    ArgumentSpec("body", "text", False, "A text body, sent as is; not together with `json`."),
    ArgumentSpec(
        "timeout_seconds",
        "number",
        False,
        f"Time for the whole call, redirects and body included: {DEFAULT_TIMEOUT_SECONDS} when not "
        f"given, at most {MAX_TIMEOUT_SECONDS}.",
    ),
    ArgumentSpec(
        "max_bytes",
        "number",
        False,
        f"Largest response body accepted: {DEFAULT_MAX_BYTES:,} bytes when not given, "
        f"at most {MAX_MAX_BYTES:,}.",
    ),
)


class _RedirectPassingTransport(GuardedTransport):
    """The guarded transport, but handing a redirect answer back instead of refusing it.

    GuardedTransport refuses redirects because its other users (the provider SDKs) would
    follow them unchecked; here the caller follows them itself, checking every hop, so the
    answer has to reach it. Connections still go through the guarded network layer.
    """

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        return await httpx2.AsyncHTTPTransport.handle_async_request(self, request)


@functools.cache
def _ssl_context() -> ssl.SSLContext:
    # Loading the CA bundle takes tens of milliseconds; one context serves every call.
    return httpx2.create_ssl_context()


async def http_request(
    arguments: dict[str, Any],
    context: ActivityContext,
    *,
    policy: EgressPolicy | None = None,
    resolver: Resolver | None = None,
) -> dict[str, Any]:
    """Make the request; the result has status, lower-cased headers, json or text, final url.

    `policy` None means EGRESS_ALLOWED_HOSTS as it is when the call starts (one policy for
    every hop); `resolver` replaces getaddrinfo (tests).
    """
    given = Arguments("http.request", arguments, ARGUMENTS)
    url = given.text("url", max_length=8000)
    method = given.choice("method", METHODS, "GET")
    headers = _headers(given)
    if given.has("json") and given.has("body"):
        raise given.error("takes `json` or `body`, not both")
    body = given.text("body") if given.has("body") else None
    timeout = given.number(
        "timeout_seconds", DEFAULT_TIMEOUT_SECONDS, minimum=0, maximum=MAX_TIMEOUT_SECONDS, above_minimum=True
    )
    max_bytes = given.whole_number("max_bytes", DEFAULT_MAX_BYTES, minimum=1, maximum=MAX_MAX_BYTES)
    if policy is None:
        policy = EgressPolicy.from_settings()
    _check_url(url, policy, given=given)

    transport = _RedirectPassingTransport(
        policy=policy, resolver=resolver, limits=_LIMITS, ssl_context=_ssl_context()
    )
    try:
        async with (
            asyncio.timeout(timeout),
            httpx2.AsyncClient(
                transport=transport, timeout=timeout, follow_redirects=False, trust_env=False
            ) as client,
        ):
            request = client.build_request(
                method, url, headers=headers, json=given.value("json"), content=body
            )
            return await _follow(client, request, policy=policy, max_bytes=max_bytes, context=context)
    except (TimeoutError, httpx2.TimeoutException) as error:
        # The deadline of the whole call (TimeoutError) or one step of it (httpx's).
        raise ActivityError(
            "timeout", f"{_host(url)} did not answer within {timeout:g} seconds.", retryable=True
        ) from error
    except EgressRefused as error:
        raise _refused(error.reason) from error
    except httpx2.HTTPError as error:
        refusal = refusal_in(error)
        if refusal is not None:
            raise _refused(refusal.reason) from error
        raise ActivityError(
            "connection_error",
            f"The request to {_host(url)} failed: {str(error) or type(error).__name__}",
            retryable=True,
        ) from error


async def _follow(
    client: httpx2.AsyncClient,
    request: httpx2.Request,
    *,
    policy: EgressPolicy,
    max_bytes: int,
    context: ActivityContext,
) -> dict[str, Any]:
    """Send, following up to MAX_REDIRECTS redirects, each hop checked before it is sent."""
    hops = 0
    while True:
        response = await client.send(request, stream=True)
        try:
            if not response.has_redirect_location:
                return await _result(response, max_bytes=max_bytes, context=context)
            # The client builds the next request as a browser would: 303 (and 301/302 after
            # a POST) becomes a GET without the body, Authorization is dropped for another
            # origin, a relative Location is resolved.
            following = response.next_request
            location = response.headers.get("location", "")
        finally:
            await response.aclose()
        if hops == MAX_REDIRECTS:
            raise ActivityError(
                "too_many_redirects",
                f"{_host(str(request.url))} redirected more than {MAX_REDIRECTS} times.",
                retryable=False,
            )
        if following is None:
            raise ActivityError(
                "bad_redirect",
                f"{_host(str(request.url))} redirected to an invalid URL: {location!r}.",
                retryable=False,
            )
        problem = _url_problem(str(following.url), policy)
        if problem is not None:
            code, message = problem
            origin, target = _host(str(request.url)), str(following.url)
            if code == "bad_arguments":
                # Not the workflow's argument but the server's answer: a Location we will not go to.
                raise ActivityError(
                    "bad_redirect", f"{origin} redirected to {target!r}, which {message}.", retryable=False
                )
            raise ActivityError(
                code, f"{origin} redirected to {target!r}, refused: {message}", retryable=False
            )
        context.heartbeat()
        hops += 1
        request = following


async def _result(response: httpx2.Response, *, max_bytes: int, context: ActivityContext) -> dict[str, Any]:
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes and "content-encoding" not in response.headers:
        raise _too_large(response, max_bytes)
    chunks: list[bytes] = []
    size = 0
    # Decoded bytes are what is counted: a small gzip body can expand past the limit.
    async for chunk in response.aiter_bytes():
        size += len(chunk)
        if size > max_bytes:
            raise _too_large(response, max_bytes)
        chunks.append(chunk)
        context.heartbeat()
    content = b"".join(chunks)
    result: dict[str, Any] = {
        "status": response.status_code,
        "headers": {name.lower(): value for name, value in response.headers.items()},
        "url": str(response.url),
    }
    parsed = _json_body(response, content)
    if parsed is not _NOT_JSON:
        result["json"] = parsed
    else:
        result["text"] = content.decode(_encoding(response), errors="replace")
    return result


_NOT_JSON = object()


def _json_body(response: httpx2.Response, content: bytes) -> Any:
    """The parsed body when the content type says JSON and it parses; else _NOT_JSON (the
    text is returned instead, so a workflow sees what came back)."""
    media_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
    if not content.strip() or not (media_type == "application/json" or media_type.endswith("+json")):
        return _NOT_JSON
    try:
        # NaN and Infinity are not JSON, and a run's history could not hold them.
        return json.loads(
            content.decode(_encoding(response), errors="strict"), parse_constant=_refuse_constant
        )
    except ValueError:
        return _NOT_JSON


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _encoding(response: httpx2.Response) -> str:
    encoding = response.charset_encoding or "utf-8"
    try:
        codecs.lookup(encoding)
    except LookupError:
        return "utf-8"
    return encoding


def _headers(given: Arguments) -> dict[str, str]:
    """The `headers` argument, every name and value one HTTP can carry.

    Checked here, not left to the HTTP library: its refusal would come only once connected,
    looking like a connection error worth retrying.
    """
    headers = given.text_map("headers")
    for name, value in headers.items():
        if not _HEADER_NAME.fullmatch(name):
            raise given.invalid("headers", f"holds {name!r}, which is not a header name")
        if any(character in value for character in "\r\n\0"):
            raise given.invalid("headers", f"holds a line break in the value of {name!r}")
        if not value.isascii():
            raise given.invalid("headers", f"holds letters HTTP cannot carry (non-ASCII) in {name!r}")
    return headers


def _check_url(url: str, policy: EgressPolicy, *, given: Arguments) -> None:
    problem = _url_problem(url, policy)
    if problem is not None:
        code, message = problem
        if code == "bad_arguments":
            raise given.invalid("url", message)
        raise ActivityError(code, message, retryable=False)


def _url_problem(url: str, policy: EgressPolicy) -> tuple[str, str] | None:
    """(code, message) for a URL that may not be requested, checked without connecting."""
    try:
        parsed = httpx2.URL(url)
    except (httpx2.InvalidURL, TypeError, ValueError):
        return "bad_arguments", f"is not a valid URL: {url!r}"
    if parsed.scheme not in ("http", "https"):
        return "bad_arguments", f"must be an http:// or https:// URL, not {url!r}"
    if not parsed.raw_host:
        return "bad_arguments", f"has no host name: {url!r}"
    if parsed.userinfo:
        return "bad_arguments", "must not hold a user name or password; send credentials in `headers`"
    # What is left for the policy: a literal internal address or an internal name.
    refusal = url_problem(url, policy=policy)
    if refusal is not None:
        return "refused_address", refusal
    return None


def _refused(reason: str) -> ActivityError:
    return ActivityError("refused_address", f"{reason}.", retryable=False)


def _too_large(response: httpx2.Response, max_bytes: int) -> ActivityError:
    return ActivityError(
        "too_large",
        f"The response from {_host(str(response.url))} is larger than {max_bytes:,} bytes (max_bytes).",
        retryable=False,
    )


def _host(url: str) -> str:
    try:
        return httpx2.URL(url).host or url
    except (httpx2.InvalidURL, TypeError, ValueError):
        return url


HTTP_REQUEST = BuiltinSpec(
    name="http.request",
    run=http_request,
    summary="Calls a URL on the public internet and returns its answer; internal addresses are refused.",
    arguments=ARGUMENTS,
    returns=(
        "status, headers (names lower-cased), json when the answer is JSON or else text, and the "
        "final url after redirects. An HTTP error status is returned, not raised."
    ),
)
