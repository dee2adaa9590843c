"""Replay of a collection with pywb, run from its own virtualenv.

pywb pins old libraries and installs `brotlipy`, which breaks Scrapy's brotli decoding
when both share a virtualenv, so it lives in `<repo>/.venv-replay` (made by setup.sh)
or wherever the REPLAY_PYWB setting points (a virtualenv or its `wayback` program).

`prepare_site` writes a pywb directory (a temporary folder by default):

    config.yaml                       framed replay, Memento headers on
    collections/<name>/archive   ->   symlink to the collection's archive/ (no copies)
    collections/<name>/indexes/index.cdxj -> symlink to archive/index.cdxj

and `start` runs `wayback` bound to 127.0.0.1 (another address only when asked) on the
given or a free port, and waits until it answers. Replay URLs have the form
`http://<host>:<port>/<name>/<14-digit timestamp>/<url>` (`replay_url`); `cite` and
`timemap` print them on the base `add_replay_base` reads (default
`http://127.0.0.1:<REPLAY_PORT>`). Reads the REPLAY_PYWB setting (passed in by the CLI)
and the REPLAY_PORT default.
"""

from __future__ import annotations

import argparse
import datetime as dt
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from crawler import settings
from crawler.access.cdx import INDEX_NAME, timestamp14
from crawler.collection import Collection
from crawler.errors import BadInput, CrawlerError

REPO = Path(__file__).resolve().parents[2]
DEFAULT_VENV = REPO / ".venv-replay"
CONFIG = """\
# pywb configuration written by provenance-crawler for {root}
# The collection's WARC files are not copied: collections/{name}/archive is a symlink.
framed_replay: true
enable_memento: true
redirect_to_exact: true
"""


@dataclass(frozen=True)
class ReplayServer:
    process: subprocess.Popen[bytes]
    base_url: str
    name: str
    site_dir: Path
    log_path: Path

    @property
    def collection_url(self) -> str:
        return f"{self.base_url}/{self.name}/"

    def stop(self, timeout: float = 10) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def replay_name(collection: Collection) -> str:
    """The collection's name in replay URLs: its folder name, URL-safe."""
    name = re.sub(r"[^a-z0-9_-]+", "-", collection.root.name.lower()).strip("-")
    return name or "collection"


def replay_url(base: str, collection: str, when: dt.datetime, url: str) -> str:
    """pywb's replay URL of `url` as archived at `when`: `<base>/<name>/<14 digits>/<url>`."""
    return f"{base.rstrip('/')}/{collection}/{timestamp14(when)}/{url}"


def add_replay_base(parser: argparse.ArgumentParser) -> None:
    """The `--replay-base URL` option of the commands that print replay URLs."""
    parser.add_argument("--replay-base", metavar="URL",
                        default=f"http://127.0.0.1:{settings.REPLAY_PORT}",
                        help="where `crawler replay` serves (default: "
                             "http://127.0.0.1:REPLAY_PORT)")


def find_wayback(setting: str = "") -> Path:
    """pywb's `wayback` program: REPLAY_PYWB (venv or program), else <repo>/.venv-replay."""
    where = Path(setting).expanduser() if setting else DEFAULT_VENV
    program = where if where.is_file() else where / "bin" / "wayback"
    if not program.is_file():
        source = f"REPLAY_PYWB={setting}" if setting else f"{DEFAULT_VENV}"
        raise BadInput(
            f"pywb not found at {program} ({source}); create its own virtualenv with "
            f"`./setup.sh` or `python3 -m venv {DEFAULT_VENV} && "
            f"{DEFAULT_VENV}/bin/pip install pywb`")
    return program


def prepare_site(collection: Collection, site_dir: Path) -> str:
    """Write pywb's config.yaml and the collection's symlinks; returns the replay name."""
    name = replay_name(collection)
    index = collection.archive_dir / INDEX_NAME
    if not index.exists():
        raise BadInput(f"{index} does not exist: run `crawler index` first")
    coll = site_dir / "collections" / name
    (coll / "indexes").mkdir(parents=True, exist_ok=True)
    for link, target in ((coll / "archive", collection.archive_dir),
                         (coll / "indexes" / INDEX_NAME, index)):
        if link.is_symlink() or link.exists():
            link.unlink()
        link.symlink_to(target.resolve())
    (site_dir / "config.yaml").write_text(CONFIG.format(root=collection.root, name=name),
                                          encoding="utf-8")
    return name


def port_is_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def free_port(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def _die_with_parent() -> None:
    """Linux: pywb gets SIGTERM if `crawler replay` dies without cleaning up (SIGKILL)."""
    import ctypes

    pr_set_pdeathsig = 1
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


def start(wayback: Path, site_dir: Path, *, name: str, host: str, port: int,
          timeout: float = 60) -> ReplayServer:
    """Run pywb's `wayback` on host:port and wait until it serves the collection."""
    log_path = site_dir / "wayback.log"
    log = log_path.open("wb")
    process = subprocess.Popen(
        [str(wayback), "--bind", host, "--port", str(port), "--directory", str(site_dir)],
        cwd=site_dir, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        preexec_fn=_die_with_parent if sys.platform == "linux" else None,
    )
    log.close()
    probe_host = "127.0.0.1" if host in ("0.0.0.0", "") else host
    display = f"[{probe_host}]" if ":" in probe_host else probe_host
    server = ReplayServer(process, f"http://{display}:{port}", name, site_dir, log_path)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = log_path.read_text(errors="replace")[-2000:]
            raise CrawlerError(f"pywb exited with code {process.returncode}:\n{tail}")
        try:
            with urllib.request.urlopen(server.collection_url, timeout=2) as resp:
                if resp.status < 500:
                    return server
        except urllib.error.HTTPError as exc:
            if exc.code < 500:
                return server
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.3)
    server.stop()
    raise CrawlerError(f"pywb did not answer on {server.base_url} within {timeout:.0f} s "
                       f"(log: {log_path})")
