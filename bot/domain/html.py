"""Telegram HTML helpers: escaping outside text, links, and splitting long messages between lines."""

from __future__ import annotations

import html
import ipaddress
import re
from urllib.parse import urlsplit

TELEGRAM_LIMIT = 4096
_TAG = re.compile(r"<[^>]+>")
_ATOM = re.compile(r"<[^<>]*>|&#?[a-zA-Z0-9]+;|.", re.DOTALL)  # a tag, an entity, or one character
_TAG_NAME = re.compile(r"<(/?)([a-zA-Z][\w-]*)")
OpenTag = tuple[str, str]  # (name, the opening tag as written; "" for one dropped for its length)
# Direction controls (which can turn "gallium ban lifted" around on screen: U+202E shows what follows right to
# left) and characters that show nothing: zero-width spaces and joiners, word joiners, soft hyphens, the BOM,
# interlinear annotation marks and the tag characters that can hide text from a reader.
INVISIBLE = dict.fromkeys(
    [0x00AD, 0x061C, 0x180E, *range(0x200B, 0x2010), *range(0x202A, 0x202F), *range(0x2060, 0x2065),
     *range(0x2066, 0x2070), 0xFEFF, *range(0xFFF9, 0xFFFC), *range(0xE0000, 0xE0080)]
)  # fmt: skip


def esc(text: object) -> str:
    """Escape outside text for a Telegram HTML message; direction controls and invisible characters go."""
    return html.escape(strip_invisible(str(text)), quote=False)


def strip_invisible(text: str) -> str:
    """The text without direction controls and invisible characters (INVISIBLE)."""
    return text.translate(INVISIBLE)


def link(text: str, url: str | None) -> str:
    """An escaped link where the URL is safe to click (clickable), else the escaped text alone."""
    if clickable(url):
        assert url is not None
        return f'<a href="{html.escape(url, quote=True)}">{esc(text)}</a>'
    return esc(text)


def clickable(url: str | None) -> bool:
    """An http(s) URL naming its host by a domain name: no credentials, no IP address, nothing invisible.

    `https://mofcom.gov.cn@203.0.113.9/` shows one host and opens another; a bare address (`http://10.0.0.1/`,
    `http://2130706433/`) names no one a reader can recognise.
    """
    if not url or any(char.isspace() or ord(char) < 0x20 for char in url) or url != strip_invisible(url):
        return False
    try:
        parts = urlsplit(url)
        host, _ = parts.hostname, parts.port
    except ValueError:
        return False
    if parts.scheme not in ("http", "https") or not host or "@" in parts.netloc:
        return False
    return _domain_name(host)


def _domain_name(host: str) -> bool:
    """A host written as a domain name: two labels or more, the last starting with a letter (no IP in any form)."""
    try:
        ipaddress.ip_address(host)
    except ValueError:
        labels = host.rstrip(".").split(".")
        return len(labels) >= 2 and all(labels) and labels[-1][0].isalpha()
    return False


def counted(count: int, noun: str, plural: str | None = None) -> str:
    """'1 new item', '2 new items'."""
    return f"{count} {noun if count == 1 else plural or noun + 's'}"


def to_plain(message: str) -> str:
    """The text of an HTML message, for the terminal."""
    return html.unescape(_TAG.sub("", message))


def split_message(message: str, limit: int = TELEGRAM_LIMIT) -> list[str]:
    """Split a message into parts of at most `limit` characters, tags included.

    A part ends at the last line break that fits (the break is dropped), else after a space in its second half,
    else between two characters; never inside a tag or an entity. Tags open at a cut are closed there and
    reopened at the start of the next part. An opening tag longer than a quarter of the limit (a huge href)
    could not be reopened within it: it is dropped with its closing tag, and its text kept.
    """
    if len(message) <= limit:
        return [message]  # most messages: no need to read them atom by atom
    atoms, stacks = _scan(message, limit // 4)
    parts: list[str] = []
    start = 0
    while True:
        end, resume = _cut(atoms, stacks, start, limit)
        parts.append(_opening(stacks[start]) + "".join(atoms[start:end]) + _closing(stacks[end]))
        if end >= len(atoms):
            return parts
        start = resume


def _scan(message: str, longest_tag: int) -> tuple[list[str], list[tuple[OpenTag, ...]]]:
    """The message as atoms, and the tags open before each atom and after the last (outermost first)."""
    atoms: list[str] = []
    stacks: list[tuple[OpenTag, ...]] = [()]
    stack: list[OpenTag] = []
    for atom in _ATOM.findall(message):
        atoms.append(_follow(stack, atom, longest_tag))
        stacks.append(tuple(stack))
    return atoms, stacks


def _follow(stack: list[OpenTag], atom: str, longest_tag: int) -> str:
    """Open or close a tag on the stack; return the atom as the parts will carry it."""
    tag = _TAG_NAME.match(atom)
    if tag is None or atom.endswith("/>"):
        return atom
    closing, name = tag.group(1), tag.group(2).lower()
    if not closing:
        kept = atom if len(atom) <= longest_tag else ""
        stack.append((name, kept))
        return kept
    names = [open_name for open_name, _ in stack]
    if name not in names:
        return atom
    at = len(names) - 1 - names[::-1].index(name)
    kept = atom if stack[at][1] else ""
    del stack[at:]
    return kept


def _cut(atoms: list[str], stacks: list[tuple[OpenTag, ...]], start: int, limit: int) -> tuple[int, int]:
    """Where the part that begins at atom `start` ends, and where the next one begins."""
    size = len(_opening(stacks[start]))
    line_break = space = None
    for index in range(start, len(atoms)):
        if atoms[index] == "\n" and index > start:
            line_break = index
        size += len(atoms[index])
        if size + len(_closing(stacks[index + 1])) > limit:
            if line_break is not None:
                return line_break, line_break + 1
            end = space or max(index, start + 1)  # one atom at least, so that splitting always ends
            return end, end
        if atoms[index] == " " and size >= limit // 2:
            space = index + 1
    return len(atoms), len(atoms)


def _opening(stack: tuple[OpenTag, ...]) -> str:
    return "".join(written for _, written in stack)


def _closing(stack: tuple[OpenTag, ...]) -> str:
    return "".join(f"</{name}>" for name, written in reversed(stack) if written)
