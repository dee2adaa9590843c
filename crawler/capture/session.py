"""One crawl run's archive, from opening to closing: the run lifecycle, without Scrapy.

`open_session(config, seeds=...)` loads the signing key (PROVENANCE_SIGNING_KEY, see
crawler.store.signing), opens the database and records the run with its seeds
(crawler.store.runs.start_run), composes the run's warcinfo
(crawler.warc.records.warcinfo_fields) and starts the recorder (crawler.capture.recorder:
the WARC writer process). `ArchiveSession.submit(fetch)` hands a fetch to the writer;
`close(reason)` lets the writer finish, closes and signs the run
(crawler.store.runs.finish_run) and returns what the crawl's stats show (`ClosedRun`).

The archive middleware (crawler.capture.middleware) is a thin Scrapy adapter over this
module and imports it only when the spider opens: SQLAlchemy, the models and
cryptography are loaded by a crawl that archives, not by every crawl.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from crawler import SOFTWARE_NAME, __version__
from crawler.capture.config import ArchiveConfig
from crawler.capture.recorder import Recorder
from crawler.capture.signals import RunSeeds
from crawler.store.db import open_database
from crawler.store.models import CrawlRun
from crawler.store.runs import finish_run, start_run
from crawler.store.signing import head_signer
from crawler.warc.records import Fetch, warcinfo_fields

log = logging.getLogger(__name__)

#: the crawl process's SQLite page cache per connection (SQLite's default: 2,000 KiB).
#: This process only opens the run and finishes it (the writer process commits the
#: capture rows through its own connection); 1.5 MB less counts on a small machine.
CRAWL_SQLITE_CACHE_KIB = 512


@dataclass(frozen=True)
class ClosedRun:
    """A closed run's ledger head, and where archiving could have held the crawl up."""

    run_id: int
    ledger_head: str | None
    submit_seconds: float  # handing fetches to the writer (waiting while its pipe is full)
    submit_cpu_seconds: float  # of which on the CPU
    collector_cpu_seconds: float  # the thread that waits for the writer's events
    writer_fsync_seconds: float  # the writer process's waits for the disk
    writer_commit_seconds: float  # and what committing the rows cost it (crawler.capture.rows)
    commits: int

    def stat_values(self) -> dict[str, object]:
        """The crawl's stats (`archive/…`) these values go into."""
        return {
            "archive/ledger_head": self.ledger_head,
            "archive/submit_seconds": round(self.submit_seconds, 3),
            "archive/submit_cpu_seconds": round(self.submit_cpu_seconds, 3),
            "archive/collector_cpu_seconds": round(self.collector_cpu_seconds, 3),
            "archive/writer_fsync_seconds": round(self.writer_fsync_seconds, 3),
            "archive/writer_commit_seconds": round(self.writer_commit_seconds, 3),
            "archive/commits": self.commits,
        }


class ArchiveSession:
    """An open crawl run: `submit` each fetch, then `close` once."""

    #: hand one fetch to the WARC writer process (blocks while its pipe is full; raises
    #: crawler.errors.ArchiveError once the writer has stopped). The recorder's own
    #: method: the path every response takes gets no extra call.
    submit: Callable[[Fetch], None]

    def __init__(self, *, sessions: sessionmaker[Session], run: CrawlRun, recorder: Recorder,
                 sign: Callable[[str, str], str] | None) -> None:
        self.run_id: int = run.id
        self.run_uuid: str = run.uuid
        self._sessions = sessions
        self._recorder = recorder
        self._sign = sign
        self.submit = recorder.submit

    def close(self, reason: str) -> ClosedRun:
        """Let the writer finish, then close the run (status from Scrapy's close reason)
        and sign its ledger head. A writer that failed leaves the run closed as failed."""
        status = "finished" if reason == "finished" else f"stopped: {reason}"
        try:
            written = self._recorder.close()
        except Exception:
            finish_run(self._sessions, self.run_id, status="failed: archive writer error",
                       sign=self._sign)
            raise
        run = finish_run(self._sessions, self.run_id, status=status, sign=self._sign)
        log.info("crawl run %s closed; ledger head %s", run.id, run.ledger_head)
        return ClosedRun(
            run_id=run.id, ledger_head=run.ledger_head,
            submit_seconds=written.submit_seconds,
            submit_cpu_seconds=written.submit_cpu_seconds,
            collector_cpu_seconds=written.collector_cpu_seconds,
            writer_fsync_seconds=written.sync_seconds,
            writer_commit_seconds=written.commit_seconds,
            commits=written.commits,
        )


def open_session(config: ArchiveConfig, *, seeds: RunSeeds | None = None,
                 now: dt.datetime | None = None) -> ArchiveSession:
    """Open a crawl run of `seeds` and start its WARC writer; raises on anything that
    stops the archive (a bad signing key, a seed that changed, a database it cannot write)."""
    seeds = seeds or RunSeeds()
    sign = head_signer(config.signing_key) if config.signing_key else None
    sessions = open_database(config.db_url, sqlite_cache_kib=CRAWL_SQLITE_CACHE_KIB)
    run = start_run(
        sessions,
        collection=seeds.collection or config.collection_dir.name,
        seeds=seeds.seeds,
        operator=config.operator,
        user_agent=config.user_agent,
        robots_obey=config.robots_obey,
        settings=config.recorded_settings,
        now=now,
    )
    warcinfo = warcinfo_fields(
        software=f"{SOFTWARE_NAME}/{__version__} (Scrapy-based)",
        collection=run.collection,
        operator=config.operator,
        hostname=run.host,
        user_agent=config.user_agent,
        robots_policy=run.robots_policy,
        run_uuid=run.uuid,
        run_id=run.id,
        run_started=run.started_at,
        settings_json=run.settings_json,
    )
    recorder = Recorder(config.writer, sessions=sessions, run=run, warcinfo=warcinfo)
    # the writer process commits the crawl's rows through its own connection: this
    # process holds none while it fetches (its page cache, and a PostgreSQL session
    # per crawl machine); finish_run opens one again
    sessions.kw["bind"].dispose()
    log.info("crawl run %s (%s) archiving into %s", run.id, run.uuid, config.writer.archive_dir)
    return ArchiveSession(sessions=sessions, run=run, recorder=recorder, sign=sign)
