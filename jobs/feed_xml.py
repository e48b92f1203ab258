"""RSS 2.0, Atom 1.0 and RSS 1.0 (RDF) read with lxml, at C speed: entries shaped as feedparser gives them.

This reader refuses (`Refused`) every document it is not sure to read as feedparser would — broken XML,
undeclared entities, unknown roots, xml:base — and the caller then hands that document to feedparser. Nesting
deeper than libxml2's limit (256) is `TooDeep`, a final answer: feedparser would take minutes on such a document.
External entities are never loaded and entities never expanded.
"""

from __future__ import annotations

import html.entities
import re
from collections.abc import Callable, Iterator
from typing import Any

from lxml import etree

from jobs.links import join_url

ATOM = "{http://www.w3.org/2005/Atom}"
RSS10 = "{http://purl.org/rss/1.0/}"
RDF = "{http://www.w3.org/1999/02/22-rdf-syntax-ns#}"
DC = "{http://purl.org/dc/elements/1.1/}"
DCTERMS = "{http://purl.org/dc/terms/}"
CONTENT_ENCODED = "{http://purl.org/rss/1.0/modules/content/}encoded"
XML_BASE = "{http://www.w3.org/XML/1998/namespace}base"

# Where each date of an entry comes from, in feedparser's names (the last one found wins, as there).
_DATES = {
    "pubDate": "published",
    ATOM + "published": "published",
    DCTERMS + "issued": "published",
    ATOM + "updated": "updated",
    DC + "date": "updated",
    DCTERMS + "modified": "updated",
    DCTERMS + "created": "created",
}
_SUMMARIES = ("description", DC + "description", RSS10 + "description", ATOM + "summary")
_CONTENTS = (CONTENT_ENCODED, ATOM + "content")
_TITLES = ("title", ATOM + "title", RSS10 + "title", DC + "title")
# feedparser's looks_like_html: a close tag or an entity, and only tags of its safe subset.
_CLOSE_TAG = re.compile(r"</(\w+)>")
_ENTITY = re.compile(r"&#?\w+;")
_TAG_NAME = re.compile(r"</?(\w+)")
_NAMED_ENTITY = re.compile(r"&(\w+);")
_HTML_TAG_NAMES = (
    "a abbr acronym address area article aside audio b big blockquote br button canvas caption center "
    "cite code col colgroup command datagrid datalist dd del details dfn dialog dir div dl dt em "
    "event-source fieldset figcaption figure font footer form h1 h2 h3 h4 h5 h6 header hr i img input "
    "ins kbd keygen label legend li m map menu meter multicol nav nextid noscript ol optgroup option "
    "output p pre progress q s samp section select small sound source spacer span strike strong sub sup "
    "table tbody td textarea tfoot th thead time tr tt u ul var video "
)
_HTML_TAGS = frozenset(_HTML_TAG_NAMES.split())


class Refused(Exception):
    """Not a document this reader is sure to read as feedparser would: feedparser should read it."""


class TooDeep(Exception):
    """Elements nested deeper than the XML engine allows."""


def read_feed(text: str, base_url: str, limit: int) -> list[dict[str, Any]]:
    """The first `limit` entries of a feed, as feedparser-like dicts (id, title, title_detail, link, summary,
    content, published, updated, created); links and link-like guids resolved against base_url and xml:base.
    Raise Refused or TooDeep."""
    root = _parse(text)
    feed_base = _based(base_url, root)
    entries: list[dict[str, Any]] = []
    for element in _entry_elements(root):
        if len(entries) >= limit:
            break
        entries.append(_entry(element, _based(feed_base, element), atom=root.tag == ATOM + "feed"))
    return entries


def _based(base: str, element: etree._Element) -> str:
    """The base URL inside an element: its xml:base resolved against the base outside it."""
    given = element.get(XML_BASE)
    return join_url(base, given.strip()) if given else base


def _parse(text: str) -> etree._Element:
    """The document's root; the text is already decoded, so its XML declaration's encoding is overridden."""
    parser = etree.XMLParser(
        encoding="utf-8", resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False,
        remove_comments=True, remove_pis=True,
    )  # fmt: skip
    try:
        root = etree.fromstring(text.encode("utf-8", "surrogatepass"), parser)
    except etree.XMLSyntaxError as error:
        if "depth" in str(error).lower():
            raise TooDeep(str(error)) from None
        raise Refused(str(error)) from None
    except (ValueError, UnicodeError) as error:
        raise Refused(str(error)) from None
    if root is None:
        raise Refused("no root element")
    return root


def _entry_elements(root: etree._Element) -> Iterator[etree._Element]:
    """The item or entry elements of an RSS 2.0, Atom 1.0 or RSS 1.0 document."""
    parent, tag = _entry_parent(root)
    elements: Iterator[etree._Element] = parent.iterchildren(tag)
    return elements


def _entry_parent(root: etree._Element) -> tuple[etree._Element, str]:
    """The element that holds the entries, and the entries' tag."""
    if root.tag == "rss" and root.find("channel") is not None:
        return root.find("channel"), "item"
    if root.tag == ATOM + "feed":
        return root, ATOM + "entry"
    if root.tag == RDF + "RDF" and root.find(RSS10 + "channel") is not None:
        return root, RSS10 + "item"
    raise Refused(f"root element {root.tag!r}")


def _entry(element: etree._Element, base: str, *, atom: bool) -> dict[str, Any]:
    """One item or entry."""
    entry: dict[str, Any] = {}
    about = element.get(RDF + "about")
    if about:
        entry["id"] = about
    for child in element.iterchildren(tag=etree.Element):
        reader = _READERS.get(child.tag)  # elements nobody reads are passed over
        if reader is not None:
            reader(entry, child, _based(base, child), atom)
    if entry.get("guidislink"):
        entry["id"] = join_url(base, entry["id"])
    if "link" not in entry and entry.get("guidislink"):
        entry["link"] = entry["id"]
    if "summary" not in entry and entry.get("content"):
        entry["summary"] = entry["content"][0]["value"]
    return entry


def _read_title(entry: dict[str, Any], child: etree._Element, base: str, atom: bool) -> None:
    """A title, typed as feedparser types it: Atom says; RSS titles are HTML when they look like it."""
    value = _content_text(child) if atom else _inner(child).strip()
    if atom:
        kind = child.get("type") or "text"
        html_type = "text/html" if kind in ("html", "xhtml", "text/html", "application/xhtml+xml") else "text/plain"
    else:
        html_type = "text/html" if looks_like_html(value) else "text/plain"
    entry["title"] = value
    entry["title_detail"] = {"type": html_type}


def _read_link(entry: dict[str, Any], child: etree._Element, base: str, atom: bool) -> None:
    """An RSS link: the element's text."""
    entry["link"] = join_url(base, _inner(child).strip())


def _read_guid(entry: dict[str, Any], child: etree._Element, base: str, atom: bool) -> None:
    """An RSS guid or Atom id; a link too, unless it says it is not a permalink."""
    entry["id"] = _inner(child).strip()
    entry["guidislink"] = (child.get("isPermaLink") or child.get("ispermalink") or "true") == "true"


def _read_date(entry: dict[str, Any], child: etree._Element, base: str, atom: bool) -> None:
    """A date, under feedparser's name for it."""
    entry[_DATES[child.tag]] = _inner(child).strip()


def _read_summary(entry: dict[str, Any], child: etree._Element, base: str, atom: bool) -> None:
    """A description or summary."""
    entry["summary"] = _content_text(child)


def _read_content(entry: dict[str, Any], child: etree._Element, base: str, atom: bool) -> None:
    """A content block (content:encoded, atom:content)."""
    entry.setdefault("content", []).append({"value": _content_text(child)})


def _read_atom_link(entry: dict[str, Any], child: etree._Element, base: str, atom: bool) -> None:
    """The entry's link is an alternate link to a page."""
    rel = child.get("rel") or "alternate"
    kind = child.get("type") or "text/html"
    href = child.get("href")
    if href and rel == "alternate" and kind in ("text/html", "application/xhtml+xml", "html", "xhtml"):
        entry["link"] = join_url(base, href.strip())  # the last one, as feedparser keeps


def _content_text(element: etree._Element) -> str:
    """The text of a content element: inline XHTML is kept as markup, for the caller to strip."""
    if element.get("mode") == "base64" or element.get("src"):
        raise Refused("base64 or external content")
    return _inner(element).strip()


def _inner(element: etree._Element) -> str:
    """An element's content: its text, and its children as markup."""
    if len(element) == 0:
        return element.text or ""
    pieces = [element.text or ""]
    pieces += [etree.tostring(child, encoding="unicode", with_tail=True) for child in element]
    return "".join(pieces)


def looks_like_html(value: str) -> bool:
    """feedparser's guess whether an RSS text construct holds HTML."""
    if not (_CLOSE_TAG.search(value) or _ENTITY.search(value)):
        return False
    if any(tag.lower() not in _HTML_TAGS for tag in _TAG_NAME.findall(value)):
        return False
    return all(name in html.entities.entitydefs for name in _NAMED_ENTITY.findall(value))


_Reader = Callable[[dict[str, Any], etree._Element, str, bool], None]
# What each child element of an entry is read as, by its (namespaced) tag: one look-up per element.
_READERS: dict[str, _Reader] = {
    **dict.fromkeys(_TITLES, _read_title),
    "link": _read_link,
    RSS10 + "link": _read_link,
    ATOM + "link": _read_atom_link,
    "guid": _read_guid,
    ATOM + "id": _read_guid,
    **dict.fromkeys(_DATES, _read_date),
    **dict.fromkeys(_SUMMARIES, _read_summary),
    **dict.fromkeys(_CONTENTS, _read_content),
}
