"""Which addresses a fetch may connect to: checked when the connection is made, on the address connected to.

The guard resolves the host itself, checks every address the name resolves to, and connects to a checked
address, so a name that resolves to a public address when a URL is checked and to 127.0.0.1 a moment later
(DNS rebinding) reaches nothing it should not. Numeric hosts in every form a resolver accepts (2130706433,
127.1, 0x7f.0.0.1, 0177.0.0.1, ::ffff:127.0.0.1) are read as the address they name, never sent to DNS.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Iterable
from typing import Literal

import httpcore

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolve = Callable[[str, int], Awaitable[list[str]]]
Refusal = Literal["unspecified", "multicast", "link-local", "reserved", "loopback", "private"]

# Reached only where the sources file says `allow_private: true` (an operator's own intranet). The others never:
# link-local holds the cloud metadata service (169.254.169.254), and nothing is served at the rest.
PRIVATE_KINDS: frozenset[Refusal] = frozenset({"loopback", "private"})
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


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


async def system_resolve(host: str, port: int) -> list[str]:
    """The addresses the system resolver gives for a host name, in its order, each once."""
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as error:
        raise httpcore.ConnectError(f"cannot resolve {host}: {error.strerror}") from None
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


class AddressGuard(httpcore.AsyncNetworkBackend):
    """httpcore's network backend, refusing addresses a fetch may not reach before any packet is sent."""

    def __init__(
        self,
        *,
        allow_private: bool,
        resolve: Resolve = system_resolve,
        inner: httpcore.AsyncNetworkBackend | None = None,
    ) -> None:
        self._allow_private = allow_private
        self._resolve = resolve
        self._inner = inner or httpcore.AnyIOBackend()

    async def checked_addresses(self, host: str, port: int) -> list[IPAddress]:
        """Every address of the host, each allowed; raises AddressRefused naming the first that is not."""
        try:
            literal = literal_address(host)
        except InvalidNumericHost as error:
            raise httpcore.ConnectError(str(error)) from None
        addresses = [literal] if literal is not None else _addresses(await self._resolve(host, port))
        for address in addresses:
            kind = refusal(address, self._allow_private)
            if kind is not None:
                raise AddressRefused(host, address, kind)
        if not addresses:
            raise httpcore.ConnectError(f"cannot resolve {host}: no address")
        return addresses

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        """Connect to the first checked address that answers (TLS still checks the host name)."""
        error: Exception | None = None
        for address in await self.checked_addresses(host, port):
            try:
                return await self._inner.connect_tcp(
                    str(address), port, timeout=timeout, local_address=local_address, socket_options=socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as failed:
                error = failed
        assert error is not None
        raise error

    async def sleep(self, seconds: float) -> None:
        """As the inner backend sleeps."""
        await self._inner.sleep(seconds)


def _addresses(found: Iterable[str]) -> list[IPAddress]:
    """Resolved address strings as addresses (an IPv6 zone such as %eth0 is kept by ipaddress)."""
    return [ipaddress.ip_address(text) for text in found]
