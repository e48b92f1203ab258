"""The one import of sqlite-utils: its `Database`, the connection every storage function takes first.

sqlite-utils imports numpy when it is installed, only to map numpy's number types to column types in its table
API, which storage never uses. numpy is installed for the charts, and its import would add ~0.07 s to every
process that opens the database, a one-shot `chokepoint check` among them. So sqlite-utils is imported here, and
only here, with numpy marked absent for that one import: a `None` entry in `sys.modules` makes `import numpy`
raise ModuleNotFoundError (the import system's documented behaviour), and the entry is removed straight after,
so numpy imports normally for whoever draws a chart. tests/test_startup.py checks both halves.

Every other module names `Database` for the type checker only (under TYPE_CHECKING), and storage/db.py, which opens
the database, is the one that imports this module at run time: a one-shot check sends its requests before it pays
for sqlite-utils' ~40 ms of imports (bot/watching.py, `check_every_source`).
"""

from __future__ import annotations

import sys


def _import_sqlite_utils() -> None:
    """Import sqlite-utils without numpy, unless numpy or sqlite-utils is already imported (nothing to save)."""
    if "numpy" in sys.modules or "sqlite_utils" in sys.modules:
        return
    sys.modules["numpy"] = None  # type: ignore[assignment]
    try:
        import sqlite_utils  # noqa: F401
    finally:
        del sys.modules["numpy"]


_import_sqlite_utils()

from sqlite_utils import Database  # noqa: E402

__all__ = ["Database"]
