"""A row as SQLite hands it back: column name to value. The one place the storage layer's values are untyped;
the domain types them as it reads them (`Status.from_row`, `measure_from_row`)."""

from __future__ import annotations

from typing import Any, TypeAlias

Row: TypeAlias = dict[str, Any]
