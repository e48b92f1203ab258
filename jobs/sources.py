"""The sources file: which pages and feeds to check, how often, and how to read them."""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import re
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar
from urllib.parse import urlsplit

from bot.domain.datafiles import bundled_path, load_yaml, yaml_parser
from bot.domain.values import TRUST_TIERS, Trust
from jobs.parse import JsonKeys, check_selector

if TYPE_CHECKING:
    from bot.domain.vocab import Vocabulary

Kind = Literal["rss", "html", "json"]
KINDS: tuple[Kind, ...] = ("rss", "html", "json")
MIN_INTERVAL = 10
MAX_INTERVAL = 7 * 86_400

_REQUIRED = ("id", "name", "kind", "url", "every")
_OPTIONAL = ("select", "issuer", "language", "json_keys", "allow_private", "trust")
_REQUIRED_KEYS, _KNOWN_KEYS = frozenset(_REQUIRED), frozenset(_REQUIRED + _OPTIONAL)
_JSON_KEY_FIELDS = ("title", "link", "date", "guid", "summary")
_SLUG = re.compile(r"[a-z0-9][a-z0-9-]*")
_ISSUER = re.compile(r"[A-Z]{2}")
_LANGUAGE = re.compile(r"[a-z]{2,3}(?:-[A-Za-z0-9]{2,8})*")
_DURATION = re.compile(r"(?:\d+d)?(?:\d+h)?(?:\d+m)?(?:\d+s)?")  # each unit once, largest first: 1h30m
_CACHE_FORMAT = 1  # of what `keep_document` writes: raise it when that changes
_SPACE = re.compile(r"\s")  # what str.isspace() calls space, in one search of the C engine
_DURATION_PART = re.compile(r"(\d+)([smhd])")
_DOTTED_PATH = re.compile(r"[^.\s]+(?:\.[^.\s]+)*")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3_600, "d": 86_400}

T = TypeVar("T")


class SourcesFileError(ValueError):
    """The sources file cannot be used; the message names the file, the source and the key."""


@dataclass(frozen=True, slots=True)
class SourceSpec:
    """One tracked source, as the sources file describes it."""

    id: str
    name: str
    kind: Kind
    url: str
    every_seconds: int
    select: str | None = None  # html: CSS selector of the item links; json: dotted path to the item list
    issuer: str | None = None  # ISO alpha-2 (or EU): who issues the measures this source reports
    language: str | None = None  # a hint for the measuring rules: "en", "zh", "ja"
    json_keys: JsonKeys | None = None  # json: where each item keeps its title, link, date, guid, summary
    allow_private: bool = False  # may reach loopback and private addresses: an operator's own intranet only
    # official: the issuer's own pages (their items are official); press: a newsroom; aggregator: a news search.
    # An easing of an official measure seen only from press or aggregators waits for the desk.
    trust: Trust = "press"


class _KeyProblem(Exception):
    """A bad value under one key of one source."""

    def __init__(self, key: str, what: str) -> None:
        super().__init__(what)
        self.key = key
        self.what = what


def bundled_sources_path() -> Path:
    """The sources file shipped with the bot: bot/data/sources.yaml."""
    return bundled_path("data", "sources.yaml")


@functools.lru_cache(maxsize=256)  # a sources file says "10m" a thousand times: read it once
def parse_interval(text: str) -> int:
    """Seconds in a duration such as 30s, 10m, 2h, 1d or 1h30m; between 10 seconds and 7 days."""
    text = text.strip()
    if not text or not _DURATION.fullmatch(text):
        raise ValueError(f"{text!r} is not a duration like 30s, 10m, 2h, 1d or 1h30m (units largest first, each once)")
    seconds = sum(int(count) * _UNIT_SECONDS[unit] for count, unit in _DURATION_PART.findall(text))
    if seconds < MIN_INTERVAL:
        raise ValueError(f"{text!r} is too short: at least {MIN_INTERVAL}s")
    if seconds > MAX_INTERVAL:
        raise ValueError(f"{text!r} is too long: at most 7d")
    return seconds


def load_sources(path: Path, cache: Path | None = None) -> list[SourceSpec]:
    """Read and check a sources file; raise SourcesFileError naming the file, source and key at fault.

    CACHE: a file that keeps the document parsed from the last sources file read (`sources_cache_path`,
    bot/watching.py): the same bytes again, read by the same parser, are not parsed again (YAML takes ~75 ms for a
    thousand sources), and what they hold is checked again all the same. Only a document that passed its checks
    is kept."""
    raw = _read_bytes(path)
    kept = kept_document(cache, raw) if cache else None
    document = _parse_yaml(path, raw) if kept is None else kept
    entries = _source_entries(path, document)
    specs = [_spec_at(path, entry, index) for index, entry in enumerate(entries, start=1)]
    _check_unique_ids(path, specs)
    if cache and kept is None:
        keep_document(cache, raw, document)
    return specs


def check_issuers(path: Path, sources: Sequence[SourceSpec], vocabulary: Vocabulary) -> None:
    """Refuse a source whose issuer is no country of the vocabulary: the measures it reports would stand under a
    country no answer, status or alert knows. Checked where the vocabulary is loaded anyway (the bot's start, a
    check once it opens its services), not when the file is read: a check that finds nothing new goes without the
    vocabulary."""
    for source in sources:
        if source.issuer is not None and source.issuer not in vocabulary.countries:
            from bot.domain.vocab import Kind  # here: only a wrong issuer needs it

            closest = vocabulary.suggest(Kind.COUNTRY, source.issuer)
            raise SourcesFileError(
                f"{path}: source '{source.id}': key 'issuer': '{source.issuer}' is not a country of the vocabulary."
                f" Closest: {', '.join(closest) or 'none'}"
            )


def kept_document(cache: Path, raw: bytes) -> object | None:
    """The document CACHE keeps for these bytes, or None: when it keeps another file's, another parser's, or
    none, or cannot be read, or does not match the digest it was written with."""
    try:
        header, _, body = cache.read_bytes().partition(b"\n")
        kept = json.loads(header)
        if not isinstance(kept, dict) or kept.get("key") != _parse_key(raw) or kept.get("check") != _digest(body):
            return None
        document: object = json.loads(body)
    except (OSError, ValueError):
        return None
    return document


def keep_document(cache: Path, raw: bytes, document: object) -> None:
    """Keep DOCUMENT, parsed from RAW, in CACHE, whole or not at all: a header line (the parse's key, the body's
    digest), then the document as JSON. A document JSON would change (a YAML date, a key that is not text) is not
    kept; a cache that cannot be written is only slower."""
    try:
        text = json.dumps(document)  # ASCII: every string comes back as it was, a lone surrogate too
    except (TypeError, ValueError):
        return
    if json.loads(text) != document:
        return
    body = text.encode("ascii")
    header = json.dumps({"key": _parse_key(raw), "check": _digest(body)}).encode("ascii")
    try:
        partial = tempfile.NamedTemporaryFile(  # noqa: SIM115 (closed below, and removed if it cannot be used)
            "wb", dir=cache.parent, prefix=cache.name, suffix=".partial", delete=False
        )
    except OSError:  # no such folder yet, or not ours to write
        return
    try:
        with partial:
            partial.write(header + b"\n" + body)
        os.replace(partial.name, cache)  # a reader sees the old cache or the new one, never half of one
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(partial.name)


def _parse_key(raw: bytes) -> str:
    """What names a parse: the bytes, and the parser that reads them (another PyYAML, or libyaml present or not,
    parses again)."""
    return _digest(f"{_CACHE_FORMAT} {yaml_parser()}\n".encode() + raw)


def _digest(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as error:
        raise SourcesFileError(f"{path}: cannot read: {error.strerror or error}") from None


def _parse_yaml(path: Path, raw: bytes) -> object:
    """The parsed YAML document."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise SourcesFileError(f"{path}: not UTF-8 text") from None
    import yaml  # here: a check whose sources file is kept parsed does without it (~12 ms)

    try:
        return load_yaml(text)
    except yaml.MarkedYAMLError as error:
        line = error.problem_mark.line + 1 if error.problem_mark else "?"
        raise SourcesFileError(f"{path}: invalid YAML at line {line}: {error.problem}") from None
    except yaml.YAMLError as error:
        raise SourcesFileError(f"{path}: invalid YAML: {error}") from None


def _source_entries(path: Path, document: object) -> list[Any]:
    """The list under the top-level key `sources`."""
    if not isinstance(document, dict) or "sources" not in document:
        raise SourcesFileError(f"{path}: expected a mapping with the key 'sources' at the top level")
    extra = sorted(str(key) for key in document if key != "sources")
    if extra:
        raise SourcesFileError(f"{path}: key '{extra[0]}': unknown top-level key (only 'sources' is allowed)")
    entries = document["sources"]
    if not isinstance(entries, list) or not entries:
        raise SourcesFileError(f"{path}: key 'sources': expected a non-empty list of sources")
    return entries


def _spec_at(path: Path, entry: object, index: int) -> SourceSpec:
    """Check one list entry, naming it by id when it has a usable one, else by position."""
    if not isinstance(entry, dict):
        raise SourcesFileError(f"{path}: source #{index}: expected a mapping of keys, got {_type_name(entry)}")
    entry_id = entry.get("id")
    label = f"source '{entry_id}'" if isinstance(entry_id, str) and entry_id.strip() else f"source #{index}"
    try:
        return _spec(entry)
    except _KeyProblem as problem:
        raise SourcesFileError(f"{path}: {label}: key '{problem.key}': {problem.what}") from None


def _check_unique_ids(path: Path, specs: list[SourceSpec]) -> None:
    """Statuses and items refer to sources by id, so two sources may not share one."""
    first: dict[str, int] = {}
    for index, spec in enumerate(specs, start=1):
        if spec.id in first:
            raise SourcesFileError(f"{path}: source '{spec.id}': key 'id': duplicate of source #{first[spec.id]}")
        first[spec.id] = index


def _spec(entry: Mapping[Any, Any]) -> SourceSpec:
    """A SourceSpec from one mapping; raises _KeyProblem."""
    _check_keys(entry)
    kind = _field(entry, "kind", _kind)
    spec = SourceSpec(
        id=_field(entry, "id", _slug),
        name=_field(entry, "name", _name),
        kind=kind,
        url=_field(entry, "url", _url),
        every_seconds=_field(entry, "every", _interval),
        select=_optional(entry, "select", _selector_checker(kind)),
        issuer=_optional(entry, "issuer", _issuer),
        language=_optional(entry, "language", _language),
        json_keys=_optional(entry, "json_keys", _json_keys),
        allow_private=_optional(entry, "allow_private", _boolean) or False,
        trust=_optional(entry, "trust", _trust) or "press",
    )
    _check_kind_fit(spec)
    return spec


def _check_keys(entry: Mapping[Any, Any]) -> None:
    """Refuse unknown keys and missing required ones."""
    if _REQUIRED_KEYS <= entry.keys() <= _KNOWN_KEYS:
        return  # the usual case, in two set comparisons: a thousand sources are checked at each start
    unknown = sorted(str(key) for key in entry if key not in _KNOWN_KEYS)
    if unknown:
        known = ", ".join(_REQUIRED + _OPTIONAL)
        raise _KeyProblem(unknown[0], f"unknown key (known keys: {known})")
    missing = [key for key in _REQUIRED if key not in entry]
    if missing:
        raise _KeyProblem(missing[0], "missing (required)")


def _check_kind_fit(spec: SourceSpec) -> None:
    """Keys that only make sense for some kinds."""
    if spec.kind == "html" and spec.select is None:
        raise _KeyProblem("select", "missing (required for kind html: the CSS selector of the item links)")
    if spec.kind == "rss" and spec.select is not None:
        raise _KeyProblem("select", "not used by kind rss")
    if spec.kind != "json" and spec.json_keys is not None:
        raise _KeyProblem("json_keys", f"only for kind json, not {spec.kind}")


def _field(entry: Mapping[Any, Any], key: str, check: Callable[[object], T]) -> T:
    """Check one value, turning the checker's ValueError into a problem with this key."""
    try:
        return check(entry[key])
    except _KeyProblem as problem:
        raise _KeyProblem(f"{key}.{problem.key}", problem.what) from None
    except ValueError as error:
        raise _KeyProblem(key, str(error)) from None


def _optional(entry: Mapping[Any, Any], key: str, check: Callable[[object], T]) -> T | None:
    """Check a value that may be left out."""
    return _field(entry, key, check) if key in entry else None


def _text(value: object) -> str:
    """A non-empty string."""
    if not isinstance(value, str):
        hint = " (quote it)" if isinstance(value, bool | int | float) else ""
        raise ValueError(f"expected text, got {_type_name(value)}{hint}")
    if not value.strip():
        raise ValueError("must not be empty")
    return value.strip()


def _type_name(value: object) -> str:
    """How YAML users would name what they wrote."""
    names = {bool: "a boolean", int: "a number", float: "a number", list: "a list", dict: "a mapping"}
    return "nothing" if value is None else names.get(type(value), type(value).__name__)


def _slug(value: object) -> str:
    """A lower-case slug: statuses and items refer to the source by it."""
    text = _text(value)
    if not _SLUG.fullmatch(text):
        raise ValueError(f"{text!r} is not a slug (lower-case letters, digits and '-', e.g. mofcom-security)")
    return text


def _name(value: object) -> str:
    """A display name."""
    return _text(value)


def _kind(value: object) -> Kind:
    """One of the kinds the parser reads."""
    text = _text(value)
    if text not in KINDS:
        raise ValueError(f"{text!r} is not a kind: use one of {', '.join(KINDS)}")
    return text


def _url(value: object) -> str:
    """An absolute http or https URL."""
    text = _text(value)
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname or _SPACE.search(text):
        raise ValueError(f"{text!r} is not an http(s) URL")
    try:
        parts.port  # noqa: B018 - reading it checks it: 0 to 65535
    except ValueError:
        raise ValueError(f"{text!r} has a port out of range (0 to 65535)") from None
    return text


def _trust(value: object) -> Trust:
    """official, press or aggregator."""
    for tier in TRUST_TIERS:
        if value == tier:
            return tier
    raise ValueError(f"expected one of {', '.join(TRUST_TIERS)}, got {value!r}")


def _boolean(value: object) -> bool:
    """true or false, as YAML writes them."""
    if not isinstance(value, bool):
        raise ValueError(f"expected true or false, got {_type_name(value)}")
    return value


def _interval(value: object) -> int:
    """A duration as seconds."""
    if not isinstance(value, str):
        raise ValueError(f"expected a duration like 30s, 10m, 2h or 1d, got {_type_name(value)}")
    return parse_interval(value)


def _selector_checker(kind: Kind) -> Callable[[object], str]:
    """The check of `select`, which means a CSS selector for html and a dotted path for json."""
    return _json_path if kind == "json" else _css_selector


def _css_selector(value: object) -> str:
    """A CSS selector that compiles."""
    text = _text(value)
    check_selector(text)
    return text


def _json_path(value: object) -> str:
    """A dotted path such as data.items."""
    text = _text(value)
    if not _DOTTED_PATH.fullmatch(text):
        raise ValueError(f"{text!r} is not a dotted path like data.items")
    return text


def _issuer(value: object) -> str:
    """An ISO 3166-1 alpha-2 code in upper case, or EU."""
    text = _text(value)
    if not _ISSUER.fullmatch(text):
        raise ValueError(f"{text!r} is not a country code: two upper-case letters such as CN, JP, US or EU")
    return text


def _language(value: object) -> str:
    """A language tag such as en, zh or ja."""
    text = _text(value)
    if not _LANGUAGE.fullmatch(text):
        raise ValueError(f"{text!r} is not a language code such as en, zh or ja")
    return text


def _json_keys(value: object) -> JsonKeys:
    """Where JSON items keep their fields: a mapping from title, link, date, guid, summary to a key."""
    if not isinstance(value, dict):
        raise ValueError(f"expected a mapping of {', '.join(_JSON_KEY_FIELDS)}, got {_type_name(value)}")
    for key in value:
        if key not in _JSON_KEY_FIELDS:
            raise _KeyProblem(str(key), f"unknown (known: {', '.join(_JSON_KEY_FIELDS)})")
    return JsonKeys(**{str(key): _field(value, str(key), _json_path) for key in value})
