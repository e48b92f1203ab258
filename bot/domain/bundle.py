"""The digest of the bundled data a check's knowledge is loaded from: a one-shot check that found nothing new
compares it with the one kept when the bundled measures were last stored, and loads the knowledge (~0.1 s) only
when they differ (bot/watching.py). Apart from bot/domain/datafiles.py, which imports the YAML parser."""

from __future__ import annotations

import hashlib
from importlib import resources

BUNDLE = ("measures.yaml", "vocab.yaml")  # what `apply_baseline` stores comes from these two


def bundle_digest() -> str:
    """The digest of the bundled measures and vocabulary, as the files are now."""
    digest = hashlib.blake2b(digest_size=16)
    for name in BUNDLE:
        digest.update(resources.files("bot.domain").joinpath("data", name).read_bytes())
    return digest.hexdigest()
