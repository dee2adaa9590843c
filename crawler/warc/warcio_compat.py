"""Make warcio decode `Content-Encoding: br` payloads with Google's `brotli` package.

warcio's brotli hook sets `unused_data` on `brotli.Decompressor()`, which only the old
cffi `brotlipy` allowed; with `brotli` >= 1.0 `record.content_stream()` raises
AttributeError on every br page. `brotlipy` cannot be installed instead: it replaces
the `brotli` module Scrapy decodes with. This registers a small adapter with the
interface warcio's BufferedReader uses (`decompress`, `flush`, `unused_data`).

No code path of the crawler decodes through warcio (crawler.warc.read.decode_content
decodes archived payloads); the tests read payloads with warcio's `content_stream()`,
and tests/conftest.py installs this for them.
"""

from __future__ import annotations

import brotli
from warcio.bufferedreaders import BufferedReader


class BrotliDecompressor:
    def __init__(self) -> None:
        self._inner = brotli.Decompressor()
        self.unused_data: bytes | None = None

    def decompress(self, data: bytes) -> bytes:
        return bytes(self._inner.process(data))

    def flush(self) -> bytes:
        return b""


def install() -> None:
    BufferedReader.DECOMPRESSORS["br"] = BrotliDecompressor
