"""`make eval`: the headline measurer against the labelled set, the tune and holdout halves reported apart.

python -m tests.evaluate                  # both halves
python -m tests.evaluate --misses tune    # and every row of the tune half it gets wrong
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.domain.ladder import Level
from bot.domain.measure import Measurement, Rules, load_rules, measure
from bot.domain.vocab import load_vocabulary

HEADLINES = Path(__file__).with_name("data") / "headlines.jsonl"
SPLITS = ("tune", "holdout")
DIRECTIONS = ("tighten", "ease", "none")
FLOORS = {"direction": 0.90, "targets": 0.90, "level": 0.85, "materials": 0.90, "irrelevant_as_none": 0.95}
HEADLINE_FIGURES = (
    ("direction", "direction accuracy", ""),
    ("level", "level accuracy", ""),
    ("targets", "targets accuracy", "; exact set, relevant rows"),
    ("materials", "materials accuracy", "; exact set, relevant rows"),
    ("irrelevant_as_none", "irrelevant → none", ""),
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
    by_direction: dict[str, Rate]
    by_level: dict[int, Rate]

    def floors_missed(self) -> list[str]:
        """The floors of the issue this set falls below, with the figure."""
        return [
            f"{name} {getattr(self, name):.3f} < {floor}"
            for name, floor in FLOORS.items()
            if getattr(self, name) < floor
        ]


def load_rows(path: Path = HEADLINES, split: str | None = None) -> list[dict[str, Any]]:
    """The labelled rows, all or one split."""
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
        by_direction={d: _rate(gold_directions, directions, d) for d in DIRECTIONS},
        by_level={int(level): _rate(gold_levels, levels, int(level)) for level in Level},
    )


def measure_rows(rows: Sequence[dict[str, Any]], rules: Rules) -> list[Measurement]:
    """Measure each row's text as a headline with no summary and no default issuer."""
    return [measure(row["text"], "", rules) for row in rows]


def evaluate(split: str, rules: Rules | None = None, path: Path = HEADLINES) -> Scores:
    """The scores of one split of the labelled set."""
    rules = rules or load_rules(load_vocabulary())
    rows = load_rows(path, split)
    return score(rows, measure_rows(rows, rules))


def _percent(value: float | None) -> str:
    return "   —  " if value is None else f"{value:6.1%}"


def report(split: str, scores: Scores) -> list[str]:
    """The printed lines for one split."""
    lines = [f"== {split}: {scores.rows} headlines"]
    for metric, label, note in HEADLINE_FIGURES:
        lines.append(f"  {label:<19} {_percent(getattr(scores, metric))}   (floor {FLOORS[metric]:.0%}{note})")
    lines.append("  per direction        precision  recall  support")
    for name, rate in scores.by_direction.items():
        lines.append(f"    {name:<18} {_percent(rate.precision)}  {_percent(rate.recall)}  {rate.support:5d}")
    lines.append("  per level            precision  recall  support")
    for level, rate in scores.by_level.items():
        label = f"{level} {Level(level).label}"
        lines.append(f"    {label:<18} {_percent(rate.precision)}  {_percent(rate.recall)}  {rate.support:5d}")
    missed = scores.floors_missed()
    lines.append(f"  floors: {'all met' if not missed else 'MISSED ' + '; '.join(missed)}")
    return lines


def _wrong(row: dict[str, Any], m: Measurement) -> list[str]:
    checks = (
        ("direction", row["direction"], m.direction),
        ("level", row["level"], m.level),
        ("targets", sorted(row["targets"]), sorted(m.targets)),
        ("materials", sorted(row["materials"]), sorted(m.materials)),
        ("issuer", row["issuer"], m.issuer),
    )
    return [f"{name}: want {want} got {got}" for name, want, got in checks if want != got]


def misses(split: str, rules: Rules) -> list[str]:
    """One line per row of a split that the measurer gets wrong in any field."""
    lines = []
    for row in load_rows(HEADLINES, split):
        m = measure(row["text"], "", rules)
        if problems := _wrong(row, m):
            lines.append(f"{row['text']}\n    {'; '.join(problems)}; evidence {list(m.evidence)}")
    return lines


def main(argv: Sequence[str] | None = None) -> None:
    """Print the scores of both halves (and, on request, the misses of one)."""
    parser = argparse.ArgumentParser(prog="python -m tests.evaluate", description=__doc__.splitlines()[0])
    parser.add_argument("--misses", choices=SPLITS, help="also list the rows of this split measured wrong")
    args = parser.parse_args(argv)
    rules = load_rules(load_vocabulary())
    for split in SPLITS:
        print("\n".join(report(split, evaluate(split, rules))))
    if args.misses:
        print(f"\n== misses ({args.misses})")
        print("\n".join(misses(args.misses, rules)) or "none")


if __name__ == "__main__":
    main()
