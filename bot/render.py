"""Turning domain answers into chat messages (Telegram HTML) and into the JSON shapes of DESIGN.md."""

from __future__ import annotations

import datetime as dt
import html
import re
from collections.abc import Sequence
from typing import Any

from bot.exposure import Exposure
from bot.ladder import Level
from bot.status import Status
from bot.vocab import Kind, Vocabulary

TELEGRAM_LIMIT = 4096
LEVEL_MARKS = {
    Level.NORMAL: "⚪",
    Level.WATCH: "🔵",
    Level.REVIEW: "🟡",
    Level.LICENSING: "🟠",
    Level.RESTRICTED: "🔴",
    Level.BANNED: "⛔",
}
BAND_MARKS = {"low": "🟢", "moderate": "🟡", "high": "🟠", "severe": "🔴"}
_TAG = re.compile(r"<[^>]+>")
_ATOM = re.compile(r"<[^<>]*>|&#?[a-zA-Z0-9]+;|.", re.DOTALL)  # a tag, an entity, or one character
_TAG_NAME = re.compile(r"<(/?)([a-zA-Z][\w-]*)")
OpenTag = tuple[str, str]  # (name, the opening tag as written; "" for one dropped for its length)


def esc(text: object) -> str:
    """Escape outside text for a Telegram HTML message."""
    return html.escape(str(text), quote=False)


def link(text: str, url: str | None) -> str:
    """An escaped link, or escaped text where there is no usable URL."""
    if url and url.startswith(("http://", "https://")):
        return f'<a href="{html.escape(url, quote=True)}">{esc(text)}</a>'
    return esc(text)


def counted(count: int, noun: str, plural: str | None = None) -> str:
    """'1 new item', '2 new items'."""
    return f"{count} {noun if count == 1 else plural or noun + 's'}"


def to_plain(message: str) -> str:
    """The text of an HTML message, for the terminal."""
    return html.unescape(_TAG.sub("", message))


def exposure_message(exposure: Exposure, vocabulary: Vocabulary) -> str:
    """The chat answer for one country and sector."""
    country = vocabulary.display(Kind.COUNTRY, exposure.country)
    sector = vocabulary.display(Kind.SECTOR, exposure.sector)
    lines = [
        f"<b>{esc(country)} · {esc(sector)}: {BAND_MARKS[exposure.band]} {exposure.band} exposure "
        f"({exposure.score}/100)</b>",
        "",
        "<b>What drives it</b>",
        *(f"• {esc(sentence)}" for sentence in exposure.drivers),
        "",
        "<b>Materials</b> (weight · share from China · level)",
        *(
            f"{LEVEL_MARKS[part.level]} {esc(vocabulary.display(Kind.MATERIAL, part.material))}: "
            f"{part.weight:.0%} · {part.china_share:.0%} · {part.level.label}"
            for part in exposure.materials
        ),
        "",
        f"<i>As of {exposure.as_of.isoformat()}. Score = Σ weight × China share × level severity, "
        f"× {exposure.buffer_factor:.2f} for buffers.</i>",
    ]
    return "\n".join(lines)


def ranking_message(country: str, ranked: Sequence[Exposure], vocabulary: Vocabulary) -> str:
    """The chat answer for a country with no sector: its sectors, most exposed first."""
    name = vocabulary.display(Kind.COUNTRY, country)
    lines = [f"<b>{esc(name)}: exposure by sector</b>", ""]
    for exposure in ranked:
        lines.append(
            f"{BAND_MARKS[exposure.band]} {esc(vocabulary.display(Kind.SECTOR, exposure.sector))}: "
            f"{exposure.score}/100 {exposure.band}"
            f" — {esc(_top_material(exposure, vocabulary))}"
        )
    as_of = ranked[0].as_of.isoformat() if ranked else ""
    lines += ["", f"<i>As of {as_of}. Details: /exposure {esc(country.lower())} SECTOR</i>"]
    return "\n".join(lines)


def _top_material(exposure: Exposure, vocabulary: Vocabulary) -> str:
    top = exposure.materials[0] if exposure.materials else None
    if top is None or top.contribution == 0:
        return "no measure in force on what it needs"
    return f"driven by {vocabulary.display(Kind.MATERIAL, top.material)} ({top.level.label})"


def exposure_json(exposure: Exposure) -> dict[str, Any]:
    """The `exposure --json` shape of DESIGN.md."""
    return {
        "country": exposure.country,
        "sector": exposure.sector,
        "score": exposure.score,
        "band": exposure.band,
        "materials": [
            {
                "material": part.material,
                "china_share": round(part.china_share, 4),
                "share_source": part.figure.source,
                "level": int(part.level),
                "level_name": part.level.label,
                "weight": part.weight,
            }
            for part in exposure.materials
        ],
        "buffer_months": exposure.buffer.months if exposure.buffer else None,
        "drivers": list(exposure.drivers),
        "as_of": exposure.as_of.isoformat(),
    }


def status_json(status: Status) -> dict[str, Any]:
    """One status as JSON."""
    return {
        "issuer": status.issuer,
        "target": status.target,
        "material": status.material,
        "level": int(status.level),
        "level_name": status.level.label,
        "since": status.since.isoformat(),
        "title": status.title,
        "source": status.source,
        "url": status.url,
        "until": status.until.isoformat() if status.until else None,
    }


def status_lines(statuses: Sequence[Status], vocabulary: Vocabulary, today: dt.date) -> list[str]:
    """Statuses for a chat list, those set by one event at one level to one target on one line, in order."""
    groups: dict[tuple[object, ...], list[Status]] = {}
    for status in statuses:
        key = (status.issuer, status.target, status.level, status.since, status.title, status.until)
        groups.setdefault(key, []).append(status)
    return [status_line(group, vocabulary, today) for group in groups.values()]


def status_line(statuses: Sequence[Status], vocabulary: Vocabulary, today: dt.date) -> str:
    """Statuses set together: level, materials → target, since when, the evidence."""
    status = statuses[0]
    materials = ", ".join(vocabulary.display(Kind.MATERIAL, s.material) for s in statuses)
    subject = f"{materials} → {vocabulary.display(Kind.COUNTRY, status.target)}"
    line = (
        f"{LEVEL_MARKS[status.level]} <b>{status.level.label}</b> {esc(subject)} "
        f"since {status.since.date().isoformat()}: {link(status.title, status.url)}"
    )
    if status.until:
        verb = "ran out" if status.until < today else "runs to"
        line += f" <i>(suspension {verb} {status.until.isoformat()})</i>"
    return line


def history_line(change: dict[str, Any], vocabulary: Vocabulary) -> str:
    """One status change for /history, by what it did to the target's effective level where that is known."""
    effective = change.get("effective_old") is not None and change.get("effective_new") is not None
    old_key, new_key = ("effective_old", "effective_new") if effective else ("old_level", "new_level")
    old, new = Level(change[old_key]), Level(change[new_key])
    arrow = "⬆️" if new > old else "⬇️"
    subject = (
        f"{vocabulary.display(Kind.MATERIAL, change['material'])} → "
        f"{vocabulary.display(Kind.COUNTRY, change['target'])}"
    )
    return (
        f"{arrow} {change['at'][:10]} {esc(subject)}: {old.label} → <b>{new.label}</b> — "
        f"{link(change['title'], change.get('url'))}"
    )


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
