"""All settings of the crawler, with their defaults: the one place for configuration.

Scrapy reads this module (scrapy.cfg names it); the CLI starts from it and overrides
what its options say. The environment is read here and nowhere else:
CRAWLER_DB_URL selects the provenance database (a SQLAlchemy URL: SQLite or PostgreSQL).
Prefixes name the component that reads a setting: ARCHIVE_ (crawler.capture.config, read by
crawler.capture.middleware), PROVENANCE_ (the database), REQUISITES_ (the spider),
CRAWLER_ (the collection and the operator), PROGRESS_ (crawler.capture.progress),
REPLAY_ (crawler.access.replay and the replay URLs of citations).
"""

from __future__ import annotations

import os

BOT_NAME = "provenance-crawler"
SPIDER_MODULES = ["spiders"]
NEWSPIDER_MODULE = "spiders"

# --- the collection and who runs the crawl -------------------------------------------
# Folder holding seeds/, archive/ and provenance.db (the CLI's --collection).
CRAWLER_COLLECTION_DIR = "."
# Who operates the crawl; recorded in warcinfo and in every crawl run row.
CRAWLER_OPERATOR = "Provenance crawler operator"
# How a site owner reaches the operator. The `seeds` spider makes the User-Agent from it,
# "provenance-crawler/<version> (+<contact>; archival crawler)", unless USER_AGENT is set
# (here or with -s), which is then sent as it is.
CRAWLER_CONTACT = "mailto:archivist@example.org"

# --- the provenance database ------------------------------------------------------------
# SQLAlchemy URL of SQLite or PostgreSQL (psycopg); empty means
# sqlite:///<collection>/provenance.db.
PROVENANCE_DB_URL = os.environ.get("CRAWLER_DB_URL", "")
# Ed25519 private key (PEM) that signs each run's ledger head (`crawl --sign KEYFILE`,
# `crawler keygen`); empty = heads are not signed. See crawler.store.signing.
PROVENANCE_SIGNING_KEY = ""

# --- archiving ---------------------------------------------------------------------------
# Off: nothing is archived (the benchmark's plain-Scrapy baseline).
ARCHIVE_ENABLED = True
# WARC folder, relative to the collection.
ARCHIVE_DIR = "archive"
# First part of every WARC file name.
ARCHIVE_PREFIX = "CRAWL"
# Rotate to a new WARC file once the current one reaches this many bytes.
ARCHIVE_MAX_FILE_SIZE = 1_000_000_000
# gzip level of each record's member: 6 compresses within ~2 % of 9 at ~3x the speed.
# Measured (BENCHMARKS.md): with zlib-ng, used when installed, level 6 deflates HTML at
# ~50 MB/s per core (zlib: ~12) for zlib's level-6 ratio, so a lower level would buy
# little; payloads that do not compress (images, fonts, content-encoded) are stored.
ARCHIVE_GZIP_LEVEL = 6
# Commit capture rows (after fsync of their WARC bytes) every N fetches or S seconds.
ARCHIVE_COMMIT_BATCH = 200
ARCHIVE_COMMIT_SECONDS = 1.0
# (The WARC writer runs in its own process, `crawler.capture.writer`; the crawl waits for
# it only when it is a pipe's worth, 1 MB, behind.)

# --- what a page needs ---------------------------------------------------------------
# Requisite levels below a seed page: 1 = its images/CSS/JS, 2 = what CSS imports, ...
REQUISITES_MAX_DEPTH = 3

# --- the crawl process -------------------------------------------------------------------
# Allocations between young garbage collections while a spider runs (Python's default
# is 700; 0 keeps it). Larger lets each response's objects die young instead of being
# walked by full collections, which took a quarter of the crawl's CPU (crawler.capture.gc_tuning).
CRAWL_GC_THRESHOLD = 20_000

# --- progress ----------------------------------------------------------------------------
# Seconds between progress reports of a crawl (0 = none).
PROGRESS_INTERVAL = 5.0

# --- replay (crawler.access.replay, `crawler replay`, `crawler cite`, `crawler timemap`) ----------
# pywb's own virtualenv (or its `wayback` program); empty = <repo>/.venv-replay (setup.sh).
# pywb must not share the crawler's virtualenv: its brotlipy breaks Scrapy's brotli.
REPLAY_PYWB = ""
# Port `crawler replay` serves on (a free one when taken) and citations' replay URLs name.
REPLAY_PORT = 8080

# --- Scrapy: politeness and fetching ---------------------------------------------------
ROBOTSTXT_OBEY = True
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 1.0
AUTOTHROTTLE_MAX_DELAY = 30.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 2.0
CONCURRENT_REQUESTS = 16
CONCURRENT_REQUESTS_PER_DOMAIN = 4
DOWNLOAD_TIMEOUT = 30
RETRY_TIMES = 2
# warcio cannot decode zstd: advertise only codings it reads (Scrapy >= 2.18 adds zstd).
DEFAULT_REQUEST_HEADERS = {
    "Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
    "Accept-Language": "en",
    "Accept-Encoding": "gzip, deflate, br",
}
DOWNLOADER_MIDDLEWARES = {
    # Scrapy's lets requests that wait together for robots.txt through (crawler/capture/robots.py)
    "scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware": None,
    "crawler.capture.robots.RobotsTxtMiddleware": 100,
    # next to the downloader: raw bodies and every redirect hop
    "crawler.capture.middleware.ArchiveMiddleware": 950,
}
EXTENSIONS = {
    "crawler.capture.progress.CrawlProgress": 500,
    "crawler.capture.gc_tuning.GcTuning": 0,
    # off, and not even imported (with twisted.conch)
    "scrapy.extensions.telnet.TelnetConsole": None,
}
LOG_LEVEL = "INFO"
