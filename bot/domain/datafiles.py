"""Reading the bundled data files: where they are, and refusing bad ones with the file and key named."""

from __future__ import annotations

import functools
import hashlib
import importlib.util
from collections.abc import Hashable, Set
from pathlib import Path
from typing import Any, TypeAlias

JsonObject: TypeAlias = dict[str, Any]
"""A JSON or YAML object as read from a file or printed: the one boundary where values are not yet typed."""


class DataFileError(ValueError):
    """A data file that cannot be used; the message names the file and the key."""


def bundled_path(*parts: str) -> Path:
    """The path of a file shipped in the bot package (bot/PARTS...), as installed: a folder of files, which the
    data files are read from as files. Found beside this module rather than through importlib.resources, whose
    import (tempfile and shutil under it, ~5 ms) a one-shot check would pay for a path."""
    return Path(__file__).resolve().parent.parent.joinpath(*parts)


def data_path(name: str) -> Path:
    """The path of a bundled data file in bot/domain/data/."""
    return bundled_path("domain", "data", name)


BUNDLE = ("measures.yaml", "vocab.yaml")  # what `apply_baseline` stores comes from these two


def bundle_digest() -> str:
    """The digest of the bundled measures and vocabulary as the files are now: a one-shot check that found nothing
    new compares it with the one kept when they were last stored, and loads the knowledge (~0.1 s) only when they
    differ (bot/watching.py)."""
    digest = hashlib.blake2b(digest_size=16)
    for name in BUNDLE:
        digest.update(data_path(name).read_bytes())
    return digest.hexdigest()


@functools.cache
def _unique_key_loader() -> Any:
    """A safe YAML loader that refuses a key given twice in one mapping, where PyYAML keeps the last: libyaml's
    loader where PyYAML was built with it (~10× faster; the data files, and a sources file of a thousand
    sources, are read at every start). Built on first use: PyYAML's import (~12 ms) is spared to a check whose
    sources file is kept parsed (jobs/sources.py)."""
    import yaml

    class UniqueKeyLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
        def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Hashable, Any]:
            """Build a mapping after checking its scalar keys are distinct."""
            seen: set[str] = set()
            for key_node, _ in node.value:
                if isinstance(key_node, yaml.ScalarNode):
                    if key_node.value in seen:
                        raise yaml.constructor.ConstructorError(
                            None, None, f"duplicate key '{key_node.value}'", key_node.start_mark
                        )
                    seen.add(key_node.value)
            mapping: dict[Hashable, Any] = super().construct_mapping(node, deep)
            return mapping

    return UniqueKeyLoader


def yaml_parser() -> str:
    """Which parser `load_yaml` reads with, named without importing it where it can be: the installed PyYAML (its
    files as last installed: each one's path, time and size) and its libyaml extension, if any. A kept parse names
    it (jobs/sources.py). An extension that is there but cannot load (its system library gone) is not told apart;
    PyYAML installed where its folder cannot be listed (a zip) is imported and named by its version."""
    spec = importlib.util.find_spec("yaml")
    if spec is None or spec.origin is None or not spec.submodule_search_locations:
        return "no PyYAML"
    try:
        folder = Path(spec.submodule_search_locations[0])
        files = {file: file.stat() for file in (Path(spec.origin), *sorted(folder.glob("_yaml.*")))}
        return "PyYAML " + ", ".join(f"{file} {stat.st_mtime_ns} {stat.st_size}" for file, stat in files.items())
    except OSError:
        import yaml

        return f"PyYAML {yaml.__version__}, libyaml {yaml.__with_libyaml__}"


def load_yaml(text: str) -> object:
    """Plain data from YAML text (never arbitrary Python objects); a key given twice raises yaml.YAMLError."""
    import yaml

    return yaml.load(text, Loader=_unique_key_loader())


def read_yaml(path: Path) -> JsonObject:
    """A YAML file whose top level is a mapping; a key given twice in one mapping is refused."""
    import yaml

    try:
        document = load_yaml(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise DataFileError(f"{path}: cannot read: {error.strerror or error}") from error
    except yaml.YAMLError as error:
        raise DataFileError(f"{path}: not valid YAML: {error}") from error
    if not isinstance(document, dict):
        raise DataFileError(f"{path}: the top level must be a mapping")
    return document


def require_keys(raw: JsonObject, required: Set[str], allowed: Set[str], where: str) -> None:
    """Refuse missing and unknown keys, naming the first one."""
    for key in sorted(required - raw.keys()):
        raise DataFileError(f"{where}: missing key '{key}'")
    for key in sorted(raw.keys() - allowed):
        raise DataFileError(f"{where}: unknown key '{key}'")
