"""Which writing systems the measuring rules read: English (Latin), Chinese (Han, Simplified or Traditional) and
Japanese (kana and kanji). A headline in another script is kept as an unread item, never guessed into a status."""

from __future__ import annotations

import unicodedata

READ = ("LATIN", "CJK", "HIRAGANA", "KATAKANA", "FULLWIDTH", "HALFWIDTH", "IDEOGRAPHIC")
NAMES = {
    "HANGUL": "Korean", "CYRILLIC": "Cyrillic", "ARABIC": "Arabic", "THAI": "Thai", "HEBREW": "Hebrew",
    "DEVANAGARI": "Devanagari", "GREEK": "Greek", "TAMIL": "Tamil", "BENGALI": "Bengali",
}  # fmt: skip


def unread_script(text: str) -> str | None:
    """The name of the script most of a text's letters are in, where the rules do not read it; else None."""
    counts: dict[str, int] = {}
    for character in text:
        if not character.isalpha():
            continue
        script = unicodedata.name(character, "UNKNOWN").split(" ")[0]
        counts[script] = counts.get(script, 0) + 1
    if not counts:
        return None
    script, count = max(counts.items(), key=lambda pair: pair[1])
    read = sum(n for name, n in counts.items() if name in READ)
    if read >= count or script in READ:
        return None
    return NAMES.get(script, script.capitalize())
