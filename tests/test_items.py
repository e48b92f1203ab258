"""Storing items: one statement per batch, only the new ones returned, in the order given, with their ids."""

from __future__ import annotations

from typing import Any

from sqlite_utils import Database

from storage.items import insert_new_items

NOW = "2026-11-29T09:00:00+00:00"


def row(guid: str, title: str | None = None) -> dict[str, Any]:
    return {"guid": guid, "title": title or f"title {guid}", "summary": "", "link": None, "published_at": None}


def test_only_unseen_items_are_stored_and_returned_in_the_given_order(db: Database) -> None:
    insert_new_items(db, "s", [row("b")], NOW)
    new = insert_new_items(db, "s", [row("c"), row("b", "changed"), row("a")], NOW)
    assert [item["guid"] for item in new] == ["c", "a"]
    stored = {item["guid"]: (item["id"], item["title"]) for item in db.query("SELECT * FROM items")}
    assert stored["b"][1] == "title b"  # an item seen before is never overwritten
    assert [stored[item["guid"]][0] for item in new] == [item["id"] for item in new]


def test_a_guid_twice_in_one_batch_is_stored_once(db: Database) -> None:
    new = insert_new_items(db, "s", [row("a"), row("a", "again")], NOW)
    assert [(item["guid"], item["title"]) for item in new] == [("a", "title a")]
    assert db.execute("SELECT count(*) FROM items").fetchone()[0] == 1


def test_more_items_than_one_statement_takes_are_all_stored(db: Database) -> None:
    new = insert_new_items(db, "s", [row(f"g{n}") for n in range(1_234)], NOW)
    assert [item["guid"] for item in new] == [f"g{n}" for n in range(1_234)]
    assert len({item["id"] for item in new}) == 1_234
    assert insert_new_items(db, "other", [row("g0")], NOW)[0]["source_id"] == "other"  # guids are per source
