"""Rendering: outside text escaped, long messages split between lines and never inside a tag."""

from __future__ import annotations

import re

from bot.render import esc, link, split_message, to_plain


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
