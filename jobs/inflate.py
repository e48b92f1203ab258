"""A body collected as it streams in, gzip and deflate inflated on the way, never more than a limit of bytes."""

from __future__ import annotations

import zlib


class BodyRefused(ValueError):
    """The body cannot be used: over the limit, broken, or in a coding we do not decode; the message says which."""


class BoundedBody:
    """Collects a body, inflating it as it comes, and refuses to hold more than limit decoded bytes."""

    def __init__(self, content_encoding: str | None, limit: int) -> None:
        self._limit = limit
        self._buffer = bytearray()
        self._encoding = content_coding(content_encoding)
        self._inflater = _inflater(self._encoding)
        self.identity = self._inflater is None
        self._fed = False

    def check_declared_length(self, declared: str | None) -> None:
        """Refuse at once a plain body whose Content-Length is over the limit."""
        declared = declared or ""
        if self.identity and declared.isascii() and declared.isdecimal() and int(declared) > self._limit:
            raise BodyRefused(f"body over {size_text(self._limit)}")

    def feed(self, chunk: bytes) -> None:
        """Add raw bytes from the wire."""
        self._fed = self._fed or bool(chunk)
        self._append(self._inflate(chunk) if self._inflater is not None else chunk)

    def finish(self) -> bytes:
        """The whole decoded body; a compressed stream cut short is refused."""
        if self._inflater is not None and self._fed:
            self._append(self._inflater.flush())
            if not self._inflater.eof:
                raise BodyRefused(f"broken {self._encoding} body")
        return bytes(self._buffer)

    def _inflate(self, chunk: bytes) -> bytes:
        """Inflate at most one byte past the room left, so a bomb is caught after limit + 1 bytes."""
        assert self._inflater is not None
        room = self._limit - len(self._buffer)
        try:
            return self._inflater.decompress(chunk, room + 1)
        except zlib.error:
            if self._encoding != "deflate" or self._buffer:
                raise BodyRefused(f"broken {self._encoding} body") from None
        # Some servers send raw deflate without the zlib header that the name promises.
        self._encoding, self._inflater = "raw deflate", zlib.decompressobj(-zlib.MAX_WBITS)
        return self._inflate(chunk)

    def _append(self, data: bytes) -> None:
        """Keep decoded bytes, or fail once they pass the limit."""
        if len(self._buffer) + len(data) > self._limit:
            raise BodyRefused(f"body over {size_text(self._limit)}")
        self._buffer += data


def content_coding(header: str | None) -> str:
    """The one content coding applied ("identity" for none); refuses stacked or unknown codings."""
    codings = [part.strip().lower() for part in (header or "").split(",")]
    codings = [coding for coding in codings if coding and coding != "identity"]
    if not codings:
        return "identity"
    if len(codings) > 1 or codings[0] not in ("gzip", "x-gzip", "deflate"):
        raise BodyRefused(f"unsupported content encoding {header}")
    return "gzip" if codings[0] == "x-gzip" else codings[0]


def _inflater(encoding: str) -> zlib._Decompress | None:
    """A zlib decompressor for gzip or zlib-wrapped deflate; None for identity."""
    if encoding == "identity":
        return None
    return zlib.decompressobj(16 + zlib.MAX_WBITS if encoding == "gzip" else zlib.MAX_WBITS)


def size_text(count: int) -> str:
    """A byte count for people: 5 MB, 100 kB, 512 bytes."""
    for unit, scale in (("GB", 10**9), ("MB", 10**6), ("kB", 10**3)):
        if count >= scale:
            return f"{count / scale:g} {unit}"
    return f"{count} bytes"
