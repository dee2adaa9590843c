"""WARC and HTTP header blocks as warcio's StatusAndHeaders, parsed fast.

`parse_head` reads a header block the file walker (crawler.warc.scan) has cut out of
an inflated record; `Headers` is warcio's StatusAndHeaders with a name index. Both
exist because warcio's parser and `get_header` dominated verify's time per record
(BENCHMARKS.md). Reads no settings.
"""

from __future__ import annotations

from typing import Any

from warcio.statusandheaders import StatusAndHeaders


class Headers(StatusAndHeaders):
    """warcio's StatusAndHeaders with a name index: a record's headers are read a dozen
    times during verification, and warcio's `get_header` lowers every name each time.

    Built from (str, str) pairs parse_head has already decoded, so warcio's per-header
    type conversion is skipped. The index is rebuilt after add_header, replace_header
    and remove_header (not after edits of the `headers` list itself).
    """

    def __init__(self, statusline: str, headers: list[tuple[str, str]], protocol: str) -> None:
        super().__init__(statusline, [], protocol=protocol)
        self.headers = headers
        self._index: dict[str, str] | None = None

    def __reduce__(self) -> tuple[Any, ...]:  # pickled small: scans come from worker processes
        return Headers, (self.statusline, self.headers, self.protocol)

    def get_header(self, name: str, default_value: Any = None) -> Any:
        if self._index is None:  # the first of repeated names wins, as in warcio
            self._index = {key.lower(): value for key, value in reversed(self.headers)}
        return self._index.get(name.lower(), default_value)

    def add_header(self, name: str, value: str) -> None:
        self._index = None
        super().add_header(name, value)

    def replace_header(self, name: str, value: str) -> Any:
        self._index = None
        return super().replace_header(name, value)

    def remove_header(self, name: str) -> bool:
        self._index = None
        return bool(super().remove_header(name))


def _text(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def parse_head(head: bytes) -> Headers:
    """A WARC or HTTP header block (ending CRLF CRLF) as warcio's StatusAndHeaders.

    The first token of the first line is the protocol (`WARC/1.1`, `HTTP/1.1`, or a
    request's method, as warcio has it); folded lines continue the header before.
    Lines are UTF-8, or Latin-1 where they are not. A lean stand-in for warcio's
    parser, which dominated the time per record.
    """
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:  # decode line by line: only the odd line is Latin-1
        return _parse_lines([_text(raw) for raw in head.split(b"\r\n")])
    lines = text.split("\r\n")
    if "\r\n " in text or "\r\n\t" in text:
        return _parse_lines(lines)
    protocol, _, status = lines[0].strip().partition(" ")  # no folded lines: one pass
    return Headers(status, [(name.strip(), value.strip()) for name, sep, value in
                            (line.partition(":") for line in lines[1:]) if sep], protocol)


def _parse_lines(lines: list[str]) -> Headers:
    protocol, _, status = lines[0].strip().partition(" ")
    headers: list[tuple[str, str]] = []
    for line in lines[1:]:
        if not line:
            continue
        if line[0] in " \t" and headers:
            name, value = headers[-1]
            headers[-1] = (name, value + " " + line.strip())
            continue
        name, sep, value = line.partition(":")
        if sep:
            headers.append((name.strip(), value.strip()))
    return Headers(status, headers, protocol)
