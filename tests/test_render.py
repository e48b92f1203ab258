"""Rendering: outside text escaped, long messages split between lines and never inside a tag."""

from __future__ import annotations

import html
import re

import pytest

from bot.domain.html import TELEGRAM_LIMIT, esc, link, split_message, to_plain

_TAG = re.compile(r"<(/?)([a-z-]+)[^<>]*>")


def assert_well_formed(part: str) -> None:
    """Every '<' opens a whole tag, every '&' a whole entity, and the tags nest and close within the part."""
    assert part.count("<") == part.count(">") == len(_TAG.findall(part)), part[-80:]
    assert part.count("&") == len(re.findall(r"&(?:[a-z]+|#[0-9]+|#x[0-9a-f]+);", part)), part[-80:]
    open_tags: list[str] = []
    for closing, name in _TAG.findall(part):
        if closing:
            assert open_tags and open_tags.pop() == name, part[-80:]
        else:
            open_tags.append(name)
    assert not open_tags, part[-80:]


def text_of(part: str) -> str:
    return html.unescape(re.sub(r"<[^>]*>", "", part))


def assert_split(message: str, limit: int) -> list[str]:
    """Split, and check each part is within the limit and well formed, and that no text is lost or added."""
    parts = split_message(message, limit)
    for part in parts:
        assert len(part) <= limit
        assert_well_formed(part)
    # A cut at a line break drops the break; nothing else may go.
    assert "".join(text_of(part) for part in parts).replace("\n", "") == text_of(message).replace("\n", "")
    return parts


def test_outside_text_is_escaped() -> None:
    assert esc("<script>&") == "&lt;script&gt;&amp;"
    assert link("<b>t</b>", 'https://x.org/?a=1&b="2"') == (
        '<a href="https://x.org/?a=1&amp;b=&quot;2&quot;">&lt;b&gt;t&lt;/b&gt;</a>'
    )
    assert link("t", "javascript:alert(1)") == "t"


def test_a_short_message_is_one_part() -> None:
    assert split_message("hello\nworld") == ["hello\nworld"]
    assert split_message("") == [""]


def test_long_messages_split_between_lines_within_the_limit() -> None:
    lines = [f"<b>line {i}</b> {'x' * 50}" for i in range(200)]
    parts = split_message("\n".join(lines), limit=1000)
    assert all(len(part) <= 1000 for part in parts)
    assert "\n".join(parts) == "\n".join(lines)
    assert all(part.count("<b>") == part.count("</b>") for part in parts)


def test_a_single_overlong_line_is_cut_outside_tags_and_entities() -> None:
    line = " ".join(f'<a href="https://e.org/{i}">t&amp;{i}</a>' for i in range(400))
    parts = split_message(line, limit=500)
    assert all(len(part) <= 500 for part in parts)
    assert "".join(parts) == line
    for part in parts:
        assert part.count("<a ") == part.count("</a>")
        assert not re.search(r"&[a-z]*$", part)
        assert part.rfind("<") <= part.rfind(">")


def test_to_plain_drops_tags_and_unescapes() -> None:
    assert to_plain("<b>a &amp; b</b> <a href='x'>c</a>") == "a & b c"


def test_an_element_longer_than_the_limit_is_closed_at_the_cut_and_reopened() -> None:
    parts = assert_split("<b>" + "x" * 5000 + "</b>", TELEGRAM_LIMIT)
    assert parts == ["<b>" + "x" * 4089 + "</b>", "<b>" + "x" * 911 + "</b>"]


def test_a_long_link_is_a_link_in_every_part() -> None:
    url = "https://example.org/" + "q" * 200  # the opening tag: 231 characters, under a quarter of the limit
    message = "see " + link("y" * 4000, url) + " and after"
    parts = assert_split(message, 1000)
    assert [len(part) for part in parts] == [1000] * 5 + [424]
    assert all(part.count(f'<a href="{url}">') == 1 for part in parts)


def test_a_href_longer_than_a_part_is_dropped_and_its_text_kept() -> None:
    message = "read " + link("the notice", "https://example.org/?" + "q" * 5000) + " now"
    assert assert_split(message, TELEGRAM_LIMIT) == ["read the notice now"]


def test_nested_tags_are_closed_innermost_first_and_reopened_outermost_first() -> None:
    message = '<blockquote><i>intro <a href="https://e.org/a">' + "z" * 250 + "</a></i> tail</blockquote>"
    parts = assert_split(message, 200)
    assert parts[0].startswith('<blockquote><i>intro <a href="https://e.org/a">z')
    assert parts[0].endswith("z</a></i></blockquote>")
    assert parts[1].startswith('<blockquote><i><a href="https://e.org/a">z')


def test_a_tag_spanning_lines_is_closed_and_reopened_at_a_line_break() -> None:
    lines = [f"line {i:03} " + "p" * 40 for i in range(40)]
    parts = assert_split("<pre>" + "\n".join(lines) + "</pre>", 500)
    assert all(part.startswith("<pre>line ") and part.endswith("</pre>") for part in parts)
    assert "\n".join(text_of(part) for part in parts) == "\n".join(lines)


@pytest.mark.parametrize("offset", range(8))
def test_entities_at_the_cut_stay_whole(offset: int) -> None:
    message = "<b>" + "x" * (90 + offset) + "&amp;&lt;&#39;&gt;" * 20 + "</b>"
    assert_split(message, 100)


def test_a_cut_prefers_a_line_break_then_a_space() -> None:
    assert split_message("aaaa bbbb\ncccc dddd eeee", 12) == ["aaaa bbbb", "cccc dddd ", "eeee"]
