"""Which addresses a fetch may connect to: checked when the connection is made, on the address connected to.

The guard is the connector's resolver: it resolves the host itself, checks every address the name resolves to,
and hands the connector only checked addresses to dial, so a name that resolves to a public address when a URL
is checked and to 127.0.0.1 a moment later (DNS rebinding) reaches nothing it should not. Numeric hosts in every
form a resolver accepts (2130706433, 127.1, 0x7f.0.0.1, 0177.0.0.1, ::ffff:127.0.0.1) are read as the address
they name, never sent to DNS.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Iterable
from typing import Literal

from jobs.http_client import aiohttp

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolve = Callable[[str, int], Awaitable[list[str]]]
Route = Callable[[str, int], tuple[str, int]]  # a checked address and port → where the connection is dialled
Refusal = Literal["unspecified", "multicast", "link-local", "reserved", "loopback", "private"]

# Reached only where the sources file says `allow_private: true` (an operator's own intranet). The others never:
# link-local holds the cloud metadata service (169.254.169.254), and nothing is served at the rest.
PRIVATE_KINDS: frozenset[Refusal] = frozenset({"loopback", "private"})
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_DIGITS_AND_DOTS = frozenset("0123456789.")


class AddressRefused(Exception):
    """A connection to an address the fetch may not reach; the message names the host and the address."""

    def __init__(self, host: str, address: IPAddress, kind: Refusal) -> None:
        named = str(address) if host == str(address) else f"{address} (the address of {host})"
        hint = "; `allow_private: true` on the source allows it" if kind in PRIVATE_KINDS else ""
        super().__init__(f"refused to connect to {named}: a {kind} address{hint}")
        self.address = address
        self.kind = kind


class InvalidNumericHost(ValueError):
    """A host made only of numbers that is no address (999.1): never handed to a resolver."""


def refusal(address: IPAddress, allow_private: bool) -> Refusal | None:
    """Why a fetch may not connect to this address, or None when it may."""
    kind = address_kind(address)
    if kind is None or (allow_private and kind in PRIVATE_KINDS):
        return None
    return kind


def address_kind(address: IPAddress) -> Refusal | None:
    """The kind of a non-public address (an IPv4 address inside IPv6 counts as itself); None for public ones."""
    address = embedded_ipv4(address) or address
    if address.is_unspecified or (address.version == 4 and address.packed[0] == 0):
        return "unspecified"
    if address.is_multicast:
        return "multicast"
    if address.is_link_local:
        return "link-local"
    if address.is_loopback:
        return "loopback"
    if address.is_reserved:
        return "reserved"
    if address.is_private or not address.is_global:
        return "private"
    return None


def embedded_ipv4(address: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address carries: mapped (::ffff:a.b.c.d), 6to4, or NAT64 (64:ff9b::a.b.c.d)."""
    if address.version == 4:
        return None
    assert isinstance(address, ipaddress.IPv6Address)
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def literal_address(host: str) -> IPAddress | None:
    """The address a numeric host names, in any form inet_aton reads; None for a name; raises for 999.1."""
    host = host.removeprefix("[").removesuffix("]")
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    parts = host.removesuffix(".").split(".")
    numbers = [_inet_number(part) for part in parts]
    if not parts or any(number is None for number in numbers):
        if host and set(host) <= _DIGITS_AND_DOTS:  # 127..1, .1, 127.0.0.1..: no name, and no address either
            raise InvalidNumericHost(f"{host} is not an IP address")
        return None
    return _ipv4_from_parts([number for number in numbers if number is not None], host)


def _inet_number(part: str) -> int | None:
    """One part of a numeric IPv4 host: decimal, 0-prefixed octal or 0x-prefixed hexadecimal."""
    lowered = part.lower()
    try:
        if lowered.startswith("0x"):
            return int(lowered[2:] or "0", 16)
        if len(lowered) > 1 and lowered.startswith("0"):
            return int(lowered, 8)
        return int(lowered, 10) if lowered.isascii() and lowered.isdecimal() else None
    except ValueError:
        return None


def _ipv4_from_parts(numbers: list[int], host: str) -> ipaddress.IPv4Address:
    """a, a.b, a.b.c or a.b.c.d as inet_aton reads them: the last part fills the remaining bytes."""
    *leading, last = numbers
    if len(numbers) > 4 or any(number > 255 for number in leading) or last >= 256 ** (4 - len(leading)):
        raise InvalidNumericHost(f"{host} is not an IP address")
    value = 0
    for number in leading:
        value = value << 8 | number
    return ipaddress.IPv4Address(value << 8 * (4 - len(leading)) | last)


class CannotResolve(OSError):
    """A host name with no address (or a resolver that failed): another try may help."""


async def system_resolve(host: str, port: int) -> list[str]:
    """The addresses the system resolver gives for a host name, in its order, each once."""
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as error:
        raise CannotResolve(f"cannot resolve {host}: {error.strerror}") from None
    except UnicodeError as error:  # a name IDNA cannot encode (an empty label, a label over 63 characters)
        raise CannotResolve(f"cannot resolve {host}: not a host name ({error})") from None
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def same_address(address: str, port: int) -> tuple[str, int]:
    """Where a checked address is dialled: at itself."""
    return address, port


_ALLOWED_HOSTS_KEPT = 4096


class AddressGuard(aiohttp.abc.AbstractResolver):
    """aiohttp's resolver, refusing the addresses a fetch may not reach before any packet is sent.

    The connector dials exactly the addresses this returns (no second lookup), so the address checked is the
    address connected to. Numeric hosts never reach a resolver: the fetcher checks them with `checked_literal`.
    """

    def __init__(self, *, allow_private: bool, resolve: Resolve = system_resolve, route: Route = same_address) -> None:
        self._allow_private = allow_private
        self._resolve = resolve
        self._route = route  # the identity; tests forward a stand-in public address to a loopback server
        # Hosts already allowed, with the address each names: every request asks, and reading and checking an
        # address anew cost a check of 1,000 sources ~10 ms. Bounded: a feed's redirects choose the hosts.
        self._allowed: dict[str, IPAddress | None] = {}

    def checked_literal(self, host: str) -> IPAddress | None:
        """The address a numeric host names, if allowed (None for a name); raises AddressRefused, or
        InvalidNumericHost for numbers that are no address."""
        if host in self._allowed:
            return self._allowed[host]
        literal = literal_address(host)
        if literal is not None:
            self._check(host, [literal])
        if len(self._allowed) >= _ALLOWED_HOSTS_KEPT:
            self._allowed.clear()
        self._allowed[host] = literal
        return literal

    async def checked_addresses(self, host: str, port: int) -> list[IPAddress]:
        """Every address of the host, each allowed; raises AddressRefused naming the first that is not."""
        try:
            literal = literal_address(host)
        except InvalidNumericHost as error:
            raise CannotResolve(str(error)) from None
        addresses = [literal] if literal is not None else _addresses(await self._resolve(host, port))
        self._check(host, addresses)
        if not addresses:
            raise CannotResolve(f"cannot resolve {host}: no address")
        return addresses

    def _check(self, host: str, addresses: Iterable[IPAddress]) -> None:
        for address in addresses:
            kind = refusal(address, self._allow_private)
            if kind is not None:
                raise AddressRefused(host, address, kind)

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[aiohttp.abc.ResolveResult]:
        """The checked addresses of a host name, as the connector dials them (TLS still checks the host name)."""
        results: list[aiohttp.abc.ResolveResult] = []
        for address in await self.checked_addresses(host, port):
            dialled, dialled_port = self._route(str(address), port)
            version = ipaddress.ip_address(dialled.split("%")[0]).version
            results.append({
                "hostname": host, "host": dialled, "port": dialled_port,
                "family": socket.AF_INET6 if version == 6 else socket.AF_INET, "proto": 0, "flags": 0,
            })  # fmt: skip
        return results

    async def close(self) -> None:
        """Nothing to release: lookups go through the event loop."""


def _addresses(found: Iterable[str]) -> list[IPAddress]:
    """Resolved address strings as addresses (an IPv6 zone such as %eth0 is kept by ipaddress)."""
    return [ipaddress.ip_address(text) for text in found]
