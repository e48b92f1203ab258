"""The fast feed reader (lxml) against feedparser: the same items from every fixture feed it accepts."""

from __future__ import annotations

from pathlib import Path

import pytest

from jobs import parse
from jobs.fetch import decode_body

FEEDS = Path(__file__).parent / "fixtures" / "feeds"
BASE_URL = "https://news.example.com/feeds/all.xml"
# What only feedparser reads: broken XML, an undeclared entity, HTML, another root, a date only it may read.
REFUSED = {"broken.xml", "dates.xml", "html_as_rss.xml", "illformed_entity.xml", "not_a_feed.xml"}


def fixture(name: str) -> str:
    return decode_body((FEEDS / name).read_bytes(), None)


@pytest.mark.parametrize("name", sorted(path.name for path in FEEDS.iterdir()))
def test_both_readers_give_the_same_items_or_the_fast_one_refuses(name: str) -> None:
    text = fixture(name)
    if name in REFUSED:
        with pytest.raises(parse.SlowPath):
            parse._fast_feed_items(text, BASE_URL)
    else:
        assert parse._fast_feed_items(text, BASE_URL) == list(parse._feed_items(text, BASE_URL))


def test_a_refused_feed_is_read_by_feedparser_unless_only_the_fast_path_may_run() -> None:
    text = fixture("illformed_entity.xml")
    assert parse.parse_items("rss", text, base_url=BASE_URL)
    with pytest.raises(parse.SlowPath):
        parse.parse_items("rss", text, base_url=BASE_URL, slow=False)


def test_html_goes_the_slow_way_unless_allowed() -> None:
    with pytest.raises(parse.SlowPath):
        parse.parse_items("html", "<html><a href='/a'>x</a></html>", base_url=BASE_URL, select="a", slow=False)
