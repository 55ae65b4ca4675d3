"""The egress policy: public addresses, plus the operators' allowlist (EGRESS_ALLOWED_HOSTS);
and the check of a URL as a tenant types it."""

from __future__ import annotations

import functools
import ipaddress
import re
from collections.abc import Sequence
from dataclasses import dataclass

import httpx2
from django.conf import settings
from django.core.exceptions import ValidationError

from core.egress.addresses import (
    AddressCategory,
    IPAddress,
    IPNetwork,
    classify,
    embedded_ipv4,
    literal_address,
)

# Names that never mean a public host: RFC 6761 / 6762 / 8375 special-use, ICANN's private
# `.internal` (GCP's metadata.google.internal), and single-label names (Docker and
# Kubernetes service names: redis, postgres, metadata).
SPECIAL_NAMES = ("localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback")
SPECIAL_SUFFIXES = (".localhost", ".local", ".internal", ".home.arpa", ".localdomain")
_NAME_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")


@dataclass(frozen=True)
class AllowedHost:
    """One EGRESS_ALLOWED_HOSTS entry: a host name (or *.domain) or a network, on a port or all."""

    name: str = ""
    network: IPNetwork | None = None
    port: int | None = None

    def allows_name(self, host: str, port: int) -> bool:
        if not self.name or self.port not in (None, port):
            return False
        host = _normal_name(host)
        if self.name.startswith("*."):
            return host.endswith(self.name[1:])
        return host == self.name

    def allows_address(self, address: IPAddress, port: int) -> bool:
        if self.network is None or self.port not in (None, port):
            return False
        forms: list[IPAddress] = [address]
        if isinstance(address, ipaddress.IPv6Address) and (inner := embedded_ipv4(address)) is not None:
            forms.append(inner)
        return any(form.version == self.network.version and form in self.network for form in forms)


def parse_allowed_host(entry: str) -> AllowedHost:
    """One allowlist entry; ValueError with the reason when it is not one.

    Forms: `vllm.internal` (a name, any port), `vllm.internal:8000`, `*.corp.example` (its
    subdomains), `10.0.0.5`, `10.0.0.5:8000`, `10.0.0.0/24`, `10.0.0.0/24:8000`, `fd00::5`,
    `[fd00::5]:8000`, `fd00::/8`, `[fd00::/8]:8000`. A name is trusted whatever it resolves
    to; an address or network is matched against the addresses a host resolves to.
    """
    text = entry.strip().lower()
    host, port_text = text, ""
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        if rest and not rest.startswith(":"):
            raise ValueError(f"{entry!r}: expected [IPv6]:port")
        port_text = rest[1:]
    elif text.count(":") == 1:
        host, _, port_text = text.partition(":")
    port = None
    if port_text or text.endswith(":"):
        if not port_text.isdigit() or not 0 < int(port_text) < 65536:
            raise ValueError(f"{entry!r}: the port must be a number from 1 to 65535")
        port = int(port_text)
    try:
        return AllowedHost(network=ipaddress.ip_network(host, strict=False), port=port)
    except ValueError:
        pass
    name = host.removeprefix("*.")
    if "/" in host or not name or not all(_NAME_LABEL.match(label) for label in name.split(".")):
        raise ValueError(f"{entry!r} is neither a host name, an IP address nor a network")
    return AllowedHost(name=_normal_name(host), port=port)


@functools.lru_cache(maxsize=8)
def _parsed(entries: tuple[str, ...]) -> tuple[AllowedHost, ...]:
    return tuple(parse_allowed_host(entry) for entry in entries)


def _spelled(address: IPAddress) -> str:
    embedded = embedded_ipv4(address) if isinstance(address, ipaddress.IPv6Address) else None
    return f"{address} (which embeds {embedded})" if embedded is not None else str(address)


def _is_ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def _normal_name(host: str) -> str:
    return host.lower().rstrip(".")


class EgressRefused(Exception):
    """The egress policy refused a connection; `reason` says why, naming host and address."""

    def __init__(self, reason: str, *, host: str = "", port: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.host = host
        self.port = port


@dataclass(frozen=True)
class EgressPolicy:
    """Public addresses, plus what the allowlist names."""

    allowed: tuple[AllowedHost, ...] = ()

    @classmethod
    def from_settings(cls) -> EgressPolicy:
        """The policy of EGRESS_ALLOWED_HOSTS as it is now (tests may change it)."""
        return cls(_parsed(tuple(getattr(settings, "EGRESS_ALLOWED_HOSTS", ()))))

    def allows_name(self, host: str, port: int) -> bool:
        return any(entry.allows_name(host, port) for entry in self.allowed)

    def address_refusal(self, address: IPAddress, port: int) -> str | None:
        """What makes address:port refused ("a loopback address"), or None when it is allowed."""
        category = classify(address)
        if category is AddressCategory.PUBLIC or any(e.allows_address(address, port) for e in self.allowed):
            return None
        return f"a {category.label} address"

    def check(self, host: str, port: int, addresses: Sequence[IPAddress]) -> None:
        """Raise EgressRefused unless EVERY address `host` resolved to may be reached."""
        if not addresses:
            raise EgressRefused(f"{host} resolved to no address", host=host, port=port)
        for address in addresses:
            refusal = self.address_refusal(address, port)
            if refusal is not None:
                spelled = _spelled(address)
                named = f"{spelled} is" if _is_ip_literal(host) else f"{host} resolves to {spelled},"
                raise EgressRefused(
                    f"{named} {refusal}; internal addresses may not be reached", host=host, port=port
                )


def url_problem(url: str, *, policy: EgressPolicy | None = None) -> str | None:
    """What makes a URL unfit for outbound calls a tenant steers, or None.

    Checks what the URL says by itself, without DNS: names are resolved, and checked again,
    at connect time.
    """
    try:
        parsed = httpx2.URL(url)
    except (httpx2.InvalidURL, TypeError, ValueError):
        return "Enter a valid URL."
    if parsed.scheme not in ("http", "https"):
        return "Use an http:// or https:// URL."
    if parsed.userinfo:
        return "Remove the user name and password from the URL; the API key has its own field."
    # The name as the client will look it up: IDNA-encoded, as ASCII.
    host = parsed.raw_host.decode("ascii")
    if not host:
        return "The URL has no host name."
    if policy is None:
        policy = EgressPolicy.from_settings()
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    if policy.allows_name(host, port):
        return None
    address = literal_address(host)
    if address is not None:
        refusal = policy.address_refusal(address, port)
        if refusal is None:
            return None
        named = f"{_spelled(address)} is" if _is_ip_literal(host) else f"{host} means {_spelled(address)},"
        return f"{named} {refusal}: only public addresses may be reached."
    name = _normal_name(host)
    if name in SPECIAL_NAMES or name.endswith(SPECIAL_SUFFIXES):
        return f"{host} names an internal host: only public addresses may be reached."
    if "." not in name:
        return f"{host} is not a public host name (use its full domain name)."
    return None


def validate_outbound_url(value: str) -> None:
    """Form validator: a URL fit for outbound calls a tenant steers (see `url_problem`)."""
    problem = url_problem(value)
    if problem is not None:
        raise ValidationError(problem, code="egress")
