"""Decode a fetched body to text: BOM, the header's charset, the page's own declaration, UTF-8, detection."""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterator

_SNIFF_BYTES = 4096
_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_HEADER_CHARSET = re.compile(r"charset\s*=\s*[\"']?\s*([\w.:-]+)", re.I)
_XML_DECLARATION = re.compile(rb"^\s*<\?xml[^>]*?encoding\s*=\s*[\"']([\w.:-]+)[\"']", re.I)
_META_CHARSET = re.compile(rb"<meta[^>]*?charset\s*=\s*[\"']?\s*([\w.:-]+)", re.I)
# Labels Python does not know, as browsers read them.
_LABELS = {
    "x-gbk": "gbk",
    "gb_2312-80": "gb2312",
    "x-sjis": "shift_jis",
    "windows-31j": "cp932",
    "x-euc-jp": "euc_jp",
    "unicode-1-1-utf-8": "utf-8",
}
# Pages declare the old, narrower charset and use characters only its superset has, as browsers allow.
_SUPERSETS = {
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "shift_jis": "cp932",
    "euc_kr": "cp949",
    "big5": "big5hkscs",
    "iso8859-1": "cp1252",
    "ascii": "cp1252",
}
# Server defaults more often than choices: a page's own declaration, or valid UTF-8, is trusted first.
_WEAK_HEADER_CHARSETS = frozenset({"iso8859-1", "ascii"})


def decode_body(body: bytes, content_type: str | None) -> str:
    """Decode a body: BOM, header charset, <meta>/XML declaration, UTF-8, detection, UTF-8 with replacement."""
    if not body:
        return ""
    for encoding in _encodings_to_try(body, content_type):
        try:
            return body.decode(encoding).removeprefix("\ufeff")
        except (UnicodeDecodeError, LookupError):
            continue
    return body.decode("utf-8", errors="replace")


def _encodings_to_try(body: bytes, content_type: str | None) -> Iterator[str]:
    """Candidate codecs, best evidence first; detection runs only if everything before it failed."""
    bom = next((encoding for mark, encoding in _BOMS if body.startswith(mark)), None)
    if bom is not None:
        yield bom
    header = _canonical(_header_charset(content_type))
    if header is not None and header not in _WEAK_HEADER_CHARSETS:
        yield _SUPERSETS.get(header, header)
    declared = _canonical(_declared_charset(body[:_SNIFF_BYTES]))
    if declared is not None and not declared.startswith(("utf-16", "utf-32")):
        yield _SUPERSETS.get(declared, declared)
    yield "utf-8"
    if header is not None:
        yield _SUPERSETS.get(header, header)
    detected = _detected_charset(body)
    if detected is not None:
        yield detected


def _header_charset(content_type: str | None) -> str | None:
    """The charset parameter of a Content-Type header."""
    match = _HEADER_CHARSET.search(content_type or "")
    return match.group(1) if match else None


def _declared_charset(head: bytes) -> str | None:
    """The encoding an XML declaration or an HTML <meta> names in the first bytes."""
    match = _XML_DECLARATION.search(head) or _META_CHARSET.search(head)
    return match.group(1).decode("ascii", errors="ignore") if match else None


def _canonical(label: str | None) -> str | None:
    """Python's name for a text encoding label, or None for unknown and non-text codecs (zlib, rot13)."""
    if not label:
        return None
    label = _LABELS.get(label.strip().lower(), label.strip().lower())
    try:
        name = codecs.lookup(label).name
        b"".decode(name)  # refuses bytes-to-bytes codecs
    except LookupError:
        return None
    return name


def _detected_charset(body: bytes) -> str | None:
    """charset-normalizer's best guess, widened to its superset."""
    import charset_normalizer  # here: most bodies declare their charset or are UTF-8, and a check starts sooner

    match = charset_normalizer.from_bytes(body).best()
    name = _canonical(match.encoding) if match is not None else None
    return _SUPERSETS.get(name, name) if name is not None else None
