"""`make eval`: the headline measurer against the labelled sets, the tune and holdout halves reported apart.

python -m tests.evaluate                          # every set, both halves, per language
python -m tests.evaluate --misses tune            # and every row of the tune halves it gets wrong
python -m tests.evaluate --set real --misses tune # one set only

An easing's level is computed as `chokepoint classify` computes it: what the text says stays in force, else what
the bundled measures leave on its targets and materials on the row's date (or on `UNDATED` for a row without one).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.cli import with_remaining_level
from bot.domain.ladder import Level
from bot.domain.measure import Measurement, measure
from bot.domain.measure_file import load_measures
from bot.domain.measures import Measure
from bot.domain.rules import Rules, load_rules
from bot.domain.vocab import load_vocabulary

DATA = Path(__file__).with_name("data")
SETS = {"written": DATA / "headlines.jsonl", "real": DATA / "real_headlines.jsonl"}
SPLITS = ("tune", "holdout")
DIRECTIONS = ("tighten", "ease", "none")
QUALIFIERS = ("end_use", "provenance", "instrument")
UNDATED = dt.date(2026, 1, 15)  # the day an undated row's easing is measured against the bundled measures
FLOORS = {
    "direction": 0.92,
    "targets": 0.90,
    "level": 0.85,
    "materials": 0.90,
    "irrelevant_as_none": 0.95,
    "worst_language_direction": 0.88,
}
CEILINGS = {"false_restrictive": 0.01}  # irrelevant or easing rows read as restricted or banned
HEADLINE_FIGURES = (
    ("direction", "direction accuracy", ""),
    ("level", "level accuracy", ""),
    ("targets", "targets accuracy", "; exact set, relevant rows"),
    ("materials", "materials accuracy", "; exact set, relevant rows"),
    ("irrelevant_as_none", "irrelevant → none", ""),
    ("worst_language_direction", "direction, worst language", ""),
)


@dataclass(frozen=True, slots=True)
class Rate:
    """Precision and recall of one class (None where nothing was predicted or labelled as it)."""

    precision: float | None
    recall: float | None
    support: int


@dataclass(frozen=True, slots=True)
class Scores:
    """How the measurer did on one set of labelled rows."""

    rows: int
    direction: float
    level: float
    targets: float  # exact set match, on rows labelled relevant
    materials: float  # exact set match, on rows labelled relevant
    irrelevant_as_none: float  # rows labelled `none` that were measured `none`
    false_restrictive: float  # rows labelled `none` or `ease` below restricted, measured restricted or banned
    by_language: dict[str, tuple[int, float]]  # language → (rows, direction accuracy)
    qualifiers: dict[str, float]  # end_use, provenance, instrument: share right, on relevant rows labelled with it
    by_direction: dict[str, Rate]
    by_level: dict[int, Rate]

    @property
    def worst_language_direction(self) -> float:
        """The direction accuracy of the language measured worst."""
        return min((share for _, share in self.by_language.values()), default=1.0)

    def floors_missed(self) -> list[str]:
        """The floors and ceilings of the issue this set is on the wrong side of, with the figure."""
        return [
            *(f"{name} {getattr(self, name):.3f} < {floor}" for name, floor in FLOORS.items()
              if getattr(self, name) < floor),
            *(f"{name} {getattr(self, name):.3f} > {top}" for name, top in CEILINGS.items()
              if getattr(self, name) > top),
        ]  # fmt: skip


@dataclass(frozen=True)
class Measurer:
    """What measuring a labelled row needs: the rules, and the measures an easing's level is read from."""

    rules: Rules
    measures: Sequence[Measure]

    @classmethod
    def bundled(cls) -> Measurer:
        """The bundled rules, vocabulary and measures."""
        vocabulary = load_vocabulary()
        return cls(load_rules(vocabulary), load_measures(vocabulary))

    def row(self, row: dict[str, Any]) -> Measurement:
        """One row's text measured as `chokepoint classify` measures it, on the row's date."""
        today = dt.date.fromisoformat(row["date"]) if row.get("date") else UNDATED
        found = measure(row["text"], "", self.rules)
        return with_remaining_level(found, self.measures, self.rules.vocabulary, today)


def load_rows(path: Path = SETS["written"], split: str | None = None) -> list[dict[str, Any]]:
    """The labelled rows of one set, all or one split."""
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [row for row in rows if split is None or row["split"] == split]


def _share(hits: Iterable[bool]) -> float:
    values = list(hits)
    return sum(values) / len(values) if values else 1.0


def _rate(gold: Sequence[Any], predicted: Sequence[Any], value: Any) -> Rate:
    hits = sum(1 for g, p in zip(gold, predicted, strict=True) if g == p == value)
    claimed = sum(1 for p in predicted if p == value)
    support = sum(1 for g in gold if g == value)
    return Rate(hits / claimed if claimed else None, hits / support if support else None, support)


def _false_restrictive(row: dict[str, Any], m: Measurement) -> bool:
    return m.level >= Level.RESTRICTED > row["level"]


def _by_language(pairs: Sequence[tuple[dict[str, Any], Measurement]]) -> dict[str, tuple[int, float]]:
    languages = sorted({row["lang"] for row, _ in pairs})
    return {
        lang: (
            sum(1 for row, _ in pairs if row["lang"] == lang),
            _share(row["direction"] == m.direction for row, m in pairs if row["lang"] == lang),
        )
        for lang in languages
    }


def score(rows: Sequence[dict[str, Any]], measured: Sequence[Measurement]) -> Scores:
    """Compare measurements with their labelled rows."""
    pairs = list(zip(rows, measured, strict=True))
    relevant = [(row, m) for row, m in pairs if row["direction"] != "none"]
    gold_directions = [row["direction"] for row in rows]
    directions = [m.direction for m in measured]
    gold_levels = [row["level"] for row in rows]
    levels = [m.level for m in measured]
    return Scores(
        rows=len(rows),
        direction=_share(g == p for g, p in zip(gold_directions, directions, strict=True)),
        level=_share(g == p for g, p in zip(gold_levels, levels, strict=True)),
        targets=_share(sorted(row["targets"]) == sorted(m.targets) for row, m in relevant),
        materials=_share(sorted(row["materials"]) == sorted(m.materials) for row, m in relevant),
        irrelevant_as_none=_share(m.direction == "none" for row, m in pairs if row["direction"] == "none"),
        false_restrictive=_share(
            _false_restrictive(row, m) for row, m in pairs if row["direction"] in ("none", "ease")
        ),
        by_language=_by_language(pairs),
        qualifiers={
            name: _share(row[name] == getattr(m, name) for row, m in relevant)
            for name in QUALIFIERS
            if all(name in row for row, _ in relevant)
        },
        by_direction={d: _rate(gold_directions, directions, d) for d in DIRECTIONS},
        by_level={int(level): _rate(gold_levels, levels, int(level)) for level in Level},
    )


def evaluate(split: str, measurer: Measurer | None = None, path: Path = SETS["written"]) -> Scores:
    """The scores of one split of a labelled set."""
    measurer = measurer or Measurer.bundled()
    rows = load_rows(path, split)
    return score(rows, [measurer.row(row) for row in rows])


def _percent(value: float | None) -> str:
    return "   —  " if value is None else f"{value:6.1%}"


def report(name: str, split: str, scores: Scores) -> list[str]:
    """The printed lines for one split of one set."""
    lines = [f"== {name} / {split}: {scores.rows} headlines"]
    for metric, label, note in HEADLINE_FIGURES:
        figure = _percent(getattr(scores, metric))
        lines.append(f"  {label:<26} {figure}   (floor {FLOORS[metric]:.0%}{note})")
    lines.append(f"  {'read as restricted/banned':<26} {_percent(scores.false_restrictive)}   (of irrelevant or easing"
                 f" rows; ceiling {CEILINGS['false_restrictive']:.0%})")  # fmt: skip
    for name, share in scores.qualifiers.items():
        lines.append(f"  {name + ' accuracy':<26} {_percent(share)}   (relevant rows; no floor)")
    lines.append("  per language               rows  direction")
    for lang, (rows, share) in scores.by_language.items():
        lines.append(f"    {lang:<22} {rows:5d}  {_percent(share)}")
    lines.append("  per direction        precision  recall  support")
    for direction, rate in scores.by_direction.items():
        lines.append(f"    {direction:<18} {_percent(rate.precision)}  {_percent(rate.recall)}  {rate.support:5d}")
    lines.append("  per level            precision  recall  support")
    for level, rate in scores.by_level.items():
        label = f"{level} {Level(level).label}"
        lines.append(f"    {label:<18} {_percent(rate.precision)}  {_percent(rate.recall)}  {rate.support:5d}")
    missed = scores.floors_missed()
    lines.append(f"  floors: {'all met' if not missed else 'MISSED ' + '; '.join(missed)}")
    return lines


def wrong(row: dict[str, Any], m: Measurement) -> list[str]:
    """What the measurement gets wrong about a labelled row, one phrase per field."""
    checks = (
        ("direction", row["direction"], m.direction),
        ("level", row["level"], m.level),
        ("targets", sorted(row["targets"]), sorted(m.targets)),
        ("materials", sorted(row["materials"]), sorted(m.materials)),
        ("issuer", row["issuer"], m.issuer),
    )
    return [f"{name}: want {want} got {got}" for name, want, got in checks if want != got]


def misses(path: Path, split: str, measurer: Measurer) -> list[str]:
    """One line per row of a split that the measurer gets wrong in any field."""
    lines = []
    for row in load_rows(path, split):
        m = measurer.row(row)
        if problems := wrong(row, m):
            lines.append(f"[{row['lang']}] {row['text']}\n    {'; '.join(problems)}; evidence {list(m.evidence)}")
    return lines


def main(argv: Sequence[str] | None = None) -> None:
    """Print the scores of both halves of each set (and, on request, the misses of one half)."""
    parser = argparse.ArgumentParser(prog="python -m tests.evaluate", description=__doc__.splitlines()[0])
    parser.add_argument("--set", choices=sorted(SETS), action="append", help="only this set (repeatable)")
    parser.add_argument("--misses", choices=SPLITS, help="also list the rows of this half measured wrong")
    args = parser.parse_args(argv)
    measurer = Measurer.bundled()
    for name in args.set or SETS:
        for split in SPLITS:
            print("\n".join(report(name, split, evaluate(split, measurer, SETS[name]))))
        if args.misses:
            print(f"\n== misses ({name} / {args.misses})")
            print("\n".join(misses(SETS[name], args.misses, measurer)) or "none")


if __name__ == "__main__":
    main()
