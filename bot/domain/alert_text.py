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
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
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
from bot.domain.ladder import Level
from bot.domain.timing import zone
from bot.domain.values import ALL, SEVERITIES, AlertKind, FollowUpKind, Severity

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
LIFTED_MEASURES = {  # what a suspension lifted, by the level it comes back to
    Level.BANNED: "the ban",
    Level.RESTRICTED: "the restrictions",
    Level.LICENSING: "the licence requirement",
    Level.REVIEW: "the tightened licence review",
    Level.WATCH: "the warning",
    Level.NORMAL: "nothing",
}
MAX_CHANGE_LINES = 25
MAX_TITLE = 400


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


def _verb(changes: Sequence[ChangeEntry]) -> str:
    if all(change["new"] > change["old"] for change in changes):
        return "Tightened"
    if all(change["new"] < change["old"] for change in changes):
        return "Eased"
    return "Changed"


def _targets(changes: Sequence[ChangeEntry]) -> list[str]:
    names: list[str] = []
    for change in changes:
        if change["target_name"] not in names:
            names.append(change["target_name"])
    return names


def change_line(change: ChangeEntry, *, name_target: bool) -> str:
    """One move: mark, material (→ target), old → new level."""
    old, new = Level(change["old"]), Level(change["new"])
    subject = str(change["material_name"]).capitalize()
    if name_target:
        subject += f" → {change['target_name']}"
    return f"{LEVEL_MARKS[new]} {esc(subject)}: {old.label} → <b>{new.label}</b>"


def _change_lines(changes: Sequence[ChangeEntry]) -> list[str]:
    name_target = len(_targets(changes)) > 1
    lines = [change_line(change, name_target=name_target) for change in changes[:MAX_CHANGE_LINES]]
    if len(changes) > MAX_CHANGE_LINES:
        lines.append(f"… and {len(changes) - MAX_CHANGE_LINES} more")
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


def exposure_line(entry: ExposureEffect) -> str:
    """'Japan · autos: 40 → 63/100 (moderate → high)'."""
    before, after = entry["band_before"], entry["band_after"]
    bands = after if before == after else f"{before} → {after}"
    return f"{esc(entry['country'])} · {esc(entry['sector'])}: {entry['before']} → {entry['after']}/100 ({bands})"


def _exposure_lines(
    payload: StatusPayload | LapsePayload, pairs: Sequence[str], heading: str = "Your exposure"
) -> list[str]:
    keys = exposure_keys(pairs, payload)
    if not keys:
        return []
    entries = [exposure_line(payload["exposure"][key]) for key in keys]
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
    """The headline (shortened), linked, with its source."""
    title = shorten(str(payload["title"]), MAX_TITLE)
    return f"📰 {link(title, payload.get('url'))} — {esc(shorten(str(payload['source']), MAX_TITLE))}"


def qualifier_lines(payload: StatusPayload) -> list[str]:
    """What narrows the levels above: a measure only reported so far, one on military end users only."""
    entries = payload.get("changes", [])
    lines = []
    if any(entry.get("provenance") == "reported" for entry in entries):
        issuer = "MOFCOM" if payload.get("issuer") == "CN" else "the issuer"
        lines.append(f"⚠️ <i>Reported, not confirmed by {issuer}.</i>")
    if entries and all(entry.get("end_use") == "military" for entry in entries):
        lines.append("🎖 <i>Military end users and uses only.</i>")
    return lines


FOLLOW_UPS: dict[FollowUpKind, tuple[str, str, str]] = {
    "confirmation": (
        "✅", "Confirmed", "What was reported is now confirmed by an official source; levels stay as alerted.",
    ),
    "correction": (
        "↩️", "Correction",
        "The report alerted earlier was not confirmed and has been withdrawn; levels are back to what they were.",
    ),
}  # fmt: skip


def follow_up_message(kind: FollowUpKind, payload: FollowUpPayload, timezone: str = "UTC") -> str:
    """The follow-up to an alert on a reported measure: confirmed by an official source, or withdrawn by the desk."""
    mark, heading, sentence = FOLLOW_UPS[kind]
    title = f"{mark} <b>{heading}: {esc(payload['measure_label'])}</b>"
    return "\n".join([title, sentence, "", evidence_line(payload), "", f"🕒 {moment(payload['at'], timezone)}"])


DESK_KINDS = {
    "unconfirmed": "A reported restriction or ban from one source only: alerted as unconfirmed.",
    "easing": "An easing of an official measure seen only from the press or an aggregator: held until confirmed.",
}


def desk_message(payload: DeskPayload, timezone: str = "UTC") -> str:
    """The desk's copy of an unsure reading: what it says, where from, and what Confirm and Dismiss do."""
    level = Level(int(payload.get("level", 0))).label
    materials = ", ".join(str(m) for m in payload.get("materials", [])) or "no material named"
    targets = ", ".join(str(t) for t in payload.get("targets", [])) or "?"
    return "\n".join([
        f"🧐 <b>For the desk: {esc(payload['direction'])} {esc(level)}</b> — {esc(materials)} → {esc(targets)}",
        esc(DESK_KINDS.get(str(payload.get("kind")), "")),
        "",
        evidence_line(payload),
        f"Measure: {esc(payload.get('measure_label', ''))}",
        "",
        f"🕒 {moment(payload['at'], timezone)} · desk item {esc(payload.get('desk_id', ''))}",
    ])  # fmt: skip


def alert_buttons(kind: AlertKind, payload: AlertPayload) -> tuple[tuple[str, str], ...]:
    """Inline buttons (label, callback data) that go with an alert's last part: Confirm and Dismiss on the desk's."""
    if kind != "desk":
        return ()
    desk_id = cast(DeskPayload, payload).get("desk_id")
    return (("✅ Confirm", f"desk:confirmed:{desk_id}"), ("🗑 Dismiss", f"desk:dismissed:{desk_id}"))


def status_alert_message(payload: StatusPayload, pairs: Sequence[str] = (), timezone: str = "UTC") -> str:
    """The alert for one item's status changes, as this chat's countries see them, with what they do to this
    chat's exposure."""
    changes = chat_changes(payload, pairs)
    mark = SEVERITY_MARKS.get(payload.get("severity", "info"), "🔔")
    header = f"{mark} <b>{_verb(changes)}: {esc(payload['issuer_name'])} → {esc(', '.join(_targets(changes)))}</b>"
    lines = [header, *_change_lines(changes), *qualifier_lines(payload), "", evidence_line(payload)]
    exposure = _exposure_lines(payload, pairs)
    if exposure:
        lines += ["", *exposure]
    lines += ["", f"🕒 {moment(payload['at'], timezone)} · severity {esc(payload.get('severity', 'info'))}"]
    return "\n".join(lines)


def _lapse_groups(lapses: Sequence[LapseEntry]) -> list[list[LapseEntry]]:
    """A lapse's entries by target and by the levels in force and lifted, in order."""
    groups: dict[tuple[str, int, int], list[LapseEntry]] = {}
    for lapse in lapses:
        groups.setdefault((lapse["target"], lapse["level"], lapse["lifted"]), []).append(lapse)
    return list(groups.values())


def _lapse_subject(group: Sequence[LapseEntry], *, name_target: bool) -> str:
    subject = ", ".join(str(lapse["material_name"]) for lapse in group).capitalize()
    return subject + (f" → {group[0]['target_name']}" if name_target else "")


def lapse_line(group: Sequence[LapseEntry], until: str, *, name_target: bool) -> str:
    """What ran out for one target's materials, what comes back unless it was extended, what the bot shows."""
    level, lifted = Level(group[0]["level"]), Level(group[0]["lifted"])
    return (
        f"{LEVEL_MARKS[lifted]} {esc(_lapse_subject(group, name_target=name_target))}: "
        f"{LIFTED_MEASURES[lifted]} was suspended until {esc(until)}. Unless the suspension was extended, exports "
        f"are back to <b>{lifted.label}</b>; for now the bot still shows {level.label}, as no announcement of "
        "either has reached its sources."
    )


def lapse_message(payload: LapsePayload, pairs: Sequence[str] = (), timezone: str = "UTC") -> str:
    """The alert for a suspension that ran out: what comes back unless it was extended (for this chat's
    countries), and what to watch."""
    lapses = chat_lapses(payload, pairs)
    groups = _lapse_groups(lapses)
    name_target = len({lapse["target"] for lapse in lapses}) > 1
    targets = ", ".join(dict.fromkeys(str(lapse["target_name"]) for lapse in lapses))
    lines = [
        f"⏰ <b>A suspension has run out: {esc(payload['issuer_name'])} → {esc(targets)}</b>",
        *(lapse_line(group, str(payload["until"]), name_target=name_target) for group in groups[:MAX_CHANGE_LINES]),
    ]
    if len(groups) > MAX_CHANGE_LINES:
        lines.append(f"… and {len(groups) - MAX_CHANGE_LINES} more")
    lines += ["", evidence_line(payload)]
    exposure = _exposure_lines(payload, pairs, "Your exposure, unless it was extended")
    if exposure:
        lines += ["", *exposure]
    lines += [
        "",
        f"👉 Confirm with your suppliers which applies before the next shipment; /status {esc(lapses[0]['material'])} "
        "will show the announcement as soon as the bot sees one.",
        f"🕒 {moment(payload['at'], timezone)} · severity {esc(payload.get('severity', 'info'))}",
    ]
    return "\n".join(lines)


def admin_message(payload: AdminPayload) -> str:
    """An alert for the admins (a source down or back, deliveries failing)."""
    return f"🛠 <b>Chokepoint admin</b>\n{esc(payload.get('text', ''))}"


def _lapse_digest_lines(payload: LapsePayload, pairs: Sequence[str]) -> list[str]:
    lines = []
    for group in _lapse_groups(chat_lapses(payload, pairs))[:MAX_CHANGE_LINES]:
        level, lifted = Level(group[0]["level"]), Level(group[0]["lifted"])
        lines.append(
            f"⏰ {esc(_lapse_subject(group, name_target=True))}: suspension ran out after "
            f"{esc(payload['until'])}; <b>{lifted.label}</b> unless extended (the bot still shows {level.label})"
        )
    return lines


def _digest_entry(item: DigestItem, timezone: str) -> list[str]:
    payload, pairs = item["payload"], item.get("pairs", [])
    if is_lapse(payload):
        changed = _lapse_digest_lines(payload, pairs)
    else:
        changed = _change_lines(chat_changes(cast(StatusPayload, payload), pairs))
    lines = [f"• {line}" for line in changed]
    lines.append(f"   {evidence_line(payload)} · {moment(payload['at'], timezone)}")
    lines += [f"   📊 {exposure_line(payload['exposure'][key])}" for key in exposure_keys(pairs, payload)]
    return lines


def _digest_count(items: Sequence[DigestItem]) -> str:
    """'2 status changes', with ', 1 suspension run out' where lapses are among them."""
    statuses = [(cast(StatusPayload, item["payload"]), item) for item in items if not is_lapse(item["payload"])]
    changes = sum(len(chat_changes(payload, item.get("pairs", []))) for payload, item in statuses)
    lapses = len(items) - len(statuses)
    counted = f"{changes} status {'change' if changes == 1 else 'changes'}"
    if not lapses:
        return counted
    ran_out = f"{lapses} {'suspension' if lapses == 1 else 'suspensions'} run out"
    return f"{counted}, {ran_out}" if changes else ran_out


def digest_message(payload: DigestPayload, timezone: str = "UTC") -> str:
    """One message summarising a chat's changes since its last digest."""
    items = payload.get("items", [])
    lines = [f"🗞 <b>Daily digest — {esc(payload.get('date', ''))}</b>: {_digest_count(items)}", ""]
    for item in items:
        lines += [*_digest_entry(item, timezone), ""]
    return "\n".join(lines).rstrip()


def alert_message(kind: AlertKind, payload: AlertPayload, pairs: Sequence[str] = (), timezone: str = "UTC") -> str:
    """The message for an alert of any kind, its times in the chat's time zone; the kind says which payload it is."""
    match kind:
        case "admin":
            return admin_message(cast(AdminPayload, payload))
        case "digest":
            return digest_message(cast(DigestPayload, payload), timezone)
        case "lapse":  # written by versions before measures (docs/ARCHITECTURE.md); kept readable
            return lapse_message(cast(LapsePayload, payload), pairs, timezone)
        case "confirmation" | "correction":
            return follow_up_message(kind, cast(FollowUpPayload, payload), timezone)
        case "desk":
            return desk_message(cast(DeskPayload, payload), timezone)
    return status_alert_message(cast(StatusPayload, payload), pairs, timezone)
