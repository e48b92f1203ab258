"""Alert messages: severity, and the Telegram HTML of status alerts, admin alerts and daily digests.

Pure functions of the alert's stored payload (its types are in bot/domain/alert_payloads.py). A change's `old`
and `new` are the effective levels of its target for its material (what applies to that target, whichever
measure sets it): lifting a US ban on gallium while licensing for all destinations stays reads "banned →
licensing", not "banned → normal".
`countries` holds, for each country whose subscribers the alert reaches, that country's own effective levels
(entries shaped like `changes`, target the country): a subscriber reads its country's levels, not the target's.
A delivery adds the chat's 'COUNTRY:sector' pairs (sector empty for a subscription without one), so each chat
reads the levels of its own countries (`chat_entries`; the target's for ALL) and what the change does to its
own exposure. Every piece of outside text is escaped here.

A lapse alert (a suspension that ran out, written by versions before measures) is kept readable: each entry's
`level` is in force now and `lifted` comes back unless the suspension was extended.

Messages are rendered per chat at delivery, in the chat's language: the stored English names are read in English,
and the codes beside them name countries, materials and sectors from the vocabulary in Japanese and Chinese.
Headlines and source names are quoted as published.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar, cast

from bot.domain.alert_payloads import (
    AdminPayload,
    AlertPayload,
    ChangeEntry,
    DeskPayload,
    DigestItem,
    DigestPayload,
    Entry,
    Evidence,
    ExposureEffect,
    FollowUpPayload,
    LapseEntry,
    LapsePayload,
    StatusPayload,
    is_lapse,
)
from bot.domain.answers import LEVEL_MARKS
from bot.domain.html import esc, link
from bot.domain.i18n import Words, known_language, words
from bot.domain.labels import DIRECTION_WORDS, band_name, level_name, severity_name, word
from bot.domain.ladder import Level
from bot.domain.timing import zone
from bot.domain.values import ALL, SEVERITIES, AlertKind, FollowUpKind, Severity
from bot.domain.vocab import Kind, Vocabulary

E = TypeVar("E", bound=Entry)

SEVERITY_MARKS: dict[Severity, str] = {"critical": "🚨", "high": "🔴", "medium": "🟠", "low": "🔵", "info": "🟢"}
TIGHTENING_SEVERITY: dict[Level, Severity] = {
    Level.BANNED: "critical",
    Level.RESTRICTED: "high",
    Level.LICENSING: "medium",
    Level.REVIEW: "medium",
    Level.WATCH: "low",
    Level.NORMAL: "info",
}
MAX_CHANGE_LINES = 25
MAX_TITLE = 400


@dataclass(frozen=True, slots=True)
class Reader:
    """Who reads an alert: the language, and the vocabulary that names codes in it (None: the stored names)."""

    language: str = "en"
    vocabulary: Vocabulary | None = None

    @property
    def w(self) -> Words:
        """The reader's messages (English for a language not known)."""
        return words(known_language(self.language))

    def name(self, kind: Kind, code: str, stored: object) -> str:
        """A country, material or sector by its code in the reader's language; English reads the name stored."""
        if self.vocabulary is None or self.w.language == "en" or code not in self.vocabulary.terms(kind):
            return str(stored)
        return self.vocabulary.display(kind, code, self.w.language)


ENGLISH = Reader()


def lifted_measure(w: Words, level: int) -> str:
    """What a suspension lifted, by the level it comes back to."""
    names = {
        Level.BANNED: w._("the ban"),
        Level.RESTRICTED: w._("the restrictions"),
        Level.LICENSING: w._("the licence requirement"),
        Level.REVIEW: w._("the tightened licence review"),
        Level.WATCH: w._("the warning"),
        Level.NORMAL: w._("nothing"),
    }
    return names[Level(level)]


def move_severity(old_level: int, new_level: int) -> Severity:
    """A tightening is as severe as the level it reaches; an easing is news, not danger."""
    if new_level > old_level:
        return TIGHTENING_SEVERITY[Level(new_level)]
    return "info"


def severity(moves: Iterable[tuple[int, int]]) -> Severity:
    """The highest severity of (old, new) level moves."""
    ranks = [SEVERITIES.index(move_severity(old, new)) for old, new in moves]
    return SEVERITIES[max(ranks, default=0)]


def chat_entries(own: Mapping[str, list[E]], entries: Sequence[E], pairs: Sequence[str] = ()) -> list[E]:
    """The entries (a payload's `changes` or `lapses`) a chat reads: for each of its countries, that country's own
    levels where the payload has them (`own`), else the payload's (its targets'); the payload's for a chat that
    names none."""
    read: list[E] = []
    for country in dict.fromkeys(pair.partition(":")[0] for pair in pairs):
        read += [entry for entry in own.get(country, entries) if entry not in read]
    return read or list(entries)


def chat_changes(payload: StatusPayload, pairs: Sequence[str] = ()) -> list[ChangeEntry]:
    """The changes a chat reads (see chat_entries)."""
    return chat_entries(payload.get("countries") or {}, payload["changes"], pairs)


def chat_lapses(payload: LapsePayload, pairs: Sequence[str] = ()) -> list[LapseEntry]:
    """The lapses a chat reads (see chat_entries)."""
    return chat_entries(payload.get("countries") or {}, payload["lapses"], pairs)


def _heading(changes: Sequence[ChangeEntry], w: Words, issuer: str, targets: str) -> str:
    """'Tightened: China → Japan' (escaped), by which way every change went."""
    if all(change["new"] > change["old"] for change in changes):
        return w._("Tightened: %(issuer)s → %(targets)s", issuer=esc(issuer), targets=esc(targets))
    if all(change["new"] < change["old"] for change in changes):
        return w._("Eased: %(issuer)s → %(targets)s", issuer=esc(issuer), targets=esc(targets))
    return w._("Changed: %(issuer)s → %(targets)s", issuer=esc(issuer), targets=esc(targets))


def _target(entry: Entry, r: Reader) -> str:
    return r.name(Kind.COUNTRY, str(entry["target"]), entry["target_name"])


def _material(entry: Entry, r: Reader) -> str:
    return r.name(Kind.MATERIAL, str(entry["material"]), entry["material_name"])


def _targets(changes: Sequence[Entry], r: Reader = ENGLISH) -> list[str]:
    return list(dict.fromkeys(_target(change, r) for change in changes))


def change_line(change: ChangeEntry, *, name_target: bool, r: Reader = ENGLISH) -> str:
    """One move: mark, material (→ target), old → new level."""
    old, new = Level(change["old"]), Level(change["new"])
    subject = _material(change, r).capitalize()
    if name_target:
        subject += f" → {_target(change, r)}"
    return f"{LEVEL_MARKS[new]} {esc(subject)}: {level_name(r.w, old)} → <b>{level_name(r.w, new)}</b>"


def _more(w: Words, count: int) -> str:
    return w.ngettext("… and %(n)s more", "… and %(n)s more", count)


def _change_lines(changes: Sequence[ChangeEntry], r: Reader) -> list[str]:
    name_target = len(_targets(changes, r)) > 1
    lines = [change_line(change, name_target=name_target, r=r) for change in changes[:MAX_CHANGE_LINES]]
    if len(changes) > MAX_CHANGE_LINES:
        lines.append(_more(r.w, len(changes) - MAX_CHANGE_LINES))
    return lines


def exposure_keys(pairs: Iterable[str], payload: StatusPayload | LapsePayload) -> list[str]:
    """The exposure entries a chat's 'COUNTRY:sector' pairs point at (ALL: each target of the change)."""
    keys: list[str] = []
    entries: Sequence[Entry] = payload["lapses"] if is_lapse(payload) else cast(StatusPayload, payload)["changes"]
    targets = [entry["target"] for entry in entries]
    for pair in pairs:
        country, _, sector = pair.partition(":")
        candidates = [f"{target}:{sector}" for target in targets] if country == ALL else [pair]
        keys += [key for key in candidates if key in payload.get("exposure", {}) and key not in keys]
    return keys


def exposure_line(entry: ExposureEffect, r: Reader = ENGLISH, key: str = ":") -> str:
    """'Japan · autos: 40 → 63/100 (moderate → high)'; `key` ('JP:autos') names the country and sector by code."""
    before, after = band_name(r.w, entry["band_before"]), band_name(r.w, entry["band_after"])
    bands = after if before == after else f"{before} → {after}"
    country_code, _, sector_code = key.partition(":")
    country = r.name(Kind.COUNTRY, country_code, entry["country"])
    sector = r.name(Kind.SECTOR, sector_code, entry["sector"])
    return f"{esc(country)} · {esc(sector)}: {entry['before']} → {entry['after']}/100 ({bands})"


def _exposure_lines(payload: StatusPayload | LapsePayload, pairs: Sequence[str], heading: str, r: Reader) -> list[str]:
    keys = exposure_keys(pairs, payload)
    if not keys:
        return []
    entries = [exposure_line(payload["exposure"][key], r, key) for key in keys]
    return [f"📊 <b>{heading}</b>", *(f"• {entry}" for entry in entries)]


def moment(at: str, timezone: str = "UTC") -> str:
    """An ISO timestamp in the chat's time zone: '2026-01-06 18:30 JST' ('… UTC' by default)."""
    try:
        when = dt.datetime.fromisoformat(at)
        local = zone(timezone)
    except ValueError:
        return esc(at)
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    shown = when.astimezone(local)
    return shown.strftime("%Y-%m-%d %H:%M ") + esc(shown.tzname() or timezone)


def shorten(text: str, limit: int) -> str:
    """At most `limit` characters, with an ellipsis when cut."""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def evidence_line(payload: Evidence) -> str:
    """The headline (shortened), linked, with its source: both as published, in any reader's language."""
    title = shorten(str(payload["title"]), MAX_TITLE)
    return f"📰 {link(title, payload.get('url'))} — {esc(shorten(str(payload['source']), MAX_TITLE))}"


def qualifier_lines(payload: StatusPayload, w: Words | None = None) -> list[str]:
    """What narrows the levels above: a measure only reported so far, one on military end users only."""
    w = w or words()
    entries = payload.get("changes", [])
    lines = []
    if any(entry.get("provenance") == "reported" for entry in entries):
        if payload.get("issuer") == "CN":
            lines.append("⚠️ <i>" + w._("Reported, not confirmed by MOFCOM.") + "</i>")
        else:
            lines.append("⚠️ <i>" + w._("Reported, not confirmed by the issuer.") + "</i>")
    if entries and all(entry.get("end_use") == "military" for entry in entries):
        lines.append("🎖 <i>" + w._("Military end users and uses only.") + "</i>")
    return lines


FOLLOW_UPS: dict[FollowUpKind, str] = {"confirmation": "✅", "correction": "↩️"}


def _follow_up_words(kind: FollowUpKind, w: Words) -> tuple[str, str]:
    if kind == "confirmation":
        return w._("Confirmed"), w._(
            "What was reported is now confirmed by an official source; levels stay as alerted."
        )
    return w._("Correction"), w._(
        "The report alerted earlier was not confirmed and has been withdrawn; levels are back to what they were."
    )


def follow_up_message(kind: FollowUpKind, payload: FollowUpPayload, timezone: str = "UTC", r: Reader = ENGLISH) -> str:
    """The follow-up to an alert on a reported measure: confirmed by an official source, or withdrawn by the desk."""
    heading, sentence = _follow_up_words(kind, r.w)
    title = f"{FOLLOW_UPS[kind]} <b>{heading}: {esc(payload['measure_label'])}</b>"
    return "\n".join([title, sentence, "", evidence_line(payload), "", f"🕒 {moment(payload['at'], timezone)}"])


def _desk_kind(kind: object, w: Words) -> str:
    if kind == "unconfirmed":
        return w._("A reported restriction or ban from one source only: alerted as unconfirmed.")
    if kind == "easing":
        return w._("An easing of an official measure seen only from the press or an aggregator: held until confirmed.")
    return ""


def desk_message(payload: DeskPayload, timezone: str = "UTC", r: Reader = ENGLISH) -> str:
    """The desk's copy of an unsure reading: what it says, where from, and what Confirm and Dismiss do."""
    w = r.w
    level = level_name(w, int(payload.get("level", 0)))
    names = [r.name(Kind.MATERIAL, str(m), m) for m in payload.get("materials", [])]
    materials = w.listing(names) or w._("no material named")
    targets = w.listing([r.name(Kind.COUNTRY, str(t), t) for t in payload.get("targets", [])]) or "?"
    shown = word(w, DIRECTION_WORDS, str(payload["direction"]))
    heading = w._("For the desk: %(direction)s %(level)s", direction=esc(shown), level=esc(level))
    return "\n".join([
        f"🧐 <b>{heading}</b> — {esc(materials)} → {esc(targets)}",
        esc(_desk_kind(payload.get("kind"), w)),
        "",
        evidence_line(payload),
        w._("Measure: %(measure)s", measure=esc(payload.get("measure_label", ""))),
        "",
        f"🕒 {moment(payload['at'], timezone)} · "
        + w._("desk item %(id)s", id=esc(payload.get("desk_id", ""))),
    ])  # fmt: skip


def alert_buttons(kind: AlertKind, payload: AlertPayload, language: str = "en") -> tuple[tuple[str, str], ...]:
    """Inline buttons (label, callback data) that go with an alert's last part: Confirm and Dismiss on the desk's."""
    if kind != "desk":
        return ()
    w, desk_id = words(known_language(language)), cast(DeskPayload, payload).get("desk_id")
    return (("✅ " + w._("Confirm"), f"desk:confirmed:{desk_id}"), ("🗑 " + w._("Dismiss"), f"desk:dismissed:{desk_id}"))


def _footer(payload: StatusPayload | LapsePayload, timezone: str, w: Words) -> str:
    level = severity_name(w, str(payload.get("severity", "info")))
    return f"🕒 {moment(payload['at'], timezone)} · " + w._("severity %(severity)s", severity=esc(level))


def status_alert_message(
    payload: StatusPayload, pairs: Sequence[str] = (), timezone: str = "UTC", r: Reader = ENGLISH
) -> str:
    """The alert for one item's status changes, as this chat's countries see them, with what they do to this
    chat's exposure."""
    w = r.w
    changes = chat_changes(payload, pairs)
    mark = SEVERITY_MARKS.get(payload.get("severity", "info"), "🔔")
    issuer = r.name(Kind.COUNTRY, str(payload.get("issuer")), payload["issuer_name"])
    header = f"{mark} <b>{_heading(changes, w, issuer, w.listing(_targets(changes, r)))}</b>"
    lines = [header, *_change_lines(changes, r), *qualifier_lines(payload, w), "", evidence_line(payload)]
    exposure = _exposure_lines(payload, pairs, w._("Your exposure"), r)
    if exposure:
        lines += ["", *exposure]
    lines += ["", _footer(payload, timezone, w)]
    return "\n".join(lines)


def _lapse_groups(lapses: Sequence[LapseEntry]) -> list[list[LapseEntry]]:
    """A lapse's entries by target and by the levels in force and lifted, in order."""
    groups: dict[tuple[str, int, int], list[LapseEntry]] = {}
    for lapse in lapses:
        groups.setdefault((lapse["target"], lapse["level"], lapse["lifted"]), []).append(lapse)
    return list(groups.values())


def _lapse_subject(group: Sequence[LapseEntry], *, name_target: bool, r: Reader) -> str:
    subject = r.w.listing([_material(lapse, r) for lapse in group]).capitalize()
    return subject + (f" → {_target(group[0], r)}" if name_target else "")


def lapse_line(group: Sequence[LapseEntry], until: str, *, name_target: bool, r: Reader = ENGLISH) -> str:
    """What ran out for one target's materials, what comes back unless it was extended, what the bot shows."""
    w = r.w
    level, lifted = Level(group[0]["level"]), Level(group[0]["lifted"])
    return f"{LEVEL_MARKS[lifted]} " + w._(
        "%(subject)s: %(lifted_measure)s was suspended until %(until)s. Unless the suspension was extended, exports "
        "are back to <b>%(lifted)s</b>; for now the bot still shows %(level)s, as no announcement of either has "
        "reached its sources.",
        subject=esc(_lapse_subject(group, name_target=name_target, r=r)),
        lifted_measure=lifted_measure(w, lifted),
        until=esc(w.date(until)),
        lifted=level_name(w, lifted),
        level=level_name(w, level),
    )


def lapse_message(payload: LapsePayload, pairs: Sequence[str] = (), timezone: str = "UTC", r: Reader = ENGLISH) -> str:
    """The alert for a suspension that ran out: what comes back unless it was extended (for this chat's
    countries), and what to watch."""
    w = r.w
    lapses = chat_lapses(payload, pairs)
    groups = _lapse_groups(lapses)
    name_target = len({lapse["target"] for lapse in lapses}) > 1
    targets = w.listing(list(dict.fromkeys(_target(lapse, r) for lapse in lapses)))
    issuer = r.name(Kind.COUNTRY, str(payload.get("issuer")), payload["issuer_name"])
    heading = w._("A suspension has run out: %(issuer)s → %(targets)s", issuer=esc(issuer), targets=esc(targets))
    until = str(payload["until"])
    lines = [
        f"⏰ <b>{heading}</b>",
        *(lapse_line(group, until, name_target=name_target, r=r) for group in groups[:MAX_CHANGE_LINES]),
    ]
    if len(groups) > MAX_CHANGE_LINES:
        lines.append(_more(w, len(groups) - MAX_CHANGE_LINES))
    lines += ["", evidence_line(payload)]
    exposure = _exposure_lines(payload, pairs, w._("Your exposure, unless it was extended"), r)
    if exposure:
        lines += ["", *exposure]
    lines += [
        "",
        "👉 "
        + w._(
            "Confirm with your suppliers which applies before the next shipment; /status %(material)s will show the "
            "announcement as soon as the bot sees one.",
            material=esc(lapses[0]["material"]),
        ),
        _footer(payload, timezone, w),
    ]
    return "\n".join(lines)


def admin_message(payload: AdminPayload, w: Words | None = None) -> str:
    """An alert for the admins (a source down or back, deliveries failing); its detail is the operator's log text."""
    w = w or words()
    return "🛠 <b>" + w._("Chokepoint admin") + f"</b>\n{esc(payload.get('text', ''))}"


def _lapse_digest_lines(payload: LapsePayload, pairs: Sequence[str], r: Reader) -> list[str]:
    lines = []
    for group in _lapse_groups(chat_lapses(payload, pairs))[:MAX_CHANGE_LINES]:
        level, lifted = Level(group[0]["level"]), Level(group[0]["lifted"])
        lines.append(
            "⏰ "
            + r.w._(
                "%(subject)s: suspension ran out after %(until)s; <b>%(lifted)s</b> unless extended (the bot still "
                "shows %(level)s)",
                subject=esc(_lapse_subject(group, name_target=True, r=r)),
                until=esc(r.w.date(str(payload["until"]))),
                lifted=level_name(r.w, lifted),
                level=level_name(r.w, level),
            )
        )
    return lines


def _digest_entry(item: DigestItem, timezone: str, r: Reader) -> list[str]:
    payload, pairs = item["payload"], item.get("pairs", [])
    if is_lapse(payload):
        changed = _lapse_digest_lines(payload, pairs, r)
    else:
        changed = _change_lines(chat_changes(cast(StatusPayload, payload), pairs), r)
    lines = [f"• {line}" for line in changed]
    lines.append(f"   {evidence_line(payload)} · {moment(payload['at'], timezone)}")
    lines += [f"   📊 {exposure_line(payload['exposure'][key], r, key)}" for key in exposure_keys(pairs, payload)]
    return lines


def _digest_count(items: Sequence[DigestItem], w: Words) -> str:
    """'2 status changes', with ', 1 suspension run out' where lapses are among them."""
    statuses = [(cast(StatusPayload, item["payload"]), item) for item in items if not is_lapse(item["payload"])]
    changes = sum(len(chat_changes(payload, item.get("pairs", []))) for payload, item in statuses)
    lapses = len(items) - len(statuses)
    counted = w.ngettext("%(n)s status change", "%(n)s status changes", changes)
    if not lapses:
        return counted
    ran_out = w.ngettext("%(n)s suspension run out", "%(n)s suspensions run out", lapses)
    return w._("%(changes)s, %(lapses)s", changes=counted, lapses=ran_out) if changes else ran_out


def digest_message(payload: DigestPayload, timezone: str = "UTC", r: Reader = ENGLISH) -> str:
    """One message summarising a chat's changes since its last digest."""
    w = r.w
    items = payload.get("items", [])
    heading = w._("Daily digest — %(date)s", date=esc(w.date(str(payload.get("date", "")))))
    lines = [f"🗞 <b>{heading}</b>: {_digest_count(items, w)}", ""]
    for item in items:
        lines += [*_digest_entry(item, timezone, r), ""]
    return "\n".join(lines).rstrip()


def alert_message(
    kind: AlertKind,
    payload: AlertPayload,
    pairs: Sequence[str] = (),
    timezone: str = "UTC",
    language: str = "en",
    vocabulary: Vocabulary | None = None,
) -> str:
    """The message for an alert of any kind, its times in the chat's time zone, its words in the chat's language
    (names of countries, materials and sectors from the vocabulary, where one is given); the kind says which
    payload it is."""
    r = Reader(language, vocabulary)
    match kind:
        case "admin":
            return admin_message(cast(AdminPayload, payload), r.w)
        case "digest":
            return digest_message(cast(DigestPayload, payload), timezone, r)
        case "lapse":  # written by versions before measures (docs/ARCHITECTURE.md); kept readable
            return lapse_message(cast(LapsePayload, payload), pairs, timezone, r)
        case "confirmation" | "correction":
            return follow_up_message(kind, cast(FollowUpPayload, payload), timezone, r)
        case "desk":
            return desk_message(cast(DeskPayload, payload), timezone, r)
    return status_alert_message(cast(StatusPayload, payload), pairs, timezone, r)
