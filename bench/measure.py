"""Measure benchmark: headlines classified per second on one core — on a realistic mix (one in ten relevant) and
on the relevant ones alone; status updates per second and the /status answer time with 100,000 items (and as many
signals and status changes) in a database file.

The realistic mix is what a check cycle measures: of every ten items, one is about export controls (a labelled
relevant row), three are market, analysis or denial stories that name a material (labelled irrelevant rows), and six
are general news that names none (the unrelated headlines of the real set and the feed server's other news)."""

from __future__ import annotations

import datetime as dt
import json
import random
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

from sqlite_utils import Database

from bench.feed_server import OTHER
from bot.domain.knowledge import load_exposure_table
from bot.domain.measure import measure
from bot.domain.measure_file import load_measures
from bot.domain.rules import Rules, load_rules
from bot.domain.vocab import Vocabulary, load_vocabulary
from handlers.context import Services
from handlers.status import status_answer
from jobs.baseline import apply_baseline
from jobs.measures import Cause, apply_to_measures
from storage.db import open_database
from storage.items import insert_new_items

DATA = Path(__file__).resolve().parent.parent / "tests" / "data"
SETS = (DATA / "headlines.jsonl", DATA / "real_headlines.jsonl")
MIX = 10_000  # headlines in the realistic mix
ITEMS = 100_000
PASSES = 20
UPDATES = 5_000
ANSWERS = 50
NOW = dt.datetime(2026, 11, 29, 9, 0, tzinfo=dt.UTC)


def labelled() -> list[dict[str, object]]:
    """The rows of every labelled set."""
    return [json.loads(line) for path in SETS for line in path.read_text(encoding="utf-8").splitlines() if line]


def headlines() -> list[str]:
    """The texts of the project's written set (the status-update figures stay comparable across versions)."""
    return [json.loads(line)["text"] for line in SETS[0].read_text(encoding="utf-8").splitlines() if line]


def realistic_mix(rows: Sequence[dict[str, object]], count: int = MIX, seed: int = 20261130) -> list[str]:
    """COUNT headlines: one in ten relevant, three in ten irrelevant but naming a material, six in ten general
    news naming none."""
    relevant = [str(row["text"]) for row in rows if row["direction"] != "none"]
    general = [str(row["text"]) for row in rows if "unrelated" in str(row.get("note") or "")] + list(OTHER)
    irrelevant = [str(row["text"]) for row in rows if row["direction"] == "none" and str(row["text"]) not in general]
    rng = random.Random(seed)
    pools = [relevant, *[irrelevant] * 3, *[general] * 6]
    return [rng.choice(pools[n % 10]) for n in range(count)]


def classification_rate(rules: Rules, texts: Sequence[str], passes: int = PASSES) -> float:
    """Headlines measured per second of this process's CPU time (one core, whatever else the machine runs), over
    the texts repeated."""
    started = time.process_time()
    for _ in range(passes):
        for text in texts:
            measure(text, "", rules)
    return passes * len(texts) / (time.process_time() - started)


def _rows(count: int, make: Callable[[int], tuple[object, ...]]) -> list[tuple[object, ...]]:
    return [make(n) for n in range(count)]


def populate(db: Database, vocabulary: Vocabulary, count: int) -> None:
    """COUNT items, signals and status changes, and a status for every (target, material), in bulk."""
    rng = random.Random(20260424)
    targets, materials = sorted(vocabulary.countries), sorted(vocabulary.materials)
    at = (NOW - dt.timedelta(days=400)).isoformat()

    def item(n: int) -> tuple[object, ...]:
        return (f"bench-{n % 50}", f"guid-{n}", f"headline {n} about gallium", "", None, None, at)

    def signal(n: int) -> tuple[object, ...]:
        return (n + 1, "CN", rng.choice(targets), rng.choice(materials), rng.randint(0, 5), "tighten", "[]", at)

    def change(n: int) -> tuple[object, ...]:
        old, new = rng.randint(0, 5), rng.randint(0, 5)
        return ("CN", rng.choice(targets), rng.choice(materials), old, new, "tighten", at, f"t{n}", "bench", "live")

    with db.atomic():
        db.conn.executemany(
            "INSERT INTO items (source_id, guid, title, summary, link, published_at, fetched_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            _rows(count, item),
        )
        db.conn.executemany(
            "INSERT INTO signals (item_id, issuer, target, material, level, direction, evidence, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            _rows(count, signal),
        )
        db.conn.executemany(
            "INSERT INTO status_changes (issuer, target, material, old_level, new_level, direction, at, title,"
            " source, origin) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            _rows(count, change),
        )
        db.conn.executemany(
            "INSERT OR IGNORE INTO statuses (issuer, target, material, level, since, title, source, updated_at)"
            " VALUES ('CN', ?, ?, ?, ?, 'bench', 'bench', ?)",
            [(t, m, rng.randint(0, 5), at, at) for t in targets for m in materials],
        )


def update_rate(db: Database, rules: Rules, texts: Sequence[str], count: int = UPDATES) -> tuple[float, int]:
    """New items stored, measured and applied per second, one transaction per item; and the changes made."""
    changes = 0
    started = time.perf_counter()
    for n in range(count):
        text = texts[n % len(texts)]
        now = NOW + dt.timedelta(minutes=n)
        with db.atomic():
            row = {"guid": f"update-{n}", "title": text, "summary": "", "link": None, "published_at": None}
            stored = insert_new_items(db, f"wire-{n % 7}", [row], now.isoformat())
            cause = Cause(text, f"wire-{n % 7}", None, stored[0]["id"], official=True)  # moves as the issuer's word
            measured = measure(text, "", rules, default_issuer="CN")
            changes += len(apply_to_measures(db, measured, cause, now, rules.vocabulary))
    return count / (time.perf_counter() - started), changes


def answer_times(services: Services, words: Sequence[str], count: int = ANSWERS) -> tuple[float, float]:
    """The median and worst time of a /status answer, in milliseconds."""
    times = []
    for _ in range(count):
        started = time.perf_counter()
        status_answer(services, list(words))
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), max(times)


def main() -> None:
    """Print the figures; no assertions (the aims: ≥ 30,000 headlines/s on the realistic mix, ≥ 5,000 on the
    relevant ones alone, /status ≤ 20 ms at 100,000 items)."""
    vocabulary = load_vocabulary()
    rules = load_rules(vocabulary)
    rows = labelled()
    texts = headlines()
    mix = realistic_mix(rows)
    cold = classification_rate(rules, mix, passes=1)
    rate = classification_rate(rules, mix, passes=3)
    print(
        f"classification: {rate:,.0f} headlines/s on one core (realistic mix of {len(mix):,}: one in ten relevant;"
        f" {cold:,.0f}/s on the first pass, which compiles the alternations the texts need)"
    )
    relevant = [str(row["text"]) for row in rows if row["direction"] != "none"]
    rate = classification_rate(rules, relevant)
    print(f"classification: {rate:,.0f} headlines/s on one core (the {len(relevant)} relevant headlines alone)")
    everything = replace(rules, prefilter=None)
    rate = classification_rate(everything, mix, passes=3)
    print(f"classification without the prefilter: {rate:,.0f} headlines/s (realistic mix)")
    with tempfile.TemporaryDirectory() as folder:
        db = open_database(Path(folder) / "bench-measure.db", NOW)
        apply_baseline(db, load_measures(vocabulary), NOW, vocabulary)
        populate(db, vocabulary, ITEMS)
        statuses = db.execute("SELECT count(*) FROM statuses").fetchone()[0]
        print(f"database: {ITEMS:,} items, {ITEMS:,} signals, {ITEMS:,} status changes, {statuses:,} statuses")
        updates, changes = update_rate(db, rules, texts)
        print(f"status updates: {updates:,.0f} items/s (store, measure, move, one transaction each; {changes} changes)")
        services = Services(db=db, vocabulary=vocabulary, table=load_exposure_table(vocabulary), clock=lambda: NOW)
        for words in (["gallium"], ["japan"], []):
            median, worst = answer_times(services, words)
            shown = " ".join(words) or "(all)"
            print(f"/status {shown}: median {median:.1f} ms, worst {worst:.1f} ms over {ANSWERS} answers")
        db.close()


if __name__ == "__main__":
    main()
