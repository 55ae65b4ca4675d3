"""Which range an IP address is in, and the address a host spelled as a number denotes.

No connection and no DNS: pure address arithmetic.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from enum import StrEnum

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class AddressCategory(StrEnum):
    PUBLIC = "public"
    LOOPBACK = "loopback"
    PRIVATE = "private"
    SHARED = "shared"  # carrier-grade NAT, RFC 6598
    LINK_LOCAL = "link_local"
    UNIQUE_LOCAL = "unique_local"
    MULTICAST = "multicast"
    UNSPECIFIED = "unspecified"
    RESERVED = "reserved"

    @property
    def label(self) -> str:
        return {
            AddressCategory.SHARED: "shared (carrier-grade NAT)",
            AddressCategory.LINK_LOCAL: "link-local (cloud metadata)",
            AddressCategory.UNIQUE_LOCAL: "unique local (private IPv6)",
        }.get(self, self.value)


def _table(*rows: tuple[str, AddressCategory]) -> tuple[tuple[IPNetwork, AddressCategory], ...]:
    return tuple((ipaddress.ip_network(network), category) for network, category in rows)


IPV4_RANGES = _table(
    ("0.0.0.0/8", AddressCategory.UNSPECIFIED),  # "this network": Linux connects 0.0.0.0 to the local host
    ("127.0.0.0/8", AddressCategory.LOOPBACK),
    ("10.0.0.0/8", AddressCategory.PRIVATE),
    ("172.16.0.0/12", AddressCategory.PRIVATE),
    ("192.168.0.0/16", AddressCategory.PRIVATE),
    ("100.64.0.0/10", AddressCategory.SHARED),
    ("169.254.0.0/16", AddressCategory.LINK_LOCAL),
    ("192.0.0.0/24", AddressCategory.RESERVED),  # IETF protocol assignments
    ("192.0.2.0/24", AddressCategory.RESERVED),  # documentation
    ("198.51.100.0/24", AddressCategory.RESERVED),
    ("203.0.113.0/24", AddressCategory.RESERVED),
    ("192.88.99.0/24", AddressCategory.RESERVED),  # 6to4 relay anycast
    ("198.18.0.0/15", AddressCategory.RESERVED),  # benchmarking
    ("224.0.0.0/4", AddressCategory.MULTICAST),
    ("240.0.0.0/4", AddressCategory.RESERVED),  # with 255.255.255.255, the broadcast address
)
IPV6_RANGES = _table(
    ("::/128", AddressCategory.UNSPECIFIED),
    ("::1/128", AddressCategory.LOOPBACK),
    ("::/96", AddressCategory.RESERVED),  # IPv4-compatible, deprecated
    ("::ffff:0:0:0/96", AddressCategory.RESERVED),  # IPv4-translated (SIIT)
    ("64:ff9b:1::/48", AddressCategory.RESERVED),  # local-use NAT64
    ("100::/64", AddressCategory.RESERVED),  # discard-only
    ("2001::/23", AddressCategory.RESERVED),  # IETF protocol assignments, Teredo among them
    ("2001:db8::/32", AddressCategory.RESERVED),  # documentation
    ("3fff::/20", AddressCategory.RESERVED),
    ("5f00::/16", AddressCategory.RESERVED),  # segment routing
    ("fc00::/7", AddressCategory.UNIQUE_LOCAL),
    ("fe80::/10", AddressCategory.LINK_LOCAL),
    ("fec0::/10", AddressCategory.RESERVED),  # site-local, deprecated
    ("ff00::/8", AddressCategory.MULTICAST),
)
GLOBAL_UNICAST_V6 = ipaddress.IPv6Network("2000::/3")
NAT64 = ipaddress.IPv6Network("64:ff9b::/96")

_LEGACY_IPV4 = re.compile(r"^(0x[0-9a-f]*|[0-9]+)(\.(0x[0-9a-f]*|[0-9]+)){0,3}$")


def embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address carries and reaches: mapped, NAT64 or 6to4."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return address.sixtofour


def classify(address: IPAddress | str) -> AddressCategory:
    """The range an address is in; only PUBLIC may be reached without an allowlist entry."""
    ip = ipaddress.ip_address(address) if isinstance(address, str) else address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.scope_id:  # a zone (fe80::1%eth0) only means something on one link
            return AddressCategory.LINK_LOCAL
        inner = embedded_ipv4(ip)
        if inner is not None:
            return classify(inner)
        ranges = IPV6_RANGES
    else:
        ranges = IPV4_RANGES
    for network, category in ranges:
        if ip in network:
            return category
    if isinstance(ip, ipaddress.IPv6Address) and ip not in GLOBAL_UNICAST_V6:
        return AddressCategory.RESERVED  # all of IPv6 outside 2000::/3 is unassigned
    return AddressCategory.PUBLIC if ip.is_global else AddressCategory.RESERVED


def literal_address(host: str) -> IPAddress | None:
    """The address a URL's host denotes by itself, in any spelling a resolver accepts.

    Besides dotted quads and IPv6, getaddrinfo reads 2130706433, 0x7f.1 and 017700000001
    as 127.0.0.1 (inet_aton's legacy forms), without asking DNS.
    """
    host = host.strip("[]")
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    if _LEGACY_IPV4.match(host.lower()):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return None
    return None
