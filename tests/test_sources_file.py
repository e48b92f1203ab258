"""The sources file: what loads, and what is refused with the file, the source and the key named."""

from __future__ import annotations

import datetime as dt
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from bot.domain.vocab import Vocabulary
from bot.watching import sources_cache_path
from jobs.parse import JsonKeys
from jobs.sources import (
    SourcesFileError,
    SourceSpec,
    bundled_sources_path,
    check_issuers,
    keep_document,
    kept_document,
    load_sources,
    parse_interval,
)

GOOD = """\
sources:
  - id: mofcom-security-bureau
    name: MOFCOM Security and Control Bureau
    kind: html
    url: https://aqygzj.mofcom.gov.cn/
    every: 30m
    select: "ul.list li a"
    issuer: CN
    language: zh
  - id: usgs-news
    name: USGS news
    kind: rss
    url: https://www.usgs.gov/news/feed
    every: 2h
  - id: notices-api
    name: Notices API
    kind: json
    url: http://api.example.com/notices?page=1
    every: 1h30m
    select: data.items
    json_keys: {title: attributes.headline, link: url}
"""


def write(tmp_path: Path, text: str) -> Path:
    """A sources file with this text."""
    path = tmp_path / "sources.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def source(**overrides: str | None) -> str:
    """The YAML of a one-source file: a valid html source with some keys changed (None removes a key)."""
    keys: dict[str, str | None] = {
        "id": "mofcom",
        "name": "MOFCOM",
        "kind": "html",
        "url": "https://aqygzj.mofcom.gov.cn/",
        "every": "30m",
        "select": '"ul.list li a"',
    }
    keys.update(overrides)
    lines = [f"{key}: {value}" for key, value in keys.items() if value is not None]
    return "sources:\n  - " + "\n    ".join(lines) + "\n"


def test_good_file_loads(tmp_path: Path) -> None:
    specs = load_sources(write(tmp_path, GOOD))
    assert specs == [
        SourceSpec(
            id="mofcom-security-bureau",
            name="MOFCOM Security and Control Bureau",
            kind="html",
            url="https://aqygzj.mofcom.gov.cn/",
            every_seconds=1800,
            select="ul.list li a",
            issuer="CN",
            language="zh",
        ),
        SourceSpec(
            id="usgs-news", name="USGS news", kind="rss", url="https://www.usgs.gov/news/feed", every_seconds=7200
        ),
        SourceSpec(
            id="notices-api",
            name="Notices API",
            kind="json",
            url="http://api.example.com/notices?page=1",
            every_seconds=5400,
            select="data.items",
            json_keys=JsonKeys(title="attributes.headline", link="url"),
        ),
    ]


def test_an_issuer_the_vocabulary_does_not_know_is_refused_naming_the_closest(
    tmp_path: Path, vocabulary: Vocabulary
) -> None:
    path = tmp_path / "sources.yaml"
    known = SourceSpec("wire", "Wire", "rss", "https://a.example/", 600, issuer="CN")
    check_issuers(path, [known, SourceSpec("no-issuer", "N", "rss", "https://b.example/", 600)], vocabulary)
    typo = SourceSpec("mofcom", "MOFCOM", "rss", "https://c.example/", 600, issuer="CM")
    with pytest.raises(SourcesFileError) as refused:
        check_issuers(path, [known, typo], vocabulary)
    message = str(refused.value)
    assert message.startswith(f"{path}: source 'mofcom': key 'issuer': 'CM' is not a country of the vocabulary.")
    assert "Closest: " in message and "CN" in message.split("Closest: ")[1]


def test_the_bundled_sources_name_issuers_the_vocabulary_knows(vocabulary: Vocabulary) -> None:
    path = bundled_sources_path()
    check_issuers(path, load_sources(path), vocabulary)


def test_bundled_file_loads() -> None:
    path = bundled_sources_path()
    specs = load_sources(path)
    assert path.name == "sources.yaml" and path.parent.name == "data"
    assert len(specs) >= 8
    ids = {spec.id for spec in specs}
    assert {"mofcom-security-bureau", "mofcom-english-announcements", "meti-releases", "usgs-news"} <= ids
    assert {spec.issuer for spec in specs if spec.id.startswith("mofcom")} == {"CN"}
    assert all(spec.select for spec in specs if spec.kind == "html")
    assert all(600 <= spec.every_seconds <= 7200 for spec in specs)


@pytest.mark.parametrize(
    ("overrides", "key", "what"),
    [
        ({"colour": "red"}, "colour", "unknown key"),
        ({"url": None}, "url", "missing (required)"),
        ({"every": None}, "every", "missing (required)"),
        ({"name": None}, "name", "missing (required)"),
        ({"kind": "atom"}, "kind", "'atom' is not a kind"),
        ({"every": "soon"}, "every", "'soon' is not a duration"),
        ({"every": "0m"}, "every", "too short"),
        ({"every": "-5m"}, "every", "is not a duration"),
        ({"every": '"30"'}, "every", "'30' is not a duration"),
        ({"every": "8d"}, "every", "too long"),
        ({"every": "600"}, "every", "expected a duration like 30s, 10m, 2h or 1d, got a number"),
        ({"url": "ftp://example.com/feed"}, "url", "is not an http(s) URL"),
        ({"url": "https:///no-host"}, "url", "is not an http(s) URL"),
        ({"url": "example.com/feed"}, "url", "is not an http(s) URL"),
        ({"url": "https://example.com:99999/feed"}, "url", "has a port out of range (0 to 65535)"),
        ({"select": None}, "select", "missing (required for kind html"),
        ({"select": '"ul["'}, "select", "invalid CSS selector"),
        ({"kind": "rss", "select": "a"}, "select", "not used by kind rss"),
        ({"kind": "json", "select": '"data..items"'}, "select", "is not a dotted path"),
        ({"json_keys": "{title: t}"}, "json_keys", "only for kind json"),
        ({"issuer": "China"}, "issuer", "is not a country code"),
        ({"issuer": "cn"}, "issuer", "is not a country code"),
        ({"language": "no"}, "language", "expected text, got a boolean (quote it)"),
        ({"language": "Chinese"}, "language", "is not a language code"),
        ({"name": '""'}, "name", "must not be empty"),
        ({"name": "[a, b]"}, "name", "expected text, got a list"),
        ({"allow_private": "yes please"}, "allow_private", "expected true or false, got str"),
        ({"allow_private": "1"}, "allow_private", "expected true or false, got a number"),
    ],
)
def test_bad_value_names_file_source_and_key(
    tmp_path: Path, overrides: dict[str, str | None], key: str, what: str
) -> None:
    path = write(tmp_path, source(**overrides))
    with pytest.raises(SourcesFileError) as caught:
        load_sources(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: source 'mofcom': key '{key}': "), message
    assert what in message


def test_bad_json_keys_name_the_inner_key(tmp_path: Path) -> None:
    path = write(tmp_path, source(kind="json", select="data", json_keys="{title: t, colour: c}"))
    with pytest.raises(SourcesFileError, match=re.escape("source 'mofcom': key 'json_keys.colour': unknown")):
        load_sources(path)
    path = write(tmp_path, source(kind="json", select=None, json_keys="{title: 'a..b'}"))
    with pytest.raises(SourcesFileError, match=re.escape("key 'json_keys.title': 'a..b' is not a dotted path")):
        load_sources(path)


@pytest.mark.parametrize(
    ("bad_id", "label"),
    [("MOFCOM", "source 'MOFCOM'"), ("-mofcom", "source '-mofcom'"), ("mofcom_bureau", "source 'mofcom_bureau'")],
)
def test_id_must_be_a_slug(tmp_path: Path, bad_id: str, label: str) -> None:
    path = write(tmp_path, source(id=bad_id))
    with pytest.raises(SourcesFileError, match=re.escape(f"{path}: {label}: key 'id': '{bad_id}' is not a slug")):
        load_sources(path)


def test_source_without_usable_id_is_named_by_position(tmp_path: Path) -> None:
    text = GOOD + "  - name: Nameless\n    kind: rss\n    url: https://x.example/feed\n    every: 1h\n"
    path = write(tmp_path, text)
    with pytest.raises(SourcesFileError, match=re.escape(f"{path}: source #4: key 'id': missing (required)")):
        load_sources(path)
    path = write(tmp_path, source(id="42"))
    with pytest.raises(SourcesFileError, match=re.escape(f"{path}: source #1: key 'id': expected text, got a number")):
        load_sources(path)


def test_duplicate_ids(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD + GOOD.removeprefix("sources:\n").split("  - id: usgs-news")[0])
    expected = f"{path}: source 'mofcom-security-bureau': key 'id': duplicate of source #1"
    with pytest.raises(SourcesFileError, match=re.escape(expected)):
        load_sources(path)


def test_duplicate_key_in_one_source(tmp_path: Path) -> None:
    path = write(tmp_path, source() + "    every: 10m\n")
    with pytest.raises(SourcesFileError, match=re.escape(f"{path}: invalid YAML at line 8: duplicate key 'every'")):
        load_sources(path)


def test_yaml_syntax_error_gives_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, "sources:\n  - id: a\n    name: [unclosed\n    kind: rss\n")
    with pytest.raises(SourcesFileError, match=rf"^{re.escape(str(path))}: invalid YAML at line \d+: "):
        load_sources(path)


@pytest.mark.parametrize(
    ("text", "what"),
    [
        ("", "expected a mapping with the key 'sources' at the top level"),
        ("- id: a\n", "expected a mapping with the key 'sources' at the top level"),
        ("feeds: []\n", "expected a mapping with the key 'sources' at the top level"),
        ("sources: []\n", "key 'sources': expected a non-empty list of sources"),
        ("sources: {id: a}\n", "key 'sources': expected a non-empty list of sources"),
        ("sources:\n  - just a string\n", "source #1: expected a mapping of keys, got str"),
        (GOOD + "defaults:\n  every: 10m\n", "key 'defaults': unknown top-level key"),
    ],
)
def test_bad_top_level(tmp_path: Path, text: str, what: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(SourcesFileError, match=re.escape(f"{path}: {what}")):
        load_sources(path)


def test_unreadable_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    with pytest.raises(SourcesFileError, match=re.escape(f"{missing}: cannot read: No such file or directory")):
        load_sources(missing)
    with pytest.raises(SourcesFileError, match=re.escape(f"{tmp_path}: cannot read: Is a directory")):
        load_sources(tmp_path)


def test_file_that_is_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "sources.yaml"
    path.write_bytes(source(name="商务部").encode("gbk"))
    with pytest.raises(SourcesFileError, match=re.escape(f"{path}: not UTF-8 text")):
        load_sources(path)


def test_yaml_tags_for_python_objects_are_refused(tmp_path: Path) -> None:
    path = write(tmp_path, source(name="!!python/object/apply:os.getcwd []"))
    with pytest.raises(SourcesFileError, match="invalid YAML at line 3"):
        load_sources(path)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("30s", 30), ("10s", 10), ("10m", 600), ("2h", 7200), ("1d", 86_400), ("7d", 604_800), (" 1h30m ", 5400)],
)
def test_parse_interval(text: str, seconds: int) -> None:
    assert parse_interval(text) == seconds


@pytest.mark.parametrize(
    "text", ["", "0s", "9s", "-1m", "1.5h", "10 m", "10M", "m", "8d", "1w", "abc", "1m1m1m", "30m1h", "1h1h"]
)
def test_parse_interval_refuses(text: str) -> None:
    with pytest.raises(ValueError):
        parse_interval(text)


@pytest.mark.parametrize(("value", "allowed"), [("true", True), ("false", False), (None, False)])
def test_allow_private_is_off_unless_the_source_says_so(tmp_path: Path, value: str | None, allowed: bool) -> None:
    (spec,) = load_sources(write(tmp_path, source(allow_private=value)))
    assert spec.allow_private is allowed


# --- the parsed document kept beside the database ----------------------------------------------------------------


def test_the_same_bytes_again_come_from_the_cache_and_are_checked_again(tmp_path: Path) -> None:
    path, cache = write(tmp_path, GOOD), tmp_path / "bot.db.sources.json"
    first = load_sources(path, cache)
    assert kept_document(cache, path.read_bytes()) is not None
    assert load_sources(path, cache) == first == load_sources(path)
    # What the cache keeps for these bytes is what a second load reads, not the file's YAML ...
    document = kept_document(cache, path.read_bytes())
    assert isinstance(document, dict)
    document["sources"][1]["name"] = "USGS news, as kept"
    keep_document(cache, path.read_bytes(), document)
    assert load_sources(path, cache)[1].name == "USGS news, as kept"
    # ... and it is checked like a file's own document.
    document["sources"][1]["every"] = "5s"
    keep_document(cache, path.read_bytes(), document)
    with pytest.raises(SourcesFileError, match=re.escape(f"{path}: source 'usgs-news': key 'every'")):
        load_sources(path, cache)


def test_changed_bytes_are_parsed_again_and_replace_what_is_kept(tmp_path: Path) -> None:
    path, cache = write(tmp_path, GOOD), tmp_path / "bot.db.sources.json"
    load_sources(path, cache)
    write(tmp_path, GOOD.replace("every: 2h", "every: 3h"))
    assert load_sources(path, cache)[1].every_seconds == 3 * 3600
    assert kept_document(cache, path.read_bytes()) is not None
    assert sorted(entry.name for entry in tmp_path.iterdir()) == [cache.name, path.name]  # no partial file left


def test_a_kept_document_that_no_longer_matches_its_digest_is_parsed_around(tmp_path: Path) -> None:
    path, cache = write(tmp_path, GOOD), tmp_path / "bot.db.sources.json"
    load_sources(path, cache)
    cache.write_bytes(cache.read_bytes().replace(b"usgs.gov", b"usgs.gog"))  # one byte gone wrong on the disk
    assert load_sources(path, cache)[1].url == "https://www.usgs.gov/news/feed"
    assert b"usgs.gov" in cache.read_bytes()  # and kept again, right


@pytest.mark.parametrize(
    "cache_text",
    ["", "{not json", '{"key": "0"}\n{}', '["a", "list"]\n[]', "\n\n", '{"key": 1, "check": 2}\nnull'],
)
def test_a_cache_that_cannot_be_used_is_parsed_around_and_rewritten(tmp_path: Path, cache_text: str) -> None:
    path, cache = write(tmp_path, GOOD), tmp_path / "bot.db.sources.json"
    cache.write_text(cache_text, encoding="utf-8")
    assert load_sources(path, cache) == load_sources(path)
    assert kept_document(cache, path.read_bytes()) is not None


def test_a_cache_that_cannot_be_written_only_costs_the_parse_and_leaves_nothing(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD)
    assert load_sources(path, tmp_path / "no such folder" / "bot.db.sources.json") == load_sources(path)
    (tmp_path / "taken").mkdir()  # the cache's name is a folder's: the new cache cannot be moved into place
    assert load_sources(path, tmp_path / "taken") == load_sources(path)
    assert sorted(entry.name for entry in tmp_path.iterdir()) == [path.name, "taken"]


def test_only_a_document_that_passed_its_checks_is_kept(tmp_path: Path) -> None:
    path, cache = write(tmp_path, GOOD + "defaults:\n  every: 10m\n"), tmp_path / "bot.db.sources.json"
    with pytest.raises(SourcesFileError, match="unknown top-level key"):
        load_sources(path, cache)
    assert not cache.exists()


def test_a_document_json_would_change_is_not_kept_and_any_text_is(tmp_path: Path) -> None:
    cache = tmp_path / "bot.db.sources.json"
    keep_document(cache, b"a", {"sources": [{"name": dt.date(2026, 1, 6)}]})
    keep_document(cache, b"b", {"sources": [{1: "a key that is not text"}]})
    assert not cache.exists()
    odd = {"sources": [{"name": "商务部 \ud800 \u0000"}]}  # a lone surrogate: the pure-Python YAML loader reads it
    keep_document(cache, b"c", odd)
    assert kept_document(cache, b"c") == odd
    assert kept_document(cache, b"d") is None


def test_the_cache_sits_beside_the_database_and_not_beside_one_in_memory(tmp_path: Path) -> None:
    assert sources_cache_path(tmp_path / "bot.db") == tmp_path / "bot.db.sources.json"
    assert sources_cache_path(Path(":memory:")) is None


def test_pyyaml_installed_as_a_zip_still_names_its_parse(tmp_path: Path) -> None:
    """Its folder cannot be listed: the kept parse names PyYAML by its version, and a check reads the file."""
    import yaml

    package = Path(yaml.__file__).parent
    archive = tmp_path / "pyyaml.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        for module in package.glob("*.py"):  # the pure-Python parser: a zip holds no extension to load
            zipped.write(module, f"yaml/{module.name}")
    sources = tmp_path / "sources.yaml"
    sources.write_text("sources:\n  - {id: a, name: A, kind: rss, url: 'http://127.0.0.1/a', every: 10m}\n")
    code = (
        "import sys, yaml\nfrom pathlib import Path\nfrom bot.domain.datafiles import yaml_parser\n"
        "from jobs.sources import load_sources\nassert '.zip' in yaml.__file__, yaml.__file__\n"
        f"print(yaml_parser())\nprint(len(load_sources(Path({str(sources)!r}), Path({str(tmp_path / 'kept.json')!r}))))"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(archive), str(Path(__file__).parent.parent)])}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [f"PyYAML {yaml.__version__}, libyaml False", "1"]
    assert (tmp_path / "kept.json").exists()
