"""Bad input said once, in every language: a message id of the catalogs (bot/domain/locale) with its values.

`str(problem)` is the English text (logs, data-file errors); a chat reply translates `message` with `values`
(handlers/replies.py `problem_text`). Kept free of Babel, so that the ladder and timing import it cheaply.
"""

from __future__ import annotations


class Problem(ValueError):
    """Input that does not fit, with what was expected."""

    def __init__(self, message: str, **values: object) -> None:
        super().__init__(message % values if values else message)
        self.message = message
        self.values = values
