"""No private fetches: the fetcher reaches loopback, private and link-local addresses only where allowed.

No test here sends anything to a private, link-local or public address: names resolve through a fake resolver,
and a fake route dials the one public address the tests use at a loopback server (and records every dial).
"""

from __future__ import annotations

import ipaddress

import pytest
from yarl import URL

from jobs.address_guard import AddressGuard, AddressRefused, address_kind, literal_address
from jobs.fetch import Fetcher, FetchFailure, FetchLimits, redirect_target
from tests.loopback import LoopbackServer, Response, redirect

LIMITS = FetchLimits(connect_timeout=1.0, read_timeout=1.0, total_timeout=3.0, attempts=2, backoff_base=0.01)
RSS = '<?xml version="1.0"?><rss version="2.0"><channel><title>t</title></channel></rss>'
PUBLIC = "93.184.215.14"  # stands for a public feed; the fake network forwards it to a loopback server


class FakeResolver:
    """DNS as the test says it is; records every name asked for."""

    def __init__(self, answers: dict[str, list[str]]) -> None:
        self.answers = answers
        self.asked: list[str] = []

    async def __call__(self, host: str, port: int) -> list[str]:
        self.asked.append(host)
        return self.answers[host]


class FakeRoute:
    """Where the guard's checked addresses are dialled: loopback as it is, PUBLIC at a loopback port; records every
    dial, and fails the test on any other address."""

    def __init__(self, forward_port: int | None = None) -> None:
        self.forward_port = forward_port
        self.attempts: list[tuple[str, int]] = []

    def __call__(self, address: str, port: int) -> tuple[str, int]:
        self.attempts.append((address, port))
        if address == PUBLIC and self.forward_port is not None:
            return "127.0.0.1", self.forward_port
        if ipaddress.ip_address(address).is_loopback:
            return address, port
        raise AssertionError(f"a test tried to connect to {address}")


# --- redirects ----------------------------------------------------------------------------------------------


async def test_a_public_feed_redirecting_to_loopback_is_refused_before_connecting() -> None:
    async with LoopbackServer({"/secret": Response(200, "internal only")}) as internal:
        port = internal.base_url.rsplit(":", 1)[1]
        routes = {"/feed": redirect(f"http://127.0.0.1:{port}/secret")}
        async with LoopbackServer(routes) as public:
            network = FakeRoute(forward_port=int(public.base_url.rsplit(":", 1)[1]))
            resolver = FakeResolver({"feeds.example": [PUBLIC]})
            async with Fetcher(LIMITS, resolve=resolver, route=network) as fetcher:
                result = await fetcher.fetch("http://feeds.example/feed")
    assert result.outcome == "failed"
    assert result.error == (
        "refused to connect to 127.0.0.1: a loopback address; `allow_private: true` on the source allows it"
    )
    assert result.final_url == f"http://127.0.0.1:{port}/secret"
    assert (len(public.requests), internal.connections) == (1, 0)
    assert network.attempts == [(PUBLIC, 80)]


async def test_an_allowed_loopback_feed_redirecting_to_another_loopback_port_is_followed() -> None:
    async with LoopbackServer({"/feed": Response(200, RSS)}) as target:
        routes = {"/old": redirect(target.url("/feed"), 301)}
        async with LoopbackServer(routes) as first, Fetcher(LIMITS) as fetcher:
            allowed = await fetcher.fetch(first.url("/old"), allow_private=True)
            refused = await fetcher.fetch(first.url("/old"))
    assert (allowed.outcome, allowed.final_url, allowed.text) == ("fetched", target.url("/feed"), RSS)
    assert refused.outcome == "failed" and refused.error is not None
    assert refused.error.startswith("refused to connect to 127.0.0.1: a loopback address")
    assert (len(first.requests), len(target.requests)) == (1, 1)  # the refused fetch reached neither


async def test_a_redirect_to_a_name_of_a_private_address_is_refused_without_connecting() -> None:
    routes = {"/feed": redirect("http://intranet.example/admin")}
    async with LoopbackServer(routes) as public:
        network = FakeRoute(forward_port=int(public.base_url.rsplit(":", 1)[1]))
        resolver = FakeResolver({"feeds.example": [PUBLIC], "intranet.example": [PUBLIC, "10.0.0.7"]})
        async with Fetcher(LIMITS, resolve=resolver, route=network) as fetcher:
            result = await fetcher.fetch("http://feeds.example/feed")
    assert result.error == (
        "refused to connect to 10.0.0.7 (the address of intranet.example): a private address; "
        "`allow_private: true` on the source allows it"
    )
    assert network.attempts == [(PUBLIC, 80)]  # one address of the name was private: none of them is tried
    assert resolver.asked == ["feeds.example", "intranet.example"]


@pytest.mark.parametrize(
    ("location", "reason"),
    [
        ("http://feeds.example.com/plain", "redirect from https to http refused: http://feeds.example.com/plain"),
        ("file:///etc/passwd", "redirect to a non-http(s) URL refused: file:///etc/passwd"),
    ],
)
def test_refused_redirects(location: str, reason: str) -> None:
    with pytest.raises(FetchFailure) as refused:
        redirect_target(URL("https://feeds.example.com/feed"), 302, location)
    assert refused.value.reason == reason


@pytest.mark.parametrize("location", ["http://xn--/feed", "https://feeds.xn--a/feed"])
async def test_a_redirect_to_a_host_that_is_no_name_fails_the_fetch(location: str) -> None:
    async with LoopbackServer({"/feed": redirect(location)}) as server, Fetcher(LIMITS) as fetcher:
        result = await fetcher.fetch(server.url("/feed"), allow_private=True)
    assert result.outcome == "failed" and result.error is not None
    assert result.error.startswith("redirect to an invalid URL: ")
    assert len(server.requests) == 1


@pytest.mark.parametrize("host", ["feeds..example", "x" * 64 + ".example"])
async def test_a_redirect_to_a_name_no_resolver_can_look_up_fails_the_fetch(host: str) -> None:
    # The system resolver: the name fails IDNA encoding (an empty label, one over 63 characters) before any lookup.
    async with LoopbackServer({"/feed": redirect(f"http://{host}/feed")}) as server, Fetcher(LIMITS) as fetcher:
        result = await fetcher.fetch(server.url("/feed"), allow_private=True)
    assert result.outcome == "failed" and result.error is not None
    assert result.error.startswith(f"cannot connect: cannot resolve {host}: ")
    assert result.final_url == f"http://{host}/feed"


def test_https_to_https_and_relative_redirects_are_followed() -> None:
    here = URL("https://feeds.example.com/news/feed")
    assert redirect_target(here, 301, "https://mirror.example.com/feed2") == URL("https://mirror.example.com/feed2")
    assert redirect_target(here, 308, "../feed2") == URL("https://feeds.example.com/feed2")
    assert redirect_target(here, 200, "https://mirror.example.com/feed2") is None  # not a redirect status


async def test_redirects_are_counted_by_the_fetcher() -> None:
    routes = {f"/{n}": redirect(f"/{n + 1}") for n in range(10)}
    async with LoopbackServer(routes) as server, Fetcher(LIMITS) as fetcher:
        result = await fetcher.fetch(server.url("/0"), allow_private=True)
    assert (result.outcome, result.error) == ("failed", "too many redirects")
    assert len(server.requests) == LIMITS.max_redirects + 1


# --- what one fetch could carry to another --------------------------------------------------------------


async def test_a_proxy_named_in_the_environment_is_not_used(monkeypatch: pytest.MonkeyPatch) -> None:
    # A proxy would make the connections the guard checks: to the proxy, not to the address fetched.
    async with LoopbackServer({}) as proxy, LoopbackServer({"/feed": Response(200, RSS)}) as server:
        for name in ("HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"):
            monkeypatch.setenv(name, proxy.base_url)
        for name in ("NO_PROXY", "no_proxy"):
            monkeypatch.delenv(name, raising=False)
        async with Fetcher(LIMITS) as fetcher:
            result = await fetcher.fetch(server.url("/feed"), allow_private=True)
    assert (result.outcome, proxy.connections, len(server.requests)) == ("fetched", 0, 1)


async def test_a_cookie_set_by_one_source_is_not_sent_to_another() -> None:
    routes = {"/a": Response(200, RSS, {"Set-Cookie": "session=one-source; Path=/"}), "/b": Response(200, RSS)}
    async with LoopbackServer(routes) as server, Fetcher(LIMITS) as fetcher:
        await fetcher.fetch(server.url("/a"), allow_private=True)
        await fetcher.fetch(server.url("/b"), allow_private=True)
    assert "cookie" not in server.requests_to("/b")[0].headers


# --- numeric forms of loopback ------------------------------------------------------------------------------


@pytest.mark.parametrize("host", ["2130706433", "127.1", "0x7f.0.0.1", "0177.1", "017700000001", "[::ffff:127.0.0.1]"])
async def test_numeric_forms_of_loopback_are_refused_before_any_connection(host: str) -> None:
    resolver, network = FakeResolver({}), FakeRoute()
    async with LoopbackServer({"/feed": Response(200, RSS)}) as server:
        port = server.base_url.rsplit(":", 1)[1]
        async with Fetcher(LIMITS, resolve=resolver, route=network) as fetcher:
            result = await fetcher.fetch(f"http://{host}:{port}/feed")
    assert result.outcome == "failed" and result.error is not None
    assert result.error.startswith(f"refused to connect to {literal_address(host)}")
    assert "a loopback address" in result.error
    assert (server.connections, network.attempts, resolver.asked) == (0, [], [])


@pytest.mark.parametrize("host", ["127..1", ".1", "127.0.0.1.."])
async def test_digits_and_dots_that_are_no_address_are_never_resolved_nor_connected(host: str) -> None:
    resolver, network = FakeResolver({}), FakeRoute()
    async with LoopbackServer({"/feed": Response(200, RSS)}) as server:
        port = server.base_url.rsplit(":", 1)[1]
        async with Fetcher(LIMITS, resolve=resolver, route=network) as fetcher:
            result = await fetcher.fetch(f"http://{host}:{port}/feed", allow_private=True)
    assert (result.outcome, result.error) == ("failed", f"invalid URL: {host} is not an IP address")
    assert (server.connections, network.attempts, resolver.asked) == (0, [], [])


async def test_a_numeric_host_is_connected_to_as_the_address_it_names_when_allowed() -> None:
    resolver = FakeResolver({})
    async with LoopbackServer({"/feed": Response(200, RSS)}) as server:
        port = int(server.base_url.rsplit(":", 1)[1])
        async with Fetcher(LIMITS, resolve=resolver) as fetcher:
            result = await fetcher.fetch(f"http://2130706433:{port}/feed", allow_private=True)
    assert result.outcome == "fetched"
    assert server.requests[0].headers["host"] == f"127.0.0.1:{port}"  # asked of the address it names
    assert resolver.asked == []  # never a name to look up


async def test_a_name_is_connected_to_at_the_address_that_was_checked() -> None:
    resolver, network = FakeResolver({"feed.example": ["127.0.0.1"]}), FakeRoute()
    async with LoopbackServer({"/feed": Response(200, RSS)}) as server:
        port = int(server.base_url.rsplit(":", 1)[1])
        async with Fetcher(LIMITS, resolve=resolver, route=network) as fetcher:
            refused = await fetcher.fetch(f"http://feed.example:{port}/feed")
            allowed = await fetcher.fetch(f"http://feed.example:{port}/feed", allow_private=True)
    assert refused.error is not None and "127.0.0.1 (the address of feed.example): a loopback" in refused.error
    assert allowed.outcome == "fetched"
    assert network.attempts == [("127.0.0.1", port)]  # once, for the allowed fetch, at the checked address
    assert server.requests[0].headers["host"] == f"feed.example:{port}"


# --- the guard itself ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("127.0.0.1", "loopback"), ("::1", "loopback"), ("::ffff:127.0.0.1", "loopback"),
        ("10.1.2.3", "private"), ("172.16.0.1", "private"), ("192.168.1.1", "private"), ("fd00::1", "private"),
        ("100.64.0.1", "private"), ("169.254.169.254", "link-local"), ("fe80::1", "link-local"),
        ("::ffff:169.254.169.254", "link-local"), ("224.0.0.251", "multicast"), ("ff02::1", "multicast"),
        ("0.0.0.0", "unspecified"), ("0.1.2.3", "unspecified"), ("::", "unspecified"), ("240.0.0.1", "reserved"),
        ("255.255.255.255", "reserved"), ("64:ff9b::a00:1", "private"), ("2002:7f00:1::", "loopback"),
        ("93.184.215.14", None), ("2606:4700::1111", None),
    ],
)  # fmt: skip
def test_address_kinds(address: str, kind: str | None) -> None:
    assert address_kind(ipaddress.ip_address(address)) == kind


@pytest.mark.parametrize("address", ["169.254.169.254", "fe80::1", "224.0.0.1", "0.0.0.0", "240.0.0.1"])
async def test_allow_private_never_opens_link_local_multicast_or_reserved(address: str) -> None:
    network = FakeRoute()
    guard = AddressGuard(allow_private=True, resolve=FakeResolver({"metadata.example": [address]}), route=network)
    with pytest.raises(AddressRefused):
        await guard.resolve("metadata.example", 80)
    assert network.attempts == []


async def test_allow_private_opens_loopback_and_private_addresses() -> None:
    guard = AddressGuard(allow_private=True, resolve=FakeResolver({"intranet.example": ["10.0.0.7", "::1"]}))
    addresses = await guard.checked_addresses("intranet.example", 80)
    assert [str(address) for address in addresses] == ["10.0.0.7", "::1"]


def test_a_numeric_host_that_is_no_address_is_never_resolved() -> None:
    with pytest.raises(ValueError, match=r"999\.1 is not an IP address"):
        literal_address("999.1")


def test_a_numeric_host_once_allowed_is_not_read_and_checked_again_and_a_refused_one_stays_refused() -> None:
    """Every request asks the guard about its host: the answer for one already allowed is the one kept."""
    guard = AddressGuard(allow_private=False, resolve=FakeResolver({}))
    allowed = guard.checked_literal(PUBLIC)
    assert allowed is not None and guard.checked_literal(PUBLIC) is allowed
    assert guard.checked_literal("feeds.example") is None  # a name: the resolver checks it when it is dialled
    for _ in range(2):
        with pytest.raises(AddressRefused):
            guard.checked_literal("127.0.0.1")
