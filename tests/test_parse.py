"""Parsing fetched bodies into items: feeds, listing pages, JSON; normalisation, dates, guids, fingerprints."""

from __future__ import annotations

import email.utils
import itertools
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from jobs.charset import decode_body
from jobs.parse import (
    MAX_EXAMINED,
    MAX_ITEMS,
    MAX_MARKUP,
    MAX_SUMMARY,
    MAX_TITLE,
    JsonKeys,
    ParsedItem,
    ParseError,
    check_selector,
    clean_text,
    common_rfc822_date,
    items_fingerprint,
    parse_date,
    parse_items,
)

FIXTURES = Path(__file__).parent / "fixtures"
FEED_URL = "https://news.example.com/feeds/all.xml"


def fixture_text(name: str, content_type: str | None = None) -> str:
    """A fixture file decoded as the fetcher would decode it."""
    return decode_body((FIXTURES / name).read_bytes(), content_type)


def feed(name: str, base_url: str = FEED_URL) -> list[ParsedItem]:
    """The items of a feed fixture."""
    return parse_items("rss", fixture_text(f"feeds/{name}"), base_url=base_url)


def by_guid(items: list[ParsedItem]) -> dict[str, ParsedItem]:
    """Items keyed by guid."""
    return {item.guid: item for item in items}


# --- RSS and Atom ------------------------------------------------------------------------------------------


def test_rss20_items_are_normalised() -> None:
    items = feed("rss20.xml")
    first = items[0]
    assert first == ParsedItem(
        guid="news-example-1001",
        title="China adds seven rare earths to export control list",
        link="https://news.example.com/2025/04/04/rare-earths.html?id=7",
        summary="MOFCOM & GAC announced licensing for samarium, gadolinium and terbium.",
        published=datetime(2025, 4, 4, 10, 30, tzinfo=UTC),
    )


def test_rss20_guid_falls_back_to_link_then_title_hash() -> None:
    items = feed("rss20.xml")
    assert items[1].guid == "https://news.example.com/2025/10/09/gallium.html"
    assert items[2].guid.startswith("sha256:") and len(items[2].guid) == len("sha256:") + 64
    assert items[2].link is None


def test_rss20_full_width_text_is_nfkc_normalised() -> None:
    assert feed("rss20.xml")[2].title == "Japan magnet maker warns of shortages"


def test_rss20_duplicate_guids_and_empty_items_are_dropped() -> None:
    items = feed("rss20.xml")
    assert [item.guid for item in items].count("news-example-1001") == 1
    assert items[0].title == "China adds seven rare earths to export control list"
    assert len(items) == 3


def test_relative_rss_link_resolves_against_the_feed_address() -> None:
    items = feed("rss20.xml", base_url="https://mirror.example.org/rss/feed.xml")
    assert items[1].link == "https://mirror.example.org/2025/10/09/gallium.html"


def test_rss10_rdf() -> None:
    items = feed("rss10.rdf")
    assert [(item.title, item.link, item.published) for item in items] == [
        (
            "Antimony exports need a licence from 15 September",
            "https://rdf.example.org/a",
            datetime(2024, 8, 15, 1, 0, tzinfo=UTC),
        ),
        ("Graphite controls take effect", "https://rdf.example.org/b", datetime(2023, 12, 1, tzinfo=UTC)),
    ]


def test_atom10_xml_base_html_titles_and_content() -> None:
    first = feed("atom10.xml")[0]
    assert first.guid == "tag:meti.example.jp,2026:0106-1"
    assert first.title == "軍民両用品目の対日輸出禁止について"
    assert first.link == "https://www.meti.example.jp/press/2026/0106_001.html"
    assert first.summary == "中国商務部は 1月6日、公告を発表しました。"
    assert first.published == datetime(2026, 1, 6, 8, 30, tzinfo=UTC)


def test_atom10_plain_text_title_keeps_its_angle_brackets() -> None:
    second = feed("atom10.xml")[1]
    assert second.title == "Rare earths < 5% of imports? A & B"
    assert second.link == "https://www.meti.example.jp/en/2026/0110_002.html"
    assert second.published == datetime(2026, 1, 10, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("guid", "expected"),
    [
        ("rfc822-gmt", datetime(2025, 10, 9, 8, 0, tzinfo=UTC)),
        ("rfc822-offset", datetime(2025, 10, 9, 8, 0, tzinfo=UTC)),
        ("rfc822-named-zone", datetime(2025, 10, 9, 8, 0, tzinfo=UTC)),
        ("w3dtf-offset", datetime(2025, 10, 9, 8, 0, tzinfo=UTC)),
        ("iso-z", datetime(2025, 10, 9, 8, 0, tzinfo=UTC)),
        ("date-only", datetime(2025, 10, 9, tzinfo=UTC)),
        ("chinese", datetime(2025, 10, 9, tzinfo=UTC)),
        ("none", None),
        ("nonsense", None),
    ],
)
def test_feed_dates_become_utc(guid: str, expected: datetime | None) -> None:
    item = by_guid(feed("dates.xml"))[guid]
    assert item.published == expected
    assert item.published is None or item.published.utcoffset() is not None


def email_utils_date(value: str) -> datetime | None:
    """What email.utils makes of an RFC 822 date, in UTC (naive taken as UTC), or None where it refuses it."""
    try:
        found = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return found.replace(tzinfo=UTC) if found.tzinfo is None else found.astimezone(UTC)


RFC822_VARIANTS = [
    f"{name}{day} {month} {year} {time} {zone}"
    for name, day, month, year, time, zone in itertools.product(
        ("", "Thu, ", "Sun, ", "thu, "),
        ("09", "9", "31", "00", "30"),
        ("Oct", "oct", "OCT", "Feb", "Foo"),
        ("2025", "1899", "0001", "9999"),
        ("16:00:00", "08:00", "23:59:59", "24:00:00", "12:60:00", "12:00:60", "00:00:00"),
        ("GMT", "UT", "UTC", "Z", "+0800", "-0000", "+0000", "-1130", "+0860", "+2359", "+2400", "-9999", "EDT"),
    )
]


def test_the_common_rfc822_form_is_read_as_email_utils_reads_it() -> None:
    read = {value: common_rfc822_date(value) for value in RFC822_VARIANTS}
    assert all(found is None or found == email_utils_date(value) for value, found in read.items())
    assert all(found is None or found.tzinfo is UTC for found in read.values())
    # left to email.utils, of what it reads: only named zones other than GMT and UT, and years below 1000
    left = [value for value, found in read.items() if found is None and email_utils_date(value) is not None]
    assert left and all(value.endswith(" EDT") or " 0001 " in value for value in left)
    assert read["Thu, 09 Oct 2025 16:00:00 +0800"] == datetime(2025, 10, 9, 8, 0, tzinfo=UTC)  # as feeds write it
    assert read["9 Oct 2025 08:00 -1130"] == datetime(2025, 10, 9, 19, 30, tzinfo=UTC)


@pytest.mark.parametrize("date", ["Fri, 31 Dec 9999 23:59:59 +1400", "Sat, 01 Jan 2300 00:00:00 GMT", "Fri, 9999"])
def test_a_placeholder_date_leaves_the_item_undated_on_every_path(date: str) -> None:
    document = (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>t</title><item><title>China bans gallium</title>'
        f"<link>http://127.0.0.1/a</link><guid>a</guid><pubDate>{date}</pubDate></item></channel></rss>"
    )
    [item] = parse_items("rss", document, base_url="http://127.0.0.1/feed")
    assert item.published is None


def test_ill_formed_feed_that_still_has_entries_is_accepted() -> None:
    items = feed("illformed_entity.xml")
    assert [item.title for item in items] == ["Tungsten — licensing required", "Indium and bismuth added"]


def test_broken_xml_without_entries_is_a_parse_error() -> None:
    with pytest.raises(ParseError, match=r"^broken XML: .*not well-formed"):
        feed("broken.xml")


def test_html_served_as_rss_is_a_parse_error() -> None:
    with pytest.raises(ParseError, match=r"^HTML served as RSS$"):
        feed("html_as_rss.xml")


@pytest.mark.parametrize(
    "body", ['{"items": [{"title": "China bans gallium"}]}', '  [{"title": "x"}]', '\ufeff{"html": "<html><body>"}']
)
def test_json_served_as_rss_says_which_kind_reads_it(body: str) -> None:
    with pytest.raises(ParseError, match=r"^JSON served as RSS: a JSON source takes kind: json$"):
        parse_items("rss", body, base_url="http://127.0.0.1/feed")


def test_xml_that_is_not_a_feed_is_a_parse_error() -> None:
    with pytest.raises(ParseError, match=r"^not an RSS or Atom feed$"):
        feed("not_a_feed.xml")


def test_well_formed_feed_without_items_is_empty() -> None:
    assert feed("empty_channel.xml") == []


@pytest.mark.parametrize("kind", ["rss", "html", "json"])
@pytest.mark.parametrize("text", ["", "  \r\n\t "])
def test_empty_body_is_a_parse_error(kind: str, text: str) -> None:
    with pytest.raises(ParseError, match=r"^empty body$"):
        parse_items(kind, text, base_url=FEED_URL, select="a")


def test_gbk_feed_declared_as_gb2312() -> None:
    (item,) = feed("gbk_declared_gb2312.xml", base_url="http://www.mofcom.example.cn/rss.xml")
    assert item.title == "商务部 海关总署公告2025年第18号 关于对部分中重稀土相关物项实施出口管制的决定"
    assert item.summary.endswith("朱镕基")  # 镕 is in GBK but not in GB2312
    assert item.link == "http://www.mofcom.example.cn/article/2025/04/04/18.shtml"
    assert item.published == datetime(2025, 4, 4, 7, 0, tzinfo=UTC)


def test_shift_jis_feed() -> None:
    (item,) = feed("shift_jis.xml")
    assert item.title == "1 レアアースの輸出規制に関する大臣コメント"  # ① is cp932-only, and NFKC makes it 1
    assert item.summary == "ジスプロシウム及びテルビウムの許可制について"
    assert item.published == datetime(2026, 1, 6, 9, 0, tzinfo=UTC)


def test_feed_text_naming_a_local_file_is_not_opened(tmp_path: Path) -> None:
    secret = tmp_path / "secret.xml"
    secret.write_text('<rss version="2.0"><channel><item><title>leaked</title></item></channel></rss>')
    with pytest.raises(ParseError):
        parse_items("rss", str(secret), base_url=FEED_URL)


# --- HTML --------------------------------------------------------------------------------------------------

MOFCOM_BASE = "https://aqygzj.mofcom.example.cn/zcfb/"


def mofcom_items(select: str = "ul.list li a") -> list[ParsedItem]:
    """The items of the GBK MOFCOM-style listing."""
    text = fixture_text("pages/mofcom_list_gbk.html", "text/html")
    return parse_items("html", text, base_url=MOFCOM_BASE, select=select)


def test_html_listing_titles_links_and_dates() -> None:
    items = mofcom_items()
    assert [(item.link, item.published) for item in items] == [
        ("https://aqygzj.mofcom.example.cn/zcfb/art/2025/art_57.html", datetime(2025, 10, 9, tzinfo=UTC)),
        ("https://aqygzj.mofcom.example.cn/zcfb/art/2025/art_70.html", datetime(2025, 11, 7, tzinfo=UTC)),
        ("https://aqygzj.mofcom.example.cn/zcfb/art/2026/art_1.html", datetime(2026, 1, 6, tzinfo=UTC)),
        ("https://aqygzj.mofcom.example.cn/zcfb/art/2024/art_zrj.html", datetime(2024, 12, 3, tzinfo=UTC)),
        ("https://aqygzj.mofcom.example.cn/zcfb/art/2026/art_11.html", None),
    ]


def test_html_truncated_link_text_gives_way_to_the_title_attribute() -> None:
    assert mofcom_items()[0].title == "商务部 海关总署公告2025年第57号 关于对部分中重稀土相关物项实施出口管制的决定"


def test_html_text_is_nfkc_normalised_and_trimmed() -> None:
    assert mofcom_items()[4].title == "商务部公告2026年第11号 关于将20家日本实体列入出口管制管控名单的公告"


def test_html_tracking_parameters_and_script_links_are_dropped() -> None:
    links = [item.link for item in mofcom_items()]
    assert "https://aqygzj.mofcom.example.cn/zcfb/art/2026/art_1.html" in links
    assert all(link is not None and "spm=" not in link for link in links)
    assert "更多" not in [item.title for item in mofcom_items()]


def test_html_the_same_link_twice_is_one_item() -> None:
    items = mofcom_items('a[href*="/art/"]')
    assert len(items) == 5
    assert items[0].title.startswith("商务部 海关总署公告2025年第57号 关于对部分")


def test_html_base_href_rows_and_time_elements() -> None:
    text = fixture_text("pages/mofcom_english.html", "text/html; charset=utf-8")
    items = parse_items("html", text, base_url="https://elsewhere.example.net/", select="div.list li")
    base = "https://english.mofcom.example.cn/Policies/AnnouncementsOrders/art/"
    assert [(item.link, item.published) for item in items] == [
        (base + "2025/art_55.html", datetime(2025, 10, 9, tzinfo=UTC)),
        (base + "2025/art_70.html", datetime(2025, 11, 7, tzinfo=UTC)),
        (base + "2025/art_72.html", datetime(2025, 11, 9, 2, 0, tzinfo=UTC)),
        (base + "2026/art_1.html", datetime(2026, 1, 6, tzinfo=UTC)),
    ]
    assert items[2].title == "MOFCOM Announcement No. 72 of 2025 on Announcement No. 46 of 2024"
    assert (
        items[3].title == "MOFCOM Announcement No. 1 of 2026 on strengthening export control of dual-use items to Japan"
    )


def test_html_shift_jis_page_with_dates_in_table_cells_and_definition_lists() -> None:
    text = fixture_text("pages/meti_list_shift_jis.html", "text/html")
    items = parse_items("html", text, base_url="https://www.meti.example.jp/", select="a")
    assert [(item.title, item.published) for item in items] == [
        ("中国による対日輸出管理措置について(経済産業大臣のコメント)", datetime(2026, 1, 6, tzinfo=UTC)),
        ("レアアース等の供給確保に向けた取組について", datetime(2026, 1, 8, tzinfo=UTC)),
        ("中国商務部による日本企業20社の輸出管理リスト掲載について", datetime(2026, 2, 24, tzinfo=UTC)),
        ("重要鉱物の備蓄に関する官民連携の強化について", datetime(2026, 2, 25, tzinfo=UTC)),
    ]


def test_html_date_is_not_borrowed_from_a_list_of_many_rows() -> None:
    html = (
        "<ul><li><a href='/a'>A</a></li>"
        "<li><a href='/b'>B</a> 2025-01-02</li><li><a href='/c'>C</a> 2025-01-03</li></ul>"
    )
    items = parse_items("html", html, base_url="https://x.example/", select="li a")
    assert [item.published for item in items] == [
        None,
        datetime(2025, 1, 2, tzinfo=UTC),
        datetime(2025, 1, 3, tzinfo=UTC),
    ]


def test_html_selector_that_matches_nothing() -> None:
    text = fixture_text("pages/no_matches.html", "text/html")
    with pytest.raises(ParseError, match=r"^selector matched nothing$"):
        parse_items("html", text, base_url="https://x.example/", select="ul.list li a")


def test_html_selector_that_matches_only_empty_elements() -> None:
    html = "<ul class='list'><li><a href='/a'> </a></li><li><a href='javascript:go()'>Go</a></li></ul>"
    with pytest.raises(ParseError, match=r"^selector matched only empty elements$"):
        parse_items("html", html, base_url="https://x.example/", select="ul.list li a")


def test_html_invalid_selector() -> None:
    with pytest.raises(ParseError, match=r"^invalid CSS selector"):
        parse_items("html", "<p>x</p>", base_url="https://x.example/", select="ul[")
    with pytest.raises(ValueError, match="invalid CSS selector"):
        check_selector("ul[")
    check_selector("ul.list li > a[href*='/art/']")


def test_html_without_selector() -> None:
    with pytest.raises(ParseError, match="needs a selector"):
        parse_items("html", "<p>x</p>", base_url="https://x.example/")


def test_items_per_page_are_capped() -> None:
    html = "".join(f"<a href='/item/{n}'>Item {n}</a>" for n in range(MAX_ITEMS + 50))
    items = parse_items("html", html, base_url="https://x.example/", select="a")
    assert len(items) == MAX_ITEMS
    assert items[-1].title == f"Item {MAX_ITEMS - 1}"


def test_titles_and_summaries_are_capped() -> None:
    long_title, long_summary = "稀" * (MAX_TITLE * 2), "x " * MAX_SUMMARY
    document = json.dumps([{"id": 1, "title": long_title, "summary": long_summary}])
    (item,) = parse_items("json", document, base_url="https://x.example/")
    assert len(item.title) == MAX_TITLE and item.title.endswith("…")
    assert len(item.summary) <= MAX_SUMMARY and item.summary.endswith("…")


# --- JSON --------------------------------------------------------------------------------------------------

API_URL = "https://api.example.com/v1/notices"


def test_json_items_at_a_dotted_path_with_usual_names() -> None:
    document = {
        "data": {
            "items": [
                {"id": 42, "title": "Ga &amp; Ge", "url": "/n/42", "published_at": "2025-10-09T08:00:00+08:00"},
                {"id": "43", "headline": "Antimony", "link": "https://x.example/43", "date": 1_760_000_000},
                {"id": 44, "name": "ms epoch", "time": 1_760_000_000_000},
                "not an object",
            ]
        }
    }
    items = parse_items("json", json.dumps(document), base_url=API_URL, select="data.items")
    assert [(item.guid, item.title, item.link, item.published) for item in items] == [
        ("42", "Ga & Ge", "https://api.example.com/n/42", datetime(2025, 10, 9, 0, 0, tzinfo=UTC)),
        ("43", "Antimony", "https://x.example/43", datetime.fromtimestamp(1_760_000_000, tz=UTC)),
        ("44", "ms epoch", None, datetime.fromtimestamp(1_760_000_000, tz=UTC)),
    ]


def test_json_configured_keys_and_nested_paths() -> None:
    document = [{"attributes": {"headline": "Tungsten", "when": "2025/02/04"}, "links": {"self": "/t"}, "uid": "t-1"}]
    keys = JsonKeys(title="attributes.headline", link="links.self", date="attributes.when", guid="uid")
    (item,) = parse_items("json", json.dumps(document), base_url=API_URL, json_keys=keys)
    assert item == ParsedItem("t-1", "Tungsten", "https://api.example.com/t", "", datetime(2025, 2, 4, tzinfo=UTC))


def test_json_list_index_in_path() -> None:
    document = {"pages": [{"rows": [{"title": "first page row", "url": "/r/1"}]}]}
    items = parse_items("json", json.dumps(document), base_url=API_URL, select="pages.0.rows")
    assert [item.title for item in items] == ["first page row"]


@pytest.mark.parametrize(
    ("document", "select", "message"),
    [
        ('{"data": {}}', "data.items", r"^JSON path 'data.items' not found$"),
        ('{"data": {"items": {"a": 1}}}', "data.items", r"^JSON path 'data.items' is not a list$"),
        ('{"data": []}', None, r"^JSON document is not a list"),
        ('{"data": [1, 2,', "data", r"^broken JSON: "),
        ('[{"title": "China bans gallium", "date": ' + "9" * 5000 + "}]", None, r"^broken JSON: a number too long"),
    ],
)
def test_json_errors(document: str, select: str | None, message: str) -> None:
    with pytest.raises(ParseError, match=message):
        parse_items("json", document, base_url=API_URL, select=select)


def test_unknown_kind() -> None:
    with pytest.raises(ParseError, match="unknown kind 'xml'"):
        parse_items("xml", "<x/>", base_url=API_URL)


# --- helpers -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2025-10-09", datetime(2025, 10, 9, tzinfo=UTC)),
        ("2025年10月9日", datetime(2025, 10, 9, tzinfo=UTC)),
        ("２０２５年１０月９日", datetime(2025, 10, 9, tzinfo=UTC)),
        ("2025/10/09", datetime(2025, 10, 9, tzinfo=UTC)),
        ("[2025-10-09]", datetime(2025, 10, 9, tzinfo=UTC)),
        ("2025.10.09", datetime(2025, 10, 9, tzinfo=UTC)),
        ("Thu, 09 Oct 2025 16:00:00 +0800", datetime(2025, 10, 9, 8, 0, tzinfo=UTC)),
        ("2025-10-09T17:00:00+09:00", datetime(2025, 10, 9, 8, 0, tzinfo=UTC)),
        ("2025-10-09T08:00:00", datetime(2025, 10, 9, 8, 0, tzinfo=UTC)),
        ("2025-02-30", None),
        ("1066-10-14", None),
        ("公告2025年第57号", None),
        ("", None),
    ],
)
def test_parse_date(text: str, expected: datetime | None) -> None:
    assert parse_date(text) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("  a \n\t b\u3000c ", "a b c"),
        ("<p>One</p><p>two</p>", "One two"),
        ("x &amp;amp; y &lt;z&gt;", "x &amp; y <z>"),
        ("zero\u200bwidth", "zerowidth"),
        ("title\x1b]0;PWNED\x07\x1b[2J end", "title ]0;PWNED [2J end"),  # no escape reaches a terminal
        ("C1\x9b2J and DEL\x7f", "C1 2J and DEL"),
        ("ＡＢＣ１２３", "ABC123"),
        ("<style>p{}</style>text<script>x()</script>", "text"),
        (None, ""),
    ],
)
def test_clean_text(raw: str | None, expected: str) -> None:
    assert clean_text(raw) == expected


# --- fingerprints ------------------------------------------------------------------------------------------

LISTING = """<ul class="list">
  <li><a href="/art/1.html?utm_source=x">Announcement one</a> <span>2025-10-09</span></li>
  <li><a href="/art/2.html">Announcement two</a> <span>2025-11-07</span></li>
</ul>"""
LISTING_RERENDERED = """<html><body><div>
<ul class="list"><li>
      <a href="/art/2.html?utm_campaign=y&amp;fbclid=abc">  Announcement
         two </a><span>2025-11-07</span></li>
  <li><a href="https://x.example/art/1.html">Announcement&nbsp;one</a><span>2025-10-09</span></li></ul>
</div></body></html>"""


def listing(html: str) -> list[ParsedItem]:
    """Items of a small listing page."""
    return parse_items("html", html, base_url="https://x.example/", select="ul.list li a")


def test_fingerprint_ignores_order_whitespace_and_tracking_parameters() -> None:
    assert items_fingerprint(listing(LISTING)) == items_fingerprint(listing(LISTING_RERENDERED))


def test_fingerprint_changes_with_a_new_item_or_title() -> None:
    base = items_fingerprint(listing(LISTING))
    added = LISTING.replace("</ul>", '<li><a href="/art/3.html">Announcement three</a></li></ul>')
    retitled = LISTING.replace("Announcement two", "Announcement two (revised)")
    assert items_fingerprint(listing(added)) != base
    assert items_fingerprint(listing(retitled)) != base


def test_fingerprint_of_feed_is_stable_under_reordering() -> None:
    items = feed("rss20.xml")
    assert items_fingerprint(items) == items_fingerprint(list(reversed(items)))
    assert items_fingerprint(items) != items_fingerprint(items[:-1])
    assert len(items_fingerprint([])) == 64


# --- bounds: hostile bodies --------------------------------------------------------------------------------


def test_html_row_date_is_never_taken_from_the_list_that_holds_other_links() -> None:
    page = (
        "<html><body><ul>"
        '<li><a href="/art/1.html">Undated notice</a></li>'
        '<li><a href="/art/2.html">Dated notice</a> <span>2025-10-09</span></li>'
        "</ul></body></html>"
    )
    items = parse_items("html", page, base_url=MOFCOM_BASE, select='a[href*="/art/"]')
    assert [(item.title, item.published) for item in items] == [
        ("Undated notice", None),
        ("Dated notice", datetime(2025, 10, 9, tzinfo=UTC)),
    ]


def test_html_matches_are_examined_up_to_a_cap_whether_kept_or_not() -> None:
    same = '<li><a href="/art/same.html">The same link</a></li>' * (MAX_EXAMINED + 5)
    other = '<li><a href="/art/other.html">Another link</a></li>'
    page = f"<html><body><ul>{same}{other}</ul></body></html>"
    items = parse_items("html", page, base_url=MOFCOM_BASE, select='a[href*="/art/"]')
    assert [item.title for item in items] == ["The same link"]  # the walk ended at the cap, not at 200 kept


def test_html_markup_past_the_limit_is_never_parsed() -> None:
    filler = "<p>" + "x" * MAX_MARKUP + "</p>"
    page = f'<html><body>{filler}<a href="/art/late.html">Too late</a></body></html>'
    with pytest.raises(ParseError, match="selector matched nothing"):
        parse_items("html", page, base_url=MOFCOM_BASE, select='a[href*="/art/"]')


def test_json_nested_two_million_deep_is_a_parse_error() -> None:
    with pytest.raises(ParseError, match=r"^JSON nested too deep$"):
        parse_items("json", "[" * 2_000_000 + "]" * 2_000_000, base_url=FEED_URL)


def test_xml_nested_too_deep_is_a_parse_error_and_feedparser_never_sees_it() -> None:
    title = "<b>" * 100_000 + "x" + "</b>" * 100_000
    text = f'<rss version="2.0"><channel><item><title>{title}</title></item></channel></rss>'
    with pytest.raises(ParseError, match=r"^XML nested too deep$"):
        parse_items("rss", text, base_url=FEED_URL)


def test_escaped_nested_divs_in_a_description_are_stripped_in_one_pass() -> None:
    depth = 200_000
    description = "&lt;div&gt;" * depth + "x" + "&lt;/div&gt;" * depth
    text = (
        '<rss version="2.0"><channel><item><title>Nested</title><link>https://a.example/1</link>'
        f"<description>Gallium {description}</description></item></channel></rss>"
    )
    [item] = parse_items("rss", text, base_url=FEED_URL)
    assert item.summary == "Gallium"  # the markup past MAX_FRAGMENT is cut before it is read


def test_markup_is_stripped_as_an_html_engine_would() -> None:
    markup = (
        "<p>Gallium &amp; germanium</p><div>licences<br>required</div><script>alert(1)</script>"
        "<!-- note --><b>a < b</b> <style>p {}</style><span title='x'>end</span><a href='/x"
    )
    assert clean_text(markup) == "Gallium & germanium licences required a < b end"


def test_broken_xml_nested_too_deep_never_reaches_feedparser() -> None:
    title = "<b>" * 5_000 + "x" + "</b>" * 5_000
    text = f'<rss version="2.0"><channel><item><title>A & B {title}</title></item></channel></rss>'  # & breaks it
    with pytest.raises(ParseError, match=r"^XML nested too deep$"):
        parse_items("rss", text, base_url=FEED_URL)


def test_markup_inside_cdata_does_not_count_as_nesting() -> None:
    description = "<![CDATA[" + "<p>unclosed " * 1_000 + "]]>"
    text = (
        '<rss version="2.0"><channel><item><title>A & B</title><link>https://a.example/1</link>'
        f"<description>{description}</description></item></channel></rss>"
    )
    [item] = parse_items("rss", text, base_url=FEED_URL)
    assert item.title == "A & B"
