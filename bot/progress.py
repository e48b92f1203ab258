"""A progress bar for long one-shot commands (`chokepoint check`), shown only where a person watches.

On a terminal the bar counts the sources as their checks end; piped, redirected or with `--json` nothing is
written, so the output stays what scripts read.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TextIO

CHECKING = "Checking sources"

Tick = Callable[[str], None]  # the id of the source just checked


def wants_progress(stream: TextIO, *, json_output: bool) -> bool:
    """Whether a bar belongs on this stream: a terminal, and no JSON asked for."""
    return not json_output and stream.isatty()


@contextmanager
def progress_bar(total: int, stream: TextIO, *, shown: bool, label: str = CHECKING) -> Iterator[Tick]:
    """A bar of `total` steps on `stream` while the block runs; a tick per finished step. Silent unless `shown`."""
    if not shown:
        yield lambda _: None
        return
    # rich is imported here, where a bar is drawn: piped or with --json, a check starts without its ~0.1 s import.
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    console = Console(file=stream, force_terminal=True)
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
               TextColumn("{task.fields[last]}"))  # fmt: skip
    with Progress(*columns, console=console, transient=True, auto_refresh=False) as progress:
        task = progress.add_task(label, total=total, last="")
        progress.refresh()

        def tick(source_id: str) -> None:
            progress.update(task, advance=1, last=source_id, refresh=True)

        yield tick
