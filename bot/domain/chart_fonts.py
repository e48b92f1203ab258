"""A font for chart labels in Japanese and Chinese: the bundled Noto Sans CJK, else one found on the system.

The project depends on `manimgx-fonts-cjk`, which ships Noto Sans CJK (SIL Open Font License) as a Python package,
so `pip install` brings it. Where that package is missing, a system font that has every glyph of `SAMPLE` is used
(Debian's `fonts-noto-cjk`, Source Han Sans, WenQuanYi, Droid Sans Fallback, IPAex). With none, charts are drawn in
DejaVu Sans alone and a warning says Japanese and Chinese labels will show boxes.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import logging
from collections.abc import Iterable
from pathlib import Path

logger = logging.getLogger(__name__)

BUNDLED_PACKAGE = "manimgx_fonts_cjk"
SAMPLE = "日本 ジスプロシウム 镝 镓 锗 稀土"
LATIN_FAMILY = "DejaVu Sans"  # matplotlib's own; Latin text is set in it, the rest falls back glyph by glyph
FONT_SUFFIXES = (".ttc", ".otf", ".ttf")
CANDIDATE_FAMILIES = (
    "Noto Sans CJK JP", "Noto Sans CJK SC", "Source Han Sans JP", "Source Han Sans SC", "WenQuanYi Zen Hei",
    "Droid Sans Fallback", "IPAexGothic",
)  # fmt: skip


def bundled_font_files() -> list[Path]:
    """The font files of the bundled package; none where it is not installed."""
    spec = importlib.util.find_spec(BUNDLED_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return []
    folder = Path(next(iter(spec.submodule_search_locations)))
    return sorted(path for path in folder.iterdir() if path.suffix.lower() in FONT_SUFFIXES)


def register_fonts(paths: Iterable[Path]) -> None:
    """Add font files to matplotlib's font manager.

    The variable Noto Sans CJK declares the weight of its default instance (100); it is listed as regular (400)
    so that asking for normal text finds it without a fallback warning on every label."""
    from matplotlib import font_manager

    manager = font_manager.fontManager
    known = {entry.fname for entry in manager.ttflist}
    for path in paths:
        if str(path) in known:
            continue  # registered by an earlier renderer in this process
        manager.addfont(str(path))
        for index, entry in enumerate(manager.ttflist):
            if entry.fname == str(path) and entry.weight != 400:
                manager.ttflist[index] = dataclasses.replace(entry, weight=400)


def has_glyphs(path: str, text: str, face: int = 0) -> bool:
    """Whether a font file has a glyph for every character of `text` but spaces."""
    from matplotlib.ft2font import FT2Font

    charmap = FT2Font(path, face_index=face).get_charmap()
    return all(ord(char) in charmap for char in text if not char.isspace())


def cjk_family(sample: str = SAMPLE) -> str | None:
    """The family name of a known font with every glyph of `sample`, bundled fonts first; None where none is."""
    from matplotlib import font_manager

    register_fonts(bundled_font_files())
    entries = {entry.name: entry for entry in font_manager.fontManager.ttflist}
    for family in CANDIDATE_FAMILIES:
        entry = entries.get(family)
        if entry is not None and has_glyphs(entry.fname, sample, entry.index):
            return family
    logger.warning(
        "no font with Japanese and Chinese glyphs was found (install the %s package or fonts-noto-cjk); "
        "chart labels in those scripts will show boxes",
        BUNDLED_PACKAGE,
    )
    return None


def font_families(sample: str = SAMPLE) -> list[str]:
    """The font family list for chart text: Latin first, then the CJK font where one is found."""
    family = cjk_family(sample)
    return [LATIN_FAMILY, family] if family else [LATIN_FAMILY]
