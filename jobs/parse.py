"""Turn a fetched body into items: RSS and Atom by feedparser, HTML by a CSS selector, JSON by a path."""

from __future__ import annotations

import email.utils
import hashlib
import html
import io
import itertools
import json
import re
import unicodedata
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urljoin, urlsplit, urlunsplit

from bot.domain.datafiles import JsonObject
from bot.domain.html import strip_invisible
from jobs.links import join_url

if TYPE_CHECKING:
    from selectolax.lexbor import LexborHTMLParser, LexborNode

# The parsers' libraries (lxml, selectolax) are imported by the functions that use them: a check whose bodies the
# reading worker reads (jobs/lane.py) never loads them in the checking process.

MAX_ITEMS = 200
MAX_TITLE = 500
MAX_SUMMARY = 2_000
MAX_MARKUP = 2_000_000  # characters of a page the HTML engine sees; the rest is cut off
MAX_EXAMINED = 1_000  # entries, matched elements or JSON rows looked at, kept or not
MAX_FRAGMENT = 100_000  # characters of one field's markup read for its text (its text is clipped far shorter)
MAX_FEED_DEPTH = 512  # elements inside elements that feedparser is given (libxml2 itself stops at 256)

# Markup to text in one linear pass (an HTML engine is quadratic in nesting depth): every alternative matches
# whatever follows it, up to the end when unclosed, so the scan never backs up. Block elements become a space
# (their text is a separate phrase); script and style go with their content; other tags and comments go.
_BLOCK = r"(?:p|div|br|li|ul|ol|tr|td|th|h[1-6]|table|section|article|blockquote|hr)\b"
_MARKUP = re.compile(
    r"<!--.*?(?:-->|\Z)|<(script|style|noscript)\b.*?(?:</\1\s*>|\Z)|(</?" + _BLOCK + r"[^>]*(?:>|\Z))"
    r"|<[/!?]?[A-Za-z][^>]*(?:>|\Z)|<[!?][^>]*(?:>|\Z)",
    re.I | re.S,
)
_LOOSE_DATE = re.compile(r"(?<!\d)(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})(?!\d)")
_EARLIEST_YEAR, _LATEST_YEAR = 1990, 2100
_CJK_DATE = re.compile(r"\d\s*[年月日]")
# The RFC 822 form nearly every feed writes ("Thu, 09 Oct 2025 16:00:00 +0800", "… GMT"), read without
# email.utils (~10 µs a date); every other form goes to email.utils (which reads a year below 100, "0025", as
# 2025).
_COMMON_RFC822 = re.compile(
    r"(?:[A-Za-z]{3}, )?(\d{1,2}) ([A-Za-z]{3}) ([1-9]\d{3}) (\d{2}):(\d{2})(?::(\d{2}))? (GMT|UTC?|Z|[+-]\d{4})"
)
_MONTH_NAMES = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_MONTHS = {name: number for number, name in enumerate(_MONTH_NAMES, 1)}
_DAY_MINUTES = 24 * 60
_HTML_START = re.compile(r"<!doctype\s+html|<html[\s>]", re.I)
# Control characters (C0, DEL, C1): a feed's ESC or BEL would reach the terminal of whoever reads `check --show`
# or the log (a title that clears the screen), and mean nothing in a headline.
_CONTROLS = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_TRACKING_KEYS = frozenset(
    {"fbclid", "gclid", "dclid", "gclsrc", "msclkid", "mc_cid", "mc_eid", "yclid", "igshid", "spm", "_hsenc"}
)
_ELLIPSES = ("...", "…")
_DATE_KEYS = ("published", "updated", "created")
_TAG_OR_CDATA = re.compile(r"<!\[CDATA\[.*?(?:\]\]>|\Z)|<(/?)[A-Za-z][^<>]*?(/?)>", re.S)
_ROW_DEPTH = 3  # a matched element, its parent and its grandparent: where a list row keeps its date
# Every feed is handed to feedparser as UTF-8 whatever its XML declaration says: the text is already decoded.
_FEED_HEADERS = {"content-type": "application/xml; charset=utf-8"}


class ParseError(ValueError):
    """The body could not be read as the kind of source it was said to be; the message is a short reason."""


class SlowPath(Exception):
    """The fast, in-process reading does not take this body: parse it with slow=True (in a worker)."""


@dataclass(frozen=True, slots=True)
class ParsedItem:
    """One entry of a feed or a listing page, normalised."""

    guid: str
    title: str
    link: str | None
    summary: str
    published: datetime | None  # UTC-aware


@dataclass(frozen=True, slots=True)
class JsonKeys:
    """Where a JSON item keeps each field: a key or dotted path; None tries the usual names."""

    title: str | None = None
    link: str | None = None
    date: str | None = None
    guid: str | None = None
    summary: str | None = None


_JSON_DEFAULTS: Mapping[str, tuple[str, ...]] = {
    "title": ("title", "headline", "name"),
    "link": ("url", "link", "href"),
    "date": ("published", "published_at", "date", "pubDate", "updated", "updated_at", "created_at", "time"),
    "guid": ("id", "guid", "uuid"),
    "summary": ("summary", "description", "excerpt", "content", "body"),
}


def parse_items(
    kind: str,
    text: str,
    *,
    base_url: str,
    select: str | None = None,
    json_keys: JsonKeys | None = None,
    slow: bool = True,
) -> list[ParsedItem]:
    """Read the items of one fetched body; raise ParseError when it is not what the source promised.

    With slow=False, raise SlowPath instead of doing what may take long on hostile input: HTML, and the
    feedparser reading of a feed that the fast reader refuses.
    """
    if not text.strip():
        raise ParseError("empty body")
    if kind == "rss":
        try:
            return _collect(_fast_feed_items(text, base_url))
        except SlowPath:
            if not slow:
                raise
        return _collect(_feed_items(text, base_url))
    if kind == "html":
        if not slow:
            raise SlowPath("html")
        if not select:
            raise ParseError("an html source needs a selector")
        return _collect(_html_items(text, base_url, select))
    if kind == "json":
        return _collect(_json_items(text, base_url, select, json_keys or JsonKeys()))
    raise ParseError(f"unknown kind {kind!r}")


def items_fingerprint(items: Sequence[ParsedItem]) -> str:
    """Hash the set of (guid, title) pairs, so that reordering or re-rendering a page changes nothing."""
    pairs = sorted({f"{item.guid}\x1f{item.title}" for item in items})
    return hashlib.sha256("\x1e".join(pairs).encode("utf-8")).hexdigest()


def check_selector(select: str) -> None:
    """Raise ValueError when a CSS selector cannot be compiled."""
    from selectolax.lexbor import LexborHTMLParser, SelectolaxError

    try:
        LexborHTMLParser("<html></html>").css(select)
    except SelectolaxError:
        raise ValueError(f"invalid CSS selector {select!r}") from None


def parse_date(value: str) -> datetime | None:
    """Read a date in ISO 8601, RFC 822 or a plain form (2025-10-09, 2025/10/09, 2025年10月9日) as UTC."""
    value = unicodedata.normalize("NFKC", value).strip()
    if not value:
        return None
    # An ISO 8601 date starts with a digit; RFC 822 ones mostly with the day's name, and need not fail ISO first.
    readers = (_rfc822_date, _loose_date) if value[0].isalpha() else (_iso_date, _rfc822_date, _loose_date)
    for reader in readers:
        found = reader(value)
        if found is not None:
            return found if _plausible(found) else None
    return None


def _plausible(value: datetime) -> bool:
    """Whether a date could be a news item's: typos and placeholders give years like 1066 or 9999."""
    return _EARLIEST_YEAR <= value.year <= _LATEST_YEAR


def clean_text(value: str | None, *, markup: bool = True) -> str:
    """Strip tags (when markup), unescape entities, apply NFKC, drop control characters, collapse whitespace."""
    if not value:
        return ""
    if markup and ("<" in value or "&" in value):
        value = _markup_to_text(value)
    # Zero-width characters survive NFKC and whitespace collapsing, and would split words for the matchers;
    # direction controls could turn a headline around on screen. ASCII text holds neither and NFKC keeps it.
    if not value.isascii():
        value = strip_invisible(unicodedata.normalize("NFKC", value))
    value = " ".join(value.split())  # line breaks and tabs, the usual unprintables, go here
    return value if value.isprintable() else " ".join(_CONTROLS.sub(" ", value).split())


def _collect(items: Iterable[ParsedItem]) -> list[ParsedItem]:
    """Keep the first item of each guid, up to MAX_ITEMS."""
    kept: dict[str, ParsedItem] = {}
    for item in items:
        kept.setdefault(item.guid, item)
        if len(kept) >= MAX_ITEMS:
            break
    return list(kept.values())


def _make_item(
    *, guid: str | None, title: str, link: str | None, summary: str, published: datetime | None, base_url: str
) -> ParsedItem | None:
    """Build an item from cleaned text, or None when it has nothing to show."""
    absolute = absolute_link(link, base_url)
    summary = _clip(summary, MAX_SUMMARY)
    title = _clip(title or summary, MAX_TITLE)
    if not title:
        return None
    return ParsedItem(
        guid=_guid(guid, absolute, title), title=title, link=absolute, summary=summary, published=published
    )


def _guid(given: str | None, link: str | None, title: str) -> str:
    """The feed's own id, else the link, else a hash of the title."""
    given = (given or "").strip()
    if given:
        return _drop_tracking(given) if given.startswith(("http://", "https://")) else given
    if link:
        return link
    return "sha256:" + hashlib.sha256(title.encode("utf-8")).hexdigest()


def _clip(text: str, limit: int) -> str:
    """Cut text to at most limit characters, marking the cut."""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _markup_to_text(value: str) -> str:
    """The visible text of an HTML fragment."""
    stripped = _MARKUP.sub(_markup_replacement, value[:MAX_FRAGMENT])
    return html.unescape(stripped)


def _markup_replacement(match: re.Match[str]) -> str:
    """A space for a block element's tag, nothing for anything else."""
    return " " if match.group(2) else ""


def absolute_link(href: str | None, base_url: str) -> str | None:
    """An absolute http(s) link without tracking parameters, or None for anchors and scripts."""
    href = (href or "").strip()
    if not href or href.startswith("#"):
        return None
    url = join_url(base_url, href)
    if not _has_host(url):
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            return None
    return _drop_tracking(url)


def _has_host(url: str) -> bool:
    """Plainly an http(s) URL with a host, without parsing it (False: parse it to tell)."""
    for prefix in ("https://", "http://"):
        if url.startswith(prefix):
            return len(url) > len(prefix) and url[len(prefix)] not in "/?#@:"
    return False


def _drop_tracking(url: str) -> str:
    """Remove utm_* and click-id parameters, which change between renders of the same item."""
    if "?" not in url:
        return url
    parts = urlsplit(url)
    pieces = parts.query.split("&") if parts.query else []
    kept = [piece for piece in pieces if not _is_tracking(piece.split("=", 1)[0])]
    if len(kept) == len(pieces):
        return url
    return urlunsplit(parts._replace(query="&".join(kept)))


def _is_tracking(key: str) -> bool:
    """Whether a query key only tracks the reader."""
    key = unquote(key).lower()
    return key.startswith("utm_") or key in _TRACKING_KEYS


# --- dates ----------------------------------------------------------------------------------------


def _as_utc(value: datetime) -> datetime:
    """Naive datetimes are taken as UTC; aware ones are converted."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _iso_date(value: str) -> datetime | None:
    """ISO 8601 as Python 3.11 reads it (2025-10-09T10:00:00Z, 2025-10-09)."""
    try:
        return _as_utc(datetime.fromisoformat(value))
    except ValueError:
        return None


def _rfc822_date(value: str) -> datetime | None:
    """RFC 822 / RFC 2822 dates (Thu, 09 Oct 2025 10:00:00 +0800)."""
    common = common_rfc822_date(value)
    if common is not None:
        return common
    try:
        return _as_utc(email.utils.parsedate_to_datetime(value))
    except (TypeError, ValueError, IndexError):
        return None


def common_rfc822_date(value: str) -> datetime | None:
    """The common RFC 822 form in UTC, as email.utils reads it; None for any other form (or an impossible date
    or zone), which email.utils then reads or refuses."""
    match = _COMMON_RFC822.fullmatch(value)
    month = _MONTHS.get(match.group(2).lower()) if match is not None else None
    if match is None or month is None:
        return None
    day, _, year, hour, minute, second, zone = match.groups()
    offset = 0 if zone[0] not in "+-" else (int(zone[1:3]) * 60 + int(zone[3:])) * (-1 if zone[0] == "-" else 1)
    if abs(offset) >= _DAY_MINUTES:  # a zone email.utils refuses
        return None
    try:
        moment = datetime(int(year), month, int(day), int(hour), int(minute), int(second or 0), tzinfo=UTC)
        return moment - timedelta(minutes=offset)
    except (ValueError, OverflowError):
        return None


def _loose_date(value: str) -> datetime | None:
    """The first plausible year-month-day in the text, at midnight UTC."""
    for match in _LOOSE_DATE.finditer(value):
        year, month, day = (int(group) for group in match.groups())
        if _EARLIEST_YEAR <= year <= _LATEST_YEAR:
            try:
                return datetime(year, month, day, tzinfo=UTC)
            except ValueError:
                continue
    return None


def _epoch_date(value: float) -> datetime | None:
    """Seconds (or, when too large for seconds, milliseconds) since 1970."""
    seconds = value / 1000 if value > 100_000_000_000 else value
    try:
        return datetime.fromtimestamp(seconds, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None


# --- RSS and Atom ---------------------------------------------------------------------------------


def _fast_feed_items(text: str, base_url: str) -> list[ParsedItem]:
    """Entries of an RSS, Atom or RDF document read by lxml; SlowPath when feedparser must read it."""
    from jobs.feed_xml import Refused, TooDeep, read_feed

    try:
        entries = read_feed(text, base_url, MAX_EXAMINED)
    except TooDeep:
        raise ParseError("XML nested too deep") from None
    except Refused as refusal:
        raise SlowPath(str(refusal)) from None
    items = []
    for entry in entries:
        item = _feed_item(entry, base_url, _fast_feed_date(entry))
        if item is not None:
            items.append(item)
    return items


def _nested_deeper_than(text: str, limit: int) -> bool:
    """Whether elements nest deeper than limit, by one linear scan of the tags (CDATA sections skipped)."""
    depth = 0
    for match in _TAG_OR_CDATA.finditer(text):
        closing, self_closing = match.groups()
        if closing:
            depth = max(0, depth - 1)
        elif closing is not None and not self_closing:
            depth += 1
            if depth > limit:
                return True
    return False


def _fast_feed_date(entry: Mapping[str, Any]) -> datetime | None:
    """Published, else updated, else created, as _feed_date reads them; SlowPath for a date only feedparser may
    read (it knows more forms)."""
    for key in _DATE_KEYS:
        raw = _text_value(entry.get(key))
        if _CJK_DATE.search(raw):
            return _loose_date(raw)
        found = parse_date(raw)
        if found is not None:
            return found
        if raw.strip():
            raise SlowPath("a date only feedparser may read")
    return None


def _feed_items(text: str, base_url: str) -> Iterator[ParsedItem]:
    """Entries of an RSS or Atom document read by feedparser: slow, but it reads almost anything."""
    import feedparser  # the fallback: most processes never need it, and it takes a while to import

    if _nested_deeper_than(text, MAX_FEED_DEPTH):
        # feedparser spends minutes and gigabytes on deep nesting (45 s and 1.1 GB on 5 MB of nested <b>).
        raise ParseError("XML nested too deep")
    headers = {**_FEED_HEADERS, "content-location": base_url}
    # A stream, never a str: feedparser treats a str as a URL or file name to open.
    # Markup is stripped and links made absolute by this module, so feedparser need not do either (faster).
    feed = feedparser.parse(
        io.BytesIO(text.encode("utf-8")), response_headers=headers, sanitize_html=False, resolve_relative_uris=False
    )
    entries = list(feed.get("entries") or [])[:MAX_EXAMINED]
    if not entries:
        _check_empty_feed(feed, text)
    for entry in entries:
        # A plain dict: FeedParserDict maps some missing keys to others, with a DeprecationWarning.
        plain = dict(entry.items())
        item = _feed_item(plain, base_url, _feed_date(plain))
        if item is not None:
            yield item


def _check_empty_feed(feed: Mapping[str, Any], text: str) -> None:
    """Raise unless a feed without entries is a well-formed, empty feed."""
    if not feed.get("version") and text.lstrip("\ufeff \t\r\n")[:1] in ("{", "["):  # before HTML: JSON may hold some
        raise ParseError("JSON served as RSS: a JSON source takes kind: json")
    if not feed.get("version") and _HTML_START.search(text[:4096]):
        raise ParseError("HTML served as RSS")
    if feed.get("bozo"):
        raise ParseError(f"broken XML: {feed.get('bozo_exception')}")
    if not feed.get("version"):
        raise ParseError("not an RSS or Atom feed")


def _feed_item(entry: Mapping[str, Any], base_url: str, published: datetime | None) -> ParsedItem | None:
    """One feedparser entry as an item."""
    return _make_item(
        guid=_text_value(entry.get("id")),
        title=_feed_text(entry, "title"),
        link=_text_value(entry.get("link")),
        summary=clean_text(_feed_summary(entry)),
        published=published,
        base_url=base_url,
    )


def _feed_text(entry: Mapping[str, Any], key: str) -> str:
    """A text construct, stripped of tags only when the feed says it holds HTML."""
    detail = entry.get(f"{key}_detail") or {}
    markup = "html" in str(detail.get("type", "html"))
    return clean_text(_text_value(entry.get(key)), markup=markup)


def _feed_summary(entry: Mapping[str, Any]) -> str:
    """The entry's summary, else its first content block."""
    summary = _text_value(entry.get("summary"))
    if summary:
        return summary
    contents = entry.get("content") or []
    return _text_value(contents[0].get("value")) if contents else ""


def _feed_date(entry: Mapping[str, Any]) -> datetime | None:
    """Published, else updated; feedparser's parsed form first, then the raw text."""
    for key in _DATE_KEYS:
        if key not in entry:
            continue
        raw = _text_value(entry.get(key))
        parsed = entry.get(f"{key}_parsed")
        if _CJK_DATE.search(raw):
            # feedparser's ISO 8601 reader takes 2025年10月9日 for 2025-11-01.
            return _loose_date(raw)
        if parsed:
            year, month, day, hour, minute, second = parsed[:6]
            # struct_time allows a leap second (60); datetime does not.
            read = datetime(year, month, day, hour, minute, min(second, 59), tzinfo=UTC)
            return read if _plausible(read) else None  # as parse_date: a year like 9999 is a placeholder
        found = parse_date(raw)
        if found is not None:
            return found
    return None


def _text_value(value: object) -> str:
    """A string field, or empty for anything else (None, lists, dicts)."""
    return value if isinstance(value, str) else ""


# --- HTML -----------------------------------------------------------------------------------------


def _html_items(text: str, base_url: str, select: str) -> Iterator[ParsedItem]:
    """Items from the elements a CSS selector picks: links, or elements that contain one.

    Linear in the matches: at most MAX_EXAMINED are looked at, and each looks for its date only in itself and in
    the ancestors that hold no other match (its list row), never in the whole list. The HTML engine's own parse
    grows with the square of the page's nesting depth (30,000 levels take ~1 s); what bounds a hostile page is the
    deadline of the worker that reads it (jobs/lane.py, jobs/workers.py), not a guess at the depth here: a scan of
    tags cannot tell the engine's implied ends (an open <font> in each table cell, a <span> a </div> closes)
    from real nesting, so it would refuse ordinary pages.
    """
    from selectolax.lexbor import LexborHTMLParser, SelectolaxError

    tree = LexborHTMLParser(text[:MAX_MARKUP])
    base = _document_base(tree, base_url)
    try:
        nodes = tree.css(select)[:MAX_EXAMINED]
    except SelectolaxError:
        raise ParseError(f"invalid CSS selector {select!r}") from None
    if not nodes:
        raise ParseError("selector matched nothing")
    shared = _shared_ancestors(nodes)
    return _nonempty(_html_item(node, base, shared) for node in nodes)


def _shared_ancestors(nodes: Sequence[LexborNode]) -> set[int]:
    """The ancestors (up to the row-date depth) that hold more than one of these nodes, by identity."""
    seen: set[int] = set()
    shared: set[int] = set()
    for node in nodes:
        for ancestor in _row_ancestors(node):
            key = ancestor.mem_id
            (shared if key in seen else seen).add(key)
    return shared


def _row_ancestors(node: LexborNode) -> Iterator[LexborNode]:
    """The parent and grandparent of a node: where a list row keeps the date of its link."""
    current = node.parent
    for _ in range(_ROW_DEPTH - 1):
        if current is None:
            return
        yield current
        current = current.parent


def _nonempty(items: Iterable[ParsedItem | None]) -> Iterator[ParsedItem]:
    """Drop the Nones; raise when the selector matched only elements without text."""
    found = False
    for item in items:
        if item is not None:
            found = True
            yield item
    if not found:
        raise ParseError("selector matched only empty elements")


def _document_base(tree: LexborHTMLParser, base_url: str) -> str:
    """The page's <base href>, resolved against the address it was fetched from."""
    node = tree.css_first("base[href]")
    href = node.attributes.get("href") if node is not None else None
    return urljoin(base_url, href.strip()) if href else base_url


def _html_item(node: LexborNode, base_url: str, shared: set[int]) -> ParsedItem | None:
    """One matched element as an item."""
    anchor = node if node.tag == "a" else node.css_first("a[href]")
    href = anchor.attributes.get("href") if anchor is not None else None
    if anchor is not None and absolute_link(href, base_url) is None:
        return None  # a link to a script or an anchor on the page: navigation, not an item
    return _make_item(
        guid=None,
        title=_anchor_title(anchor or node),
        link=href,
        summary="",
        published=_row_date(node, shared),
        base_url=base_url,
    )


def _anchor_title(node: LexborNode) -> str:
    """The link text, or its title attribute when the text is empty or cut short with an ellipsis."""
    text = clean_text(node.text(separator=" "), markup=False)
    attribute = clean_text(node.attributes.get("title"), markup=False)
    if attribute and (not text or text.endswith(_ELLIPSES)):
        return attribute
    return text


def _row_date(node: LexborNode, shared: set[int]) -> datetime | None:
    """The one date in the element or its nearest ancestors (the list row); none when a level has several.

    The climb stops below an ancestor that holds another match: that is the list, and its dates are others'.
    """
    levels = itertools.chain([node], itertools.takewhile(lambda up: up.mem_id not in shared, _row_ancestors(node)))
    for level in levels:
        dates = _dates_in(level)
        if len(dates) == 1:
            return dates.pop()
        if dates:
            return None
    return None


def _dates_in(node: LexborNode) -> set[datetime]:
    """Dates in an element's <time datetime> attributes and text."""
    stamps = [time.attributes.get("datetime") or "" for time in node.css("time[datetime]")]
    text = unicodedata.normalize("NFKC", node.text(separator=" "))
    found = [parse_date(stamp) for stamp in stamps]
    found += [_loose_date(match.group(0)) for match in _LOOSE_DATE.finditer(text)]
    return {value for value in found if value is not None}


# --- JSON -----------------------------------------------------------------------------------------


def _json_items(text: str, base_url: str, select: str | None, keys: JsonKeys) -> Iterator[ParsedItem]:
    """Items from the list at a dotted path of a JSON document."""
    rows = _json_rows(text, select)
    for row in rows[:MAX_EXAMINED]:
        if isinstance(row, dict):
            item = _json_item(row, keys, base_url)
            if item is not None:
                yield item


def _json_rows(text: str, select: str | None) -> list[Any]:
    """The item list: the document itself, or the value at the dotted path."""
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise ParseError(f"broken JSON: {error.msg} at line {error.lineno}") from None
    except RecursionError:
        raise ParseError("JSON nested too deep") from None
    except ValueError:  # an integer past Python's 4,300 digits of conversion (CVE-2020-10735)
        raise ParseError("broken JSON: a number too long to read") from None
    if not select:
        if not isinstance(document, list):
            raise ParseError("JSON document is not a list: set select to the path of the item list")
        return document
    found, value = _json_lookup(document, select)
    if not found:
        raise ParseError(f"JSON path {select!r} not found")
    if not isinstance(value, list):
        raise ParseError(f"JSON path {select!r} is not a list")
    return value


def _json_lookup(document: Any, path: str) -> tuple[bool, Any]:
    """Follow a dotted path through objects (by key) and lists (by index)."""
    current = document
    for step in path.split("."):
        if isinstance(current, dict) and step in current:
            current = current[step]
        elif isinstance(current, list) and step.isascii() and step.isdecimal() and int(step) < len(current):
            current = current[int(step)]
        else:
            return False, None
    return True, current


def _json_item(row: JsonObject, keys: JsonKeys, base_url: str) -> ParsedItem | None:
    """One JSON object as an item."""
    return _make_item(
        guid=_scalar_text(_json_field(row, keys.guid, "guid")),
        title=clean_text(_scalar_text(_json_field(row, keys.title, "title"))),
        link=_scalar_text(_json_field(row, keys.link, "link")),
        summary=clean_text(_scalar_text(_json_field(row, keys.summary, "summary"))),
        published=_json_date(_json_field(row, keys.date, "date")),
        base_url=base_url,
    )


def _json_field(row: JsonObject, configured: str | None, name: str) -> Any:
    """The configured key or path, else the first of the usual names for this field that is present."""
    if configured is not None:
        return _json_lookup(row, configured)[1]
    return next((row[key] for key in _JSON_DEFAULTS[name] if key in row), None)


def _scalar_text(value: Any) -> str:
    """Strings as they are, numbers as text (JSON ids are often numbers), anything else as empty."""
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return ""


def _json_date(value: Any) -> datetime | None:
    """A date given as text or as a Unix timestamp."""
    if isinstance(value, str):
        return parse_date(value)
    if isinstance(value, int | float) and not isinstance(value, bool):
        found = _epoch_date(float(value))
        return found if found is not None and _plausible(found) else None
    return None
