"""The closed sets of values the stages pass each other, each defined here once (docs/ARCHITECTURE.md).

A field typed with one of these takes nothing else: mypy holds a measurement, a measure and an alert payload to
the words of the contract. The outbox's own words (delivery states, modes, holds) and the heartbeats' live in
`storage/`, which imports nothing of the domain.
"""

from __future__ import annotations

from typing import Final, Literal, TypeAlias, get_args

ALL: Final = "ALL"  # the target of a measure on every destination, and a subscription to every country

Direction: TypeAlias = Literal["tighten", "ease", "none"]
TIGHTEN: Final = "tighten"
EASE: Final = "ease"
NONE: Final = "none"

# How far a measurement may move statuses: goods (the default), or only entities, technology or a framework.
MeasureScope: TypeAlias = Literal["goods", "entities", "technology", "framework"]
GOODS: Final = "goods"
SCOPES: tuple[MeasureScope, ...] = ("framework", "entities", "technology")

Effect: TypeAlias = Literal["", "lift", "grant"]  # what an easing does: a measure removed, or licences granted
LIFT: Final = "lift"
GRANT: Final = "grant"

Action: TypeAlias = Literal["", "suspend", "extend", "lift"]  # what an easing asks of the measures it names
EasingAction: TypeAlias = Literal["suspend", "lift", "extend"]
SUSPEND: Final = "suspend"
EXTEND: Final = "extend"

EndUse: TypeAlias = Literal["any", "military"]
END_USES: tuple[EndUse, ...] = ("any", "military")
Provenance: TypeAlias = Literal["official", "reported"]
PROVENANCES: tuple[Provenance, ...] = ("official", "reported")

MeasureState: TypeAlias = Literal["announced", "in_force", "suspended", "lifted", "withdrawn"]

# A source's tier: the issuer's own pages (their items are official), a newsroom, or a news search.
Trust: TypeAlias = Literal["official", "press", "aggregator"]
TRUST_TIERS: tuple[Trust, ...] = ("official", "press", "aggregator")

Severity: TypeAlias = Literal["info", "low", "medium", "high", "critical"]
SEVERITIES: tuple[Severity, ...] = ("info", "low", "medium", "high", "critical")

# `lapse` is written by versions before measures and kept readable; nothing writes it now.
AlertKind: TypeAlias = Literal["status", "digest", "admin", "confirmation", "correction", "desk", "lapse"]
FollowUpKind: TypeAlias = Literal["confirmation", "correction"]

DeskChoice: TypeAlias = Literal["confirmed", "dismissed"]
CONFIRMED: Final = "confirmed"
DISMISSED: Final = "dismissed"
DeskItemKind: TypeAlias = Literal["unconfirmed", "easing"]
DeskState: TypeAlias = Literal["pending", "confirmed", "dismissed", "corroborated"]

# The languages of replies (bot/domain/i18n.py reads their catalogs).
Language = Literal["en", "ja", "zh"]
LANGUAGES: tuple[Language, ...] = get_args(Language)
