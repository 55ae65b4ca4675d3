"""The egress guard: outbound HTTP that a tenant steers may only reach the public internet.

A URL a tenant types (a provider's base URL, later a workflow's HTTP request) must not
become a way into the platform's own network: loopback services, the cloud metadata
endpoint (169.254.169.254), private ranges, and their IPv6 and IPv4-embedding spellings
(`::ffff:127.0.0.1`, NAT64, 6to4). Three layers, one policy:

- `classify` names the range an address is in, without making any connection;
- `url_problem` / `validate_outbound_url` check a URL as typed, for forms: scheme, no
  user:password, a host, and a literal address or special-use name (`localhost`, `*.local`,
  single-label names) that is refused;
- `guarded_async_client` is an httpx client whose connections resolve the host once, refuse
  the connection if ANY address it resolves to is refused, and connect to the address that
  was checked (TLS still verifies, and SNI still names, the host name), so DNS rebinding
  between check and connect gets nowhere. Redirects are refused, not followed.

Operators let specific internal hosts through with the setting EGRESS_ALLOWED_HOSTS, a list
of entries (`parse_allowed_host` documents the forms). Platform providers configured from the
environment are trusted and do not go through here.
"""

from core.egress.addresses import AddressCategory, classify, embedded_ipv4, literal_address
from core.egress.policy import (
    AllowedHost,
    EgressPolicy,
    EgressRefused,
    parse_allowed_host,
    url_problem,
    validate_outbound_url,
)
from core.egress.transport import (
    GuardedNetworkBackend,
    GuardedTransport,
    guarded_async_client,
    refusal_in,
    system_resolver,
)

__all__ = [
    "AddressCategory",
    "AllowedHost",
    "EgressPolicy",
    "EgressRefused",
    "GuardedNetworkBackend",
    "GuardedTransport",
    "classify",
    "embedded_ipv4",
    "guarded_async_client",
    "literal_address",
    "parse_allowed_host",
    "refusal_in",
    "system_resolver",
    "url_problem",
    "validate_outbound_url",
]
