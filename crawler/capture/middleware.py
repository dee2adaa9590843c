"""Scrapy adapter of the archive: a downloader middleware that hands every fetch to
the recorder, and a signal the spider sends for fetches that got no response.

Placed at 950, next to the downloader, it sees each response before
HttpCompressionMiddleware decodes it and before RedirectMiddleware follows it: raw
bodies, every redirect hop, every retry. Reads the ARCHIVE_* and PROVENANCE_*
settings (see crawler.settings); `ARCHIVE_ENABLED = False` switches it off;
PROVENANCE_SIGNING_KEY signs each run's ledger head (crawler.store.signing).
"""

from __future__ import annotations

import datetime as dt
import logging
import random
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

from scrapy import Request, Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest, NotConfigured
from scrapy.http import Response
from scrapy.settings import BaseSettings
from twisted.python.failure import Failure

from crawler import SOFTWARE_NAME, __version__
from crawler.capture.recorder import Recorder
from crawler.capture.writer import WriterConfig as RecorderConfig
from crawler.store.db import open_database
from crawler.store.runs import finish_run, start_run
from crawler.store.signing import head_signer
from crawler.warc.records import Fetch
from crawler.warc.write import CONFORMS_TO

log = logging.getLogger(__name__)

#: sent by the spider's errback: (request, failure, spider) of a fetch with no response
fetch_failed = object()

#: settings recorded with every run, because they shape what was captured
RECORDED_SETTINGS = (
    "ROBOTSTXT_OBEY", "USER_AGENT", "DEFAULT_REQUEST_HEADERS", "DOWNLOAD_TIMEOUT",
    "RETRY_TIMES", "REDIRECT_MAX_TIMES", "AUTOTHROTTLE_ENABLED", "AUTOTHROTTLE_START_DELAY",
    "AUTOTHROTTLE_TARGET_CONCURRENCY", "CONCURRENT_REQUESTS", "CONCURRENT_REQUESTS_PER_DOMAIN",
    "DOWNLOAD_DELAY", "ARCHIVE_GZIP_LEVEL", "ARCHIVE_MAX_FILE_SIZE", "REQUISITES_MAX_DEPTH",
)


#: the crawl's SQLite page cache per connection (SQLite's default: 2,000 KiB). The crawl
#: appends rows and reads back only the ids it just wrote; the pages it touches are in
#: the operating system's cache anyway, and 1.5 MB less counts on a small machine.
CRAWL_SQLITE_CACHE_KIB = 512

_keys = random.Random()  # seeded from os.urandom once


def _fetch_key() -> str:
    """128 random bits as hex, like uuid4().hex without a getrandom() call per fetch
    (a system call on the reactor thread gives the GIL to the writer thread)."""
    return f"{_keys.getrandbits(128):032x}"


def _headers(headers: Any) -> tuple[tuple[str, str], ...]:
    return tuple(
        (name.decode("latin-1"), value.decode("latin-1"))
        for name, values in headers.items()
        for value in values
    )


def _plain_setting(value: Any) -> Any:
    """A setting as JSON can hold it (dict settings are BaseSettings objects)."""
    return value.copy_to_dict() if isinstance(value, BaseSettings) else value


def _context(request: Request) -> dict[str, Any]:
    """The provenance a request carries in its meta: seed, outlet, role, hops, origin."""
    meta = request.meta
    return {
        "seed_id": meta.get("seed_id"),
        "outlet": meta.get("outlet"),
        "requested_url": (meta.get("redirect_urls") or [request.url])[0],
        "role": _role(request),
        "hops": meta.get("hops", 0),
        "via_url": meta.get("via_url"),
    }


def _role(request: Request) -> str:
    """page (a seed or ad-hoc page), requisite, or robots (robots.txt for the policy)."""
    if "role" in request.meta:
        return str(request.meta["role"])
    if request.meta.get("dont_obey_robotstxt") and urlsplit(request.url).path == "/robots.txt":
        return "robots"
    return "other"


class ArchiveMiddleware:
    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.settings = crawler.settings
        self.recorder: Recorder | None = None
        self.run_id: int | None = None
        self.sessions: Any = None
        self.sign: Any = None  # signs the run's ledger head (PROVENANCE_SIGNING_KEY)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ArchiveMiddleware:
        if not crawler.settings.getbool("ARCHIVE_ENABLED"):
            raise NotConfigured("ARCHIVE_ENABLED is off: nothing is archived")
        mw = cls(crawler)
        crawler.signals.connect(mw.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(mw.spider_closed, signal=signals.spider_closed)
        crawler.signals.connect(mw.on_fetch_failed, signal=fetch_failed)
        return mw

    # -- run lifecycle --------------------------------------------------------------
    def spider_opened(self, spider: Spider) -> None:
        try:
            self._open_run(spider)
        except Exception as exc:
            log.error("cannot open the archive, nothing will be fetched: %s", exc)
            self.crawler.stats.set_value("archive/error", str(exc))
            self.crawler.engine.close_spider(spider, "archive_error")

    def process_request(self, request: Request, spider: Spider | None = None) -> None:
        if self.recorder is None:
            raise IgnoreRequest("the archive is not open: nothing is fetched unarchived")

    def _open_run(self, spider: Spider) -> None:
        s = self.settings
        collection = Path(s.get("CRAWLER_COLLECTION_DIR") or ".").resolve()
        if s.get("PROVENANCE_SIGNING_KEY"):
            self.sign = head_signer(Path(s.get("PROVENANCE_SIGNING_KEY")))
        db_url = s.get("PROVENANCE_DB_URL") or f"sqlite:///{collection / 'provenance.db'}"
        self.sessions = open_database(db_url, sqlite_cache_kib=CRAWL_SQLITE_CACHE_KIB)
        recorded = {name: _plain_setting(s.get(name)) for name in RECORDED_SETTINGS}
        recorded["ARCHIVE_GZIP_LEVEL"] = s.getint("ARCHIVE_GZIP_LEVEL")
        manifest = getattr(spider, "manifest", None)
        run = start_run(
            self.sessions,
            collection=manifest.name if manifest else collection.name,
            seeds=getattr(spider, "seeds", ()),
            operator=s.get("CRAWLER_OPERATOR"),
            user_agent=s.get("USER_AGENT"),
            robots_obey=s.getbool("ROBOTSTXT_OBEY"),
            settings=recorded,
        )
        self.run_id = run.id
        self.crawler.stats.set_value("archive/run_id", run.id)
        self.crawler.stats.set_value("archive/run_uuid", run.uuid)
        warcinfo = {
            "software": f"{SOFTWARE_NAME}/{__version__} (Scrapy-based)",
            "format": "WARC File Format 1.1",
            "conformsTo": CONFORMS_TO,
            "isPartOf": run.collection,
            "operator": s.get("CRAWLER_OPERATOR"),
            "hostname": run.host,
            "http-header-user-agent": s.get("USER_AGENT"),
            "robots": "obey" if s.getbool("ROBOTSTXT_OBEY") else "ignore",
            "crawl-run": run.uuid,
            "crawl-run-id": str(run.id),
            "crawl-run-started": run.started_at.isoformat(timespec="microseconds"),
            "crawl-settings": run.settings_json,
            "description": (
                "HTTP status lines and headers are re-serialised from Scrapy's parsed "
                "responses (Scrapy keeps no raw HTTP bytes); payloads are stored as received, "
                "de-chunked, content-encoding kept; Transfer-Encoding headers are dropped and "
                "the drop noted in each capture's metadata record"
            ),
        }
        config = RecorderConfig(
            archive_dir=collection / (s.get("ARCHIVE_DIR") or "archive"),
            prefix=s.get("ARCHIVE_PREFIX"),
            max_file_size=s.getint("ARCHIVE_MAX_FILE_SIZE"),
            gzip_level=s.getint("ARCHIVE_GZIP_LEVEL"),
            batch_records=s.getint("ARCHIVE_COMMIT_BATCH"),
            batch_seconds=s.getfloat("ARCHIVE_COMMIT_SECONDS"),
            software=f"{SOFTWARE_NAME}/{__version__}",
        )
        self.recorder = Recorder(config, sessions=self.sessions, run=run, warcinfo=warcinfo)
        # the writer process commits the crawl's rows through its own connection: this
        # process holds none while it fetches (its page cache, and a PostgreSQL session
        # per crawl machine); finish_run opens one again
        self.sessions.kw["bind"].dispose()
        log.info("crawl run %s (%s) archiving into %s", run.id, run.uuid, config.archive_dir)

    def spider_closed(self, spider: Spider, reason: str) -> None:
        if self.recorder is None or self.run_id is None:
            return
        status = "finished" if reason == "finished" else f"stopped: {reason}"
        try:
            written = self.recorder.close()
        except Exception:
            finish_run(self.sessions, self.run_id, status="failed: archive writer error",
                       sign=self.sign)
            raise
        run = finish_run(self.sessions, self.run_id, status=status, sign=self.sign)
        stats = self.crawler.stats
        stats.set_value("archive/ledger_head", run.ledger_head)
        # where archiving could hold the crawl up: handing fetches to the writer (it
        # waits while the writer's pipe is full) and the writer's waits for the disk
        stats.set_value("archive/submit_seconds", round(written.submit_seconds, 3))
        stats.set_value("archive/submit_cpu_seconds", round(written.submit_cpu_seconds, 3))
        # the crawl process's thread that waits for the writer's events (its rows are the
        # writer's: crawler.capture.rows), and what committing them cost the writer process
        stats.set_value("archive/collector_cpu_seconds", round(written.collector_cpu_seconds, 3))
        stats.set_value("archive/writer_fsync_seconds", round(written.sync_seconds, 3))
        stats.set_value("archive/writer_commit_seconds", round(written.commit_seconds, 3))
        stats.set_value("archive/commits", written.commits)
        log.info("crawl run %s closed; ledger head %s", run.id, run.ledger_head)

    # -- fetches ----------------------------------------------------------------------
    def _submit(self, fetch: Fetch) -> None:
        assert self.recorder is not None
        try:
            self.recorder.submit(fetch)
        except Exception as exc:
            log.error("archiving failed, stopping the crawl: %s", exc)
            self.crawler.stats.set_value("archive/error", str(exc))
            if self.crawler.engine and self.crawler.spider:
                self.crawler.engine.close_spider(self.crawler.spider, "archive_error")
            raise

    def process_response(
        self, request: Request, response: Response, spider: Spider | None = None
    ) -> Response:
        if self.recorder is None:
            raise IgnoreRequest("the archive is not open: response not kept")
        now = dt.datetime.now(dt.UTC)
        latency = request.meta.get("download_latency") or 0.0
        meta = request.meta
        key = _fetch_key()
        location = None
        raw_location = response.headers.get(b"Location")
        if 300 <= response.status < 400 and raw_location:
            location = urljoin(request.url, raw_location.decode("latin-1"))
        fetch = Fetch(
            key=key,
            url=response.url,
            fetched_at=now - dt.timedelta(seconds=latency),
            method=request.method,
            request_headers=_headers(request.headers),
            request_body=request.body,
            protocol=getattr(response, "protocol", None),
            status=response.status,
            response_headers=_headers(response.headers),
            body=response.body,
            ip_address=str(response.ip_address) if response.ip_address else None,
            redirect_from_key=meta.pop("archive_redirect_from", None),
            redirect_location=location,
            **_context(request),
        )
        self._submit(fetch)
        if location:
            meta["archive_redirect_from"] = key  # copied into the redirect's request
        stats = self.crawler.stats
        stats.inc_value("archive/fetches")
        stats.inc_value("archive/payload_bytes", len(response.body))
        return response

    def on_fetch_failed(self, request: Request, failure: Failure, spider: Spider) -> None:
        if self.recorder is None:
            return
        meta = request.meta
        fetch = Fetch(
            key=_fetch_key(),
            url=request.url,
            fetched_at=dt.datetime.now(dt.UTC),
            method=request.method,
            redirect_from_key=meta.get("archive_redirect_from"),
            **_context(request),
            error=f"{failure.type.__name__}: {failure.getErrorMessage()}",
        )
        self._submit(fetch)
        self.crawler.stats.inc_value("archive/failures")


