"""Domain answers as chat messages (Telegram HTML) and as the JSON shapes of docs/ARCHITECTURE.md."""

from __future__ import annotations

from collections.abc import Sequence

from bot.domain.datafiles import JsonObject
from bot.domain.exposure import Exposure, MaterialExposure, drivers, other_share_sources
from bot.domain.html import esc
from bot.domain.i18n import Words, words
from bot.domain.labels import band_name, level_name
from bot.domain.ladder import Level
from bot.domain.status import Status
from bot.domain.vocab import Kind, Vocabulary

LEVEL_MARKS = {
    Level.NORMAL: "⚪",
    Level.WATCH: "🔵",
    Level.LICENSING: "🟡",
    Level.REVIEW: "🟠",
    Level.RESTRICTED: "🔴",
    Level.BANNED: "⛔",
}
BAND_MARKS = {"low": "🟢", "moderate": "🟡", "high": "🟠", "severe": "🔴"}


def exposure_message(exposure: Exposure, vocabulary: Vocabulary, w: Words | None = None) -> str:
    """The chat answer for one country and sector, in the reader's language."""
    w = w or words()
    lines = [
        "<b>"
        + w._(
            "%(country)s · %(sector)s: %(mark)s %(band)s exposure (%(score)s/100)",
            country=esc(vocabulary.display(Kind.COUNTRY, exposure.country, w.language)),
            sector=esc(vocabulary.display(Kind.SECTOR, exposure.sector, w.language)),
            mark=BAND_MARKS[exposure.band],
            band=band_name(w, exposure.band),
            score=exposure.score,
        )
        + "</b>",
        "",
        "<b>" + w._("What drives it") + "</b>",
        *(f"• {esc(sentence)}" for sentence in drivers(exposure, vocabulary, w)),
        "",
        w._("<b>Materials</b> (weight · share from China · level)"),
        *(
            f"{LEVEL_MARKS[part.level]} {esc(vocabulary.display(Kind.MATERIAL, part.material, w.language))}: "
            f"{w.percent(part.weight)} · {w.percent(part.china_share)} · {level_name(w, part.level)}"
            for part in exposure.materials
        ),
        *(f"<i>{esc(others)}</i>" for others in [other_share_sources(exposure, vocabulary, w)] if others),
        "",
        "<i>" + _score_line(exposure, w) + "</i>",
    ]
    return "\n".join(lines)


def _score_line(exposure: Exposure, w: Words) -> str:
    """How the score is made, with what the buffer does to it: a short one raises it, a long one lowers it."""
    date = w.date(exposure.as_of)
    if exposure.buffer is None:
        return w._("As of %(date)s. Score = Σ weight × China share × level severity (no buffer figure).", date=date)
    return w._(
        "As of %(date)s. Score = Σ weight × China share × level severity, × %(factor)s for a buffer of %(months)s "
        "months (× 1.30 with none, × 0.70 at six or more).",
        date=date,
        factor=w.number(exposure.buffer_factor, "0.00"),
        months=w.number(exposure.buffer.months),
    )


def ranking_message(country: str, ranked: Sequence[Exposure], vocabulary: Vocabulary, w: Words | None = None) -> str:
    """The chat answer for a country with no sector: its sectors, most exposed first."""
    w = w or words()
    name = vocabulary.display(Kind.COUNTRY, country, w.language)
    lines = ["<b>" + w._("%(country)s: exposure by sector", country=esc(name)) + "</b>", ""]
    for exposure in ranked:
        lines.append(
            f"{BAND_MARKS[exposure.band]} {esc(vocabulary.display(Kind.SECTOR, exposure.sector, w.language))}: "
            f"{exposure.score}/100 {band_name(w, exposure.band)}"
            f" — {esc(_top_material(exposure, vocabulary, w))}"
        )
    as_of = w.date(ranked[0].as_of) if ranked else ""
    details = w._("As of %(date)s. Details: /exposure %(country)s SECTOR", date=as_of, country=esc(country.lower()))
    lines += ["", f"<i>{details}</i>"]
    return "\n".join(lines)


def _top_material(exposure: Exposure, vocabulary: Vocabulary, w: Words) -> str:
    top = exposure.materials[0] if exposure.materials else None
    if top is None or top.contribution == 0:
        return w._("no measure in force on what it needs")
    return w._(
        "driven by %(material)s (%(level)s)",
        material=vocabulary.display(Kind.MATERIAL, top.material, w.language),
        level=level_name(w, top.level),
    )


def exposure_json(exposure: Exposure) -> JsonObject:
    """The `exposure --json` shape of docs/ARCHITECTURE.md."""
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
                **_material_extras(part),
            }
            for part in exposure.materials
        ],
        "buffer_months": exposure.buffer.months if exposure.buffer else None,
        "drivers": list(exposure.drivers),
        "as_of": exposure.as_of.isoformat(),
    }


def _material_extras(part: MaterialExposure) -> JsonObject:
    """What matters beside the contract keys: the end use of a military-only measure, a reported measure, a
    direct-import share beside a supply-chain share."""
    extras: JsonObject = {}
    if part.status is not None:
        extras["end_use"] = part.status.end_use
        extras["provenance"] = part.status.provenance
        extras["measure"] = part.status.measure
    if part.figure.direct_share is not None:
        extras["direct_share"] = part.figure.direct_share
    return extras


def status_json(status: Status, state: str = "in_force") -> JsonObject:
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
        "measure": status.measure,
        "instrument": status.instrument,
        "state": state,
        "end_use": status.end_use,
        "provenance": status.provenance,
        "effective": status.effective.isoformat() if status.effective else None,
        "lapsed": status.lapsed.isoformat() if status.lapsed else None,
    }
