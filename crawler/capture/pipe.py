"""The pipes between a crawl and its WARC writer process: the frame format, and how each
side sends and reads a frame. Reads no settings.

  into the writer (its stdin): frames of `!QQ` (meta length, body length), the pickled
         meta, then the raw body. The first meta is the `WriterSetup`; then one `Fetch`
         per frame, its field values as a pickled list with an empty body and the body
         after it (no copy into the pickle); a meta length of 0 asks to finish: sync,
         close the file, say `Done`.
  out of the writer (its stdout): frames of `!Q` and a pickled event, one of
         `Opened`   a WARC file was started
         `Closed`   a file was finished, renamed, and its row committed
         `Done`     all of it, in that order
         `Failed`   then the process exits 1

Why not `multiprocessing.connection.Connection(fd)`, whose `send_bytes`, `recv_bytes`
and `poll` would carry the same frames: a fetch is its pickled fields and its body, which
`send_fetch` hands the kernel in one `writev` without copying the body, where a
Connection sends two messages (or one with the body copied in); and `FrameReader` takes
the pipe in reads of 256 KiB, where a Connection makes two reads per message. Measured
with 20,000 fetches of 3-80 KB through a pipe into a child process (3 runs each, a
busy 2-core machine): the crawl's side 23-31 us per fetch here, 25-35 us with a
Connection; the writer's side 27-38 us here, 34-48 us with a Connection; importing
multiprocessing.connection would add ~0.3 MB to the writer. A small gain (the writer
spends ~1 ms per fetch), but a gain, for about 60 lines.
"""

from __future__ import annotations

import datetime as dt
import operator
import os
import pickle
import select
import struct
import time
from dataclasses import dataclass, field, fields
from typing import Any, NamedTuple

from crawler.warc.records import Fetch
from crawler.warc.write import ClosedFile

FETCH_HEADER = struct.Struct("!QQ")
EVENT_HEADER = struct.Struct("!Q")
READ_SIZE = 1 << 18  # bytes asked of the pipe per read (a larger frame: all of it at once)
PIPE_SIZE = 1 << 20  # asked of the kernel for the pipe into the writer (Linux)


class Opened(NamedTuple):
    """A WARC file was started (its row is committed with the first batch written to it)."""

    name: str
    warcinfo_id: str
    opened_at: dt.datetime


class Closed(NamedTuple):
    """A WARC file was finished, renamed, and its row committed."""

    file: ClosedFile


class Done(NamedTuple):
    """Everything sent was written and committed (`crawler.capture.writer.WriterStats`)."""

    stats: Any


class Failed(NamedTuple):
    """The writer process failed, and says why before it exits 1."""

    message: str


Event = Opened | Closed | Done | Failed


@dataclass
class FrameReader:
    """Reads length-prefixed frames from a pipe, with a deadline, without a thread."""

    fd: int
    _buf: bytearray = field(default_factory=bytearray)
    _pos: int = 0

    def _fill(self, size: int, deadline: float | None) -> bool:
        """Buffer at least `size` unread bytes; False if the deadline passed first."""
        while len(self._buf) - self._pos < size:
            if deadline is not None:
                left = deadline - time.monotonic()
                if left <= 0 or not select.select([self.fd], [], [], left)[0]:
                    return False
            if self._pos and self._pos >= len(self._buf) // 2:
                del self._buf[:self._pos]
                self._pos = 0
            chunk = os.read(self.fd, max(READ_SIZE, size - (len(self._buf) - self._pos)))
            if not chunk:
                raise EOFError("the pipe was closed")
            self._buf += chunk
        return True

    def take(self, size: int) -> bytes:
        """`size` bytes, which must be buffered (`_fill`)."""
        data = bytes(self._buf[self._pos:self._pos + size])
        self._pos += size
        return data

    def frame(self, header: struct.Struct, deadline: float | None = None
              ) -> tuple[int, ...] | None:
        """The next frame header's fields, with all its bytes buffered; None on timeout."""
        if not self._fill(header.size, deadline):
            return None
        sizes = header.unpack_from(self._buf, self._pos)
        if not self._fill(header.size + sum(sizes), deadline):
            return None
        self._pos += header.size
        return sizes


def write_all(fd: int, data: bytes | memoryview) -> None:
    """os.write until every byte is taken (a pipe takes at most its free space)."""
    with memoryview(data) as view:
        while view:
            view = view[os.write(fd, view):]


#: a Fetch travels as the list of its field values (pickling the dataclass itself costs
#: several times more on the reactor thread), its body apart and uncopied
_FIELDS = tuple(f.name for f in fields(Fetch))
_BODY = _FIELDS.index("body")
_values = operator.attrgetter(*_FIELDS)


def send_fetch(fd: int, fetch: Fetch) -> None:
    """One fetch into the writer's pipe: its other fields pickled, then its body, in one
    system call when the pipe has room."""
    values = list(_values(fetch))
    body = values[_BODY]
    values[_BODY] = b""
    meta = pickle.dumps(values, pickle.HIGHEST_PROTOCOL)
    head = FETCH_HEADER.pack(len(meta), len(body)) + meta
    sent = os.writev(fd, [head, body])
    if sent < len(head):
        write_all(fd, memoryview(head)[sent:])
        sent = len(head)
    if sent - len(head) < len(body):
        write_all(fd, memoryview(body)[sent - len(head):])


def fetch_from(meta: bytes, body: bytes) -> Fetch:
    """The Fetch `send_fetch` sent as `meta` and `body`."""
    values = pickle.loads(meta)
    values[_BODY] = body
    return Fetch(*values)


def send_setup(fd: int, setup: object) -> None:
    """The writer's first frame (`crawler.capture.writer.WriterSetup`)."""
    meta = pickle.dumps(setup, pickle.HIGHEST_PROTOCOL)
    write_all(fd, FETCH_HEADER.pack(len(meta), 0) + meta)


def read_setup(reader: FrameReader) -> Any:
    """The first frame, as `send_setup` sent it (EOFError: the crawl closed the pipe)."""
    sizes = reader.frame(FETCH_HEADER)
    assert sizes is not None  # no deadline
    return pickle.loads(reader.take(sizes[0]))


def send_stop(fd: int) -> None:
    """The frame that asks the writer to finish."""
    write_all(fd, FETCH_HEADER.pack(0, 0))


def send_event(fd: int, event: Event) -> None:
    data = pickle.dumps(event, pickle.HIGHEST_PROTOCOL)
    write_all(fd, EVENT_HEADER.pack(len(data)) + data)


def read_event(reader: FrameReader) -> Event:
    """The writer process's next event (EOFError when it has closed its end)."""
    sizes = reader.frame(EVENT_HEADER)
    assert sizes is not None  # no deadline
    event: Event = pickle.loads(reader.take(sizes[0]))
    return event


def grow_pipe(fd: int) -> None:
    """Ask for a 1 MB pipe buffer (Linux; elsewhere, or refused, the default stays)."""
    try:
        import fcntl

        fcntl.fcntl(fd, getattr(fcntl, "F_SETPIPE_SZ", 1031), PIPE_SIZE)
    except (ImportError, OSError):
        pass
