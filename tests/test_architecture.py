"""The layering of docs/ARCHITECTURE.md, checked on the import statements of every module.

Rules are stated per package, so a new module is held to them the moment it exists:

| package       | may import of the project                  |
|---------------|--------------------------------------------|
| `bot.domain`  | `bot.domain` only                          |
| `storage`     | `storage` only                             |
| `jobs`        | `jobs`, `bot.domain`, `storage`            |
| `handlers`    | `handlers`, `bot.domain`, `storage`        |
| `bot` (wiring)| anything; imported by nothing but itself   |
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
PACKAGES = ("bot", "handlers", "jobs", "storage")
ALLOWED: dict[str, set[str]] = {
    "bot.domain": {"bot.domain"},
    "storage": {"storage"},
    "jobs": {"jobs", "bot.domain", "storage"},
    "handlers": {"handlers", "bot.domain", "storage"},
    "bot": {"bot", "bot.domain", "handlers", "jobs", "storage"},
}
TELEGRAM_PACKAGES = {"bot", "handlers"}  # the wiring and the chat commands; never the domain or the pipeline
# HTTP with retries, where it may connect, and aiohttp imported without the certificates it would load
HTTP_MODULES = {"jobs/fetch.py", "jobs/address_guard.py", "jobs/http_client.py"}


def modules() -> list[Path]:
    return sorted(path for package in PACKAGES for path in (ROOT / package).rglob("*.py"))


def package_of(path: Path) -> str:
    """`bot.domain` for a module under bot/domain/, else the top-level package."""
    parts = path.relative_to(ROOT).parts
    return "bot.domain" if parts[:2] == ("bot", "domain") else parts[0]


def layer_of(module: str) -> str:
    return "bot.domain" if module.startswith("bot.domain") else module.split(".")[0]


def imported(path: Path) -> set[str]:
    """Every module name an import statement of the file names (top-level and inside functions)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
        elif isinstance(node, ast.ImportFrom) and node.level > 0:
            names.add(f"relative:{node.module}")
    return names


def project_imports(path: Path) -> set[str]:
    return {name for name in imported(path) if name.split(".")[0] in PACKAGES}


def label(path: Path) -> str:
    return str(path.relative_to(ROOT))


@pytest.mark.parametrize("path", modules(), ids=label)
def test_each_package_imports_only_the_layers_below_it(path: Path) -> None:
    allowed = ALLOWED[package_of(path)]
    assert {name for name in project_imports(path) if layer_of(name) not in allowed} == set()


@pytest.mark.parametrize("path", modules(), ids=label)
def test_no_relative_imports(path: Path) -> None:
    assert not {name for name in imported(path) if name.startswith("relative:")}


@pytest.mark.parametrize("path", modules(), ids=label)
def test_only_the_wiring_and_handlers_import_telegram(path: Path) -> None:
    if package_of(path) in TELEGRAM_PACKAGES:
        return
    assert not {name for name in imported(path) if name.split(".")[0] == "telegram"}


@pytest.mark.parametrize("path", modules(), ids=label)
def test_only_the_fetcher_imports_an_http_client(path: Path) -> None:
    # httpx stays the Telegram library's own client; the bot's fetching is aiohttp's, in the fetch modules only
    if label(path) not in HTTP_MODULES:
        assert not {name for name in imported(path) if name.split(".")[0] in ("httpx", "httpcore", "aiohttp", "yarl")}


@pytest.mark.parametrize("path", modules(), ids=label)
def test_nothing_outside_the_wiring_imports_it(path: Path) -> None:
    if package_of(path) == "bot":
        return
    assert not {name for name in project_imports(path) if layer_of(name) == "bot"}


def test_the_rules_catch_a_domain_module_that_imports_storage(tmp_path: Path) -> None:
    """The checker itself: a domain module importing storage is named, a clean one is not."""
    bad = tmp_path / "bad.py"
    bad.write_text("from storage.db import open_database\nfrom bot.domain.ladder import Level\n", encoding="utf-8")
    assert {name for name in project_imports(bad) if layer_of(name) not in ALLOWED["bot.domain"]} == {"storage.db"}
