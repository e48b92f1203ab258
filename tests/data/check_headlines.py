"""Validate tests/data/headlines.jsonl against the label rules in tests/data/README.md.

Usage: python tests/data/check_headlines.py [PATH]   (exit status 1 on any problem)
"""

import json
import re
import sys
from collections import Counter
from pathlib import Path

DEFAULT = Path(__file__).with_name("headlines.jsonl")

RARE_EARTHS = (
    *("lanthanum", "cerium", "praseodymium", "neodymium", "promethium", "samarium", "europium"),
    *("gadolinium", "terbium", "dysprosium", "holmium", "erbium", "thulium", "ytterbium"),
    *("lutetium", "scandium", "yttrium"),
)
MATERIALS = frozenset(
    (
        *RARE_EARTHS,
        *("rare_earths", "rare_earth_magnets", "gallium", "germanium", "graphite", "antimony"),
        *("tungsten", "tellurium", "bismuth", "molybdenum", "indium", "lithium", "lithium_batteries"),
        *("superhard_materials", "dual_use"),
    )
)
REQUIRED = {"text", "lang", "split", "relevant", "direction", "issuer", "targets", "materials", "level"}
OPTIONAL = {"note"}
COUNTRY = re.compile(r"^(?:[A-Z]{2}|ALL)$")

MIN_TOTAL, MIN_IRRELEVANT, MIN_EASE, MIN_NEGATED = 240, 60, 30, 15
LANG_SHARE = {"en": (0.50, 0.60), "zh": (0.20, 0.30), "ja": (0.15, 0.25)}
HOLDOUT_SHARE = (0.25, 0.42)


def check_row(row: object) -> list[str]:
    """Return the rule violations of one parsed line."""
    if not isinstance(row, dict):
        return ["not a JSON object"]
    errors = []
    if missing := REQUIRED - row.keys():
        errors.append(f"missing {sorted(missing)}")
    if extra := row.keys() - REQUIRED - OPTIONAL:
        errors.append(f"unknown keys {sorted(extra)}")
    if errors:
        return errors
    if not isinstance(row["text"], str) or not row["text"].strip():
        errors.append("empty text")
    if not isinstance(row.get("note", ""), str):
        errors.append("note must be a string")
    if row["lang"] not in ("en", "zh", "ja"):
        errors.append(f"bad lang {row['lang']!r}")
    if row["split"] not in ("tune", "holdout"):
        errors.append(f"bad split {row['split']!r}")
    if row["direction"] not in ("tighten", "ease", "none"):
        errors.append(f"bad direction {row['direction']!r}")
    if row["relevant"] is not (row["direction"] != "none"):
        errors.append("relevant must equal direction != 'none'")
    issuer, targets, materials, level = row["issuer"], row["targets"], row["materials"], row["level"]
    if issuer is not None and not (isinstance(issuer, str) and re.fullmatch(r"[A-Z]{2}", issuer)):
        errors.append(f"bad issuer {issuer!r}")
    if type(level) is not int or not 0 <= level <= 5:
        errors.append(f"bad level {level!r}")
    for name, values, valid in (
        ("targets", targets, COUNTRY.match),
        ("materials", materials, MATERIALS.__contains__),
    ):
        if not isinstance(values, list) or not all(isinstance(v, str) and valid(v) for v in values):
            errors.append(f"bad {name} {values!r}")
        elif values != sorted(set(values)):
            errors.append(f"{name} not sorted and unique")
    if errors:
        return errors
    if "ALL" in targets and len(targets) > 1:
        errors.append("ALL must stand alone")
    if row["direction"] == "none":
        if targets or materials or issuer is not None or level != 0:
            errors.append("irrelevant rows need targets [], materials [], issuer null, level 0")
    else:
        if not targets:
            errors.append("relevant rows need targets (materials may be empty: a vague 'two metals')")
        if row["direction"] == "tighten" and level == 0:
            errors.append("tighten rows need level 1..5")
    return errors


def summarize(rows: list[dict]) -> list[str]:
    """Print the counts and return the violations of the set-wide minimums."""
    total = len(rows)
    counts = {key: Counter(str(r[key]) for r in rows) for key in ("lang", "direction", "level", "split", "issuer")}
    for key, counter in counts.items():
        print(f"{key:10}", ", ".join(f"{k}={v}" for k, v in sorted(counter.items())))
    negated = sum(r.get("note", "").startswith("negated") for r in rows)
    irrelevant = counts["direction"]["none"] - negated
    print(f"{'total':10} {total}; irrelevant (not negated)={irrelevant}; negated/hedged={negated}")
    errors = []
    if total < MIN_TOTAL:
        errors.append(f"only {total} rows (< {MIN_TOTAL})")
    if irrelevant < MIN_IRRELEVANT:
        errors.append(f"only {irrelevant} irrelevant rows (< {MIN_IRRELEVANT})")
    if counts["direction"]["ease"] < MIN_EASE:
        errors.append(f"only {counts['direction']['ease']} ease rows (< {MIN_EASE})")
    if negated < MIN_NEGATED:
        errors.append(f"only {negated} negated rows (< {MIN_NEGATED})")
    for lang, (low, high) in LANG_SHARE.items():
        if not low <= counts["lang"][lang] / max(total, 1) <= high:
            errors.append(f"{lang} share outside {low:.0%}..{high:.0%}")
    groups = Counter((r["lang"], r["direction"]) for r in rows)
    held = Counter((r["lang"], r["direction"]) for r in rows if r["split"] == "holdout")
    for group, size in sorted(groups.items()):
        if not HOLDOUT_SHARE[0] <= held[group] / size <= HOLDOUT_SHARE[1]:
            errors.append(f"holdout share of {group} is {held[group]}/{size}")
    return errors


def main(argv: list[str]) -> int:
    path = Path(argv[1]) if len(argv) > 1 else DEFAULT
    rows, errors, seen = [], [], {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            errors.append(f"line {number}: invalid JSON ({exc})")
            continue
        problems = check_row(row)
        errors.extend(f"line {number}: {p}" for p in problems)
        if problems:
            continue
        key = " ".join(row["text"].split()).casefold()
        if key in seen:
            errors.append(f"line {number}: duplicate of line {seen[key]}")
        seen.setdefault(key, number)
        rows.append(row)
    errors.extend(summarize(rows))
    for error in errors:
        print("ERROR", error, file=sys.stderr)
    print("FAIL" if errors else "OK", f"{path} ({len(errors)} problems)")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
