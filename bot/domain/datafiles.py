"""Reading the bundled data files: where they are, and refusing bad ones with the file and key named."""

from __future__ import annotations

from collections.abc import Set
from importlib import resources
from pathlib import Path
from typing import Any

import yaml


class DataFileError(ValueError):
    """A data file that cannot be used; the message names the file and the key."""


def data_path(name: str) -> Path:
    """The path of a bundled data file in bot/domain/data/."""
    return Path(str(resources.files("bot.domain").joinpath("data", name)))


def read_yaml(path: Path) -> dict[str, Any]:
    """A YAML file whose top level is a mapping."""
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise DataFileError(f"{path}: cannot read: {error.strerror or error}") from error
    except yaml.YAMLError as error:
        raise DataFileError(f"{path}: not valid YAML: {error}") from error
    if not isinstance(document, dict):
        raise DataFileError(f"{path}: the top level must be a mapping")
    return document


def require_keys(raw: dict[str, Any], required: Set[str], allowed: Set[str], where: str) -> None:
    """Refuse missing and unknown keys, naming the first one."""
    for key in sorted(required - raw.keys()):
        raise DataFileError(f"{where}: missing key '{key}'")
    for key in sorted(raw.keys() - allowed):
        raise DataFileError(f"{where}: unknown key '{key}'")
