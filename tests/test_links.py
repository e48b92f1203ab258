"""join_url answers as urljoin does, for absolute and relative links alike."""

from __future__ import annotations

from urllib.parse import urljoin

import pytest

from jobs.links import join_url

BASE = "https://news.example.com/feeds/all.xml"


@pytest.mark.parametrize(
    "reference",
    [
        "https://example.org/a/b.html?id=7#top",
        "http://example.org",
        "https://example.org/a/../b/./c",
        "https://example.org/a;params?q",
        "https://example.org/a?",
        "https://example.org/a#",
        "https://exa\tmple.org/a\n",
        "https://example.org/路径/記事.html",
        "/2025/10/relative.html",
        "relative.html",
        "//cdn.example.org/x",
        "news-example-1001",
        "tag:example.org,2025:1",
        "",
    ],
)
def test_join_url_agrees_with_urljoin(reference: str) -> None:
    assert join_url(BASE, reference) == urljoin(BASE, reference)


def test_a_link_urljoin_refuses_is_empty() -> None:
    assert join_url(BASE, "http://[::1/a") == ""


@pytest.mark.parametrize(
    "base",
    [
        BASE,
        "http://127.0.0.8:8080/feed/7",
        "https://news.example.com",
        "https://news.example.com/",
        "https://news.example.com/a/b/?q=1#frag",
        "https://news.example.com/a/b#frag/x",
        "https://user@news.example.com/a?q=/x/y",
    ],
)
@pytest.mark.parametrize("reference", ["s7-i0", "news-example-1001", "a.b", "..", ".", ".hidden", "x/y", "a:b"])
def test_a_plain_segment_is_resolved_as_urljoin_resolves_it(base: str, reference: str) -> None:
    assert join_url(base, reference) == urljoin(base, reference)
