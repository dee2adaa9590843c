"""The pipes between a crawl and its writer process (crawler.capture.pipe): fetches and
events come out as they went in, a frame larger than the pipe arrives whole, a deadline
gives up without losing bytes, and a closed pipe is end-of-file."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator

import pytest

from crawler.capture import pipe
from crawler.warc.records import Fetch
from crawler.warc.write import ClosedFile
from helpers import WHEN, http_fetch


@pytest.fixture
def fds() -> Iterator[tuple[int, int]]:
    read, write = os.pipe()
    yield read, write
    os.close(read)
    os.close(write)


def _fetch(body: bytes) -> Fetch:
    return http_fetch("k", "http://127.0.0.1/a", body=body, outlet="Ünïcode Outlet",
                      extra=(("note", "x"),))


def _read_fetch(reader: pipe.FrameReader) -> Fetch:
    sizes = reader.frame(pipe.FETCH_HEADER)
    assert sizes is not None
    meta = reader.take(sizes[0])
    return pipe.fetch_from(meta, reader.take(sizes[1]))


def test_fetches_and_the_stop_frame_round_trip(fds: tuple[int, int]) -> None:
    read, write = fds
    fetches = [_fetch(b"<p>hello</p>"), _fetch(b""), _fetch(bytes(range(256)) * 9000)]
    reader = pipe.FrameReader(read)
    received: list[Fetch] = []
    # the last body is larger than the pipe: the reader must drain while the sender writes
    thread = threading.Thread(target=lambda: received.extend(_read_fetch(reader)
                                                             for _ in fetches))
    thread.start()
    for fetch in fetches:
        pipe.send_fetch(write, fetch)
    pipe.send_stop(write)
    thread.join(timeout=30)
    assert received == fetches
    assert reader.frame(pipe.FETCH_HEADER) == (0, 0)  # the stop frame


def test_setup_and_events_round_trip(fds: tuple[int, int]) -> None:
    read, write = fds
    reader = pipe.FrameReader(read)
    pipe.send_setup(write, {"run": "uuid", "when": WHEN})
    assert pipe.read_setup(reader) == {"run": "uuid", "when": WHEN}
    closed = ClosedFile(name="T.warc.gz", size=10, sha256="ab" * 32, closed_at=WHEN)
    events = [pipe.Opened("T.warc.gz", "<urn:uuid:1>", WHEN), pipe.Closed(closed),
              pipe.Done({"fetches": 1}), pipe.Failed("OSError: disk full")]
    for event in events:
        pipe.send_event(write, event)
    got = [pipe.read_event(reader) for _ in events]
    assert got == events
    assert [type(event) for event in got] == [pipe.Opened, pipe.Closed, pipe.Done, pipe.Failed]


def test_a_deadline_gives_up_and_keeps_what_arrived(fds: tuple[int, int]) -> None:
    read, write = fds
    reader = pipe.FrameReader(read)
    frame = pipe.FETCH_HEADER.pack(3, 2) + b"abc"
    os.write(write, frame)  # the body is not there yet
    began = time.monotonic()
    assert reader.frame(pipe.FETCH_HEADER, began + 0.2) is None
    assert 0.15 <= time.monotonic() - began < 5
    os.write(write, b"de")
    assert reader.frame(pipe.FETCH_HEADER, time.monotonic() + 5) == (3, 2)
    assert reader.take(3) == b"abc" and reader.take(2) == b"de"


def test_a_closed_pipe_is_end_of_file() -> None:
    read, write = os.pipe()
    reader = pipe.FrameReader(read)
    os.write(write, pipe.EVENT_HEADER.pack(100) + b"partial")
    os.close(write)
    with pytest.raises(EOFError):
        pipe.read_event(reader)
    os.close(read)
