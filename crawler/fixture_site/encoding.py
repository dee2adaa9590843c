"""Content-coding and transfer helpers for the fixture site's responses.

Each article is served with one content coding the way a real server would: gzip,
brotli or deflate (a zlib stream, as HTTP's ``deflate`` means) when the request's
``Accept-Encoding`` allows it, else the identity body.  Streamed bodies have no
Content-Length, so an HTTP/1.1 server sends them with chunked transfer coding.
"""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Iterator

import brotli
from werkzeug.datastructures import Accept

CODINGS = ("gzip", "br", "deflate")
CHUNK_SIZE = 4096


def accepts(accept_encodings: Accept, coding: str) -> bool:
    """Whether the client's Accept-Encoding allows ``coding`` (quality above zero)."""
    return accept_encodings.quality(coding) > 0


def compress(body: bytes, coding: str) -> bytes:
    """``body`` in the given content coding; byte-exact and deterministic."""
    if coding == "gzip":
        return gzip.compress(body, mtime=0)
    if coding == "br":
        return bytes(brotli.compress(body))
    if coding == "deflate":
        return zlib.compress(body)
    raise ValueError(f"unknown content coding: {coding!r}")


def decompress(body: bytes, coding: str) -> bytes:
    """Inverse of :func:`compress` (used by tests and callers that check bytes)."""
    if coding == "gzip":
        return gzip.decompress(body)
    if coding == "br":
        return bytes(brotli.decompress(body))
    if coding == "deflate":
        return zlib.decompress(body)
    if coding in ("", "identity"):
        return body
    raise ValueError(f"unknown content coding: {coding!r}")


def iter_chunks(body: bytes, size: int = CHUNK_SIZE) -> Iterator[bytes]:
    """``body`` in pieces of at most ``size`` bytes, for a streamed response."""
    for start in range(0, len(body), size):
        yield body[start : start + size]


def iter_gzip_chunks(body: bytes, size: int = CHUNK_SIZE) -> Iterator[bytes]:
    """``body`` gzip-compressed incrementally, one compressed piece per input chunk.

    The concatenation of the pieces is a single valid gzip member.
    """
    compressor = zlib.compressobj(6, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    for piece in iter_chunks(body, size):
        out = compressor.compress(piece) + compressor.flush(zlib.Z_SYNC_FLUSH)
        if out:
            yield out
    tail = compressor.flush()
    if tail:
        yield tail
