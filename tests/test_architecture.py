"""The layout rules of DESIGN.md, checked on the import statements of every module."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
PACKAGES = ("bot", "handlers", "jobs", "storage")
DOMAIN = {"vocab", "ladder", "exposure", "knowledge", "status", "render", "datafiles", "alert_text", "matching",
          "timing"}  # fmt: skip
WIRING = {"app", "cli", "console", "runtime", "watching", "telegram_sender", "lifecycle", "config", "__main__"}


def modules() -> list[Path]:
    return sorted(path for package in PACKAGES for path in (ROOT / package).glob("*.py"))


def imported(path: Path) -> set[str]:
    """Every module name an import statement of the file names (top-level and inside functions)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def project_imports(path: Path) -> set[str]:
    return {name for name in imported(path) if name.split(".")[0] in PACKAGES}


def label(path: Path) -> str:
    return f"{path.parent.name}/{path.name}"


def test_every_bot_module_is_either_domain_or_wiring() -> None:
    stems = {path.stem for path in (ROOT / "bot").glob("*.py")} - {"__init__"}
    assert stems == DOMAIN | WIRING


@pytest.mark.parametrize("path", modules(), ids=label)
def test_only_bot_and_handlers_import_telegram(path: Path) -> None:
    if path.parent.name in ("bot", "handlers"):
        return
    assert not {name for name in imported(path) if name.split(".")[0] == "telegram"}


@pytest.mark.parametrize("path", modules(), ids=label)
def test_only_the_fetcher_imports_httpx(path: Path) -> None:
    if label(path) != "jobs/fetch.py":
        assert not {name for name in imported(path) if name.split(".")[0] in ("httpx", "httpcore")}


@pytest.mark.parametrize("path", sorted((ROOT / "storage").glob("*.py")), ids=label)
def test_storage_imports_no_other_package_of_the_project(path: Path) -> None:
    assert {name.split(".")[0] for name in project_imports(path)} <= {"storage"}


@pytest.mark.parametrize("path", sorted((ROOT / "bot").glob("*.py")), ids=label)
def test_the_domain_imports_only_the_domain(path: Path) -> None:
    if path.stem not in DOMAIN:
        return
    assert project_imports(path) <= {f"bot.{stem}" for stem in DOMAIN}


@pytest.mark.parametrize("path", modules(), ids=label)
def test_nothing_imports_the_wiring(path: Path) -> None:
    if path.parent.name == "bot" and path.stem in WIRING:
        return
    wiring = {f"bot.{stem}" for stem in WIRING}
    assert not project_imports(path) & wiring


@pytest.mark.parametrize("path", sorted((ROOT / "handlers").glob("*.py")), ids=label)
def test_handlers_use_domain_and_storage_never_jobs(path: Path) -> None:
    assert not {name for name in project_imports(path) if name.split(".")[0] == "jobs"}


@pytest.mark.parametrize("path", sorted((ROOT / "jobs").glob("*.py")), ids=label)
def test_jobs_never_call_up_into_handlers(path: Path) -> None:
    assert not {name for name in project_imports(path) if name.split(".")[0] == "handlers"}
