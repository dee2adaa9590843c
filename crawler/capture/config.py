"""The archive's configuration: every setting it reads, read once, as typed values.

`ArchiveConfig.from_settings` reads the ARCHIVE_*, PROVENANCE_* and CRAWLER_* settings
(see crawler.settings) and the Scrapy settings a run records; the archive middleware
calls it in `from_crawler`, and `crawler.capture.session` runs the archive from the
value. No Scrapy import (a settings object is read through its getters), and none of
the archive's heavy modules: importing this costs a crawl that archives nothing nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from crawler import SOFTWARE_NAME, __version__

if TYPE_CHECKING:
    from scrapy.settings import BaseSettings

    from crawler.capture.writer import WriterConfig

#: settings recorded with every run, because they shape what was captured
RECORDED_SETTINGS = (
    "ROBOTSTXT_OBEY", "USER_AGENT", "DEFAULT_REQUEST_HEADERS", "DOWNLOAD_TIMEOUT",
    "RETRY_TIMES", "REDIRECT_MAX_TIMES", "AUTOTHROTTLE_ENABLED", "AUTOTHROTTLE_START_DELAY",
    "AUTOTHROTTLE_TARGET_CONCURRENCY", "CONCURRENT_REQUESTS", "CONCURRENT_REQUESTS_PER_DOMAIN",
    "DOWNLOAD_DELAY", "ARCHIVE_GZIP_LEVEL", "ARCHIVE_MAX_FILE_SIZE", "REQUISITES_MAX_DEPTH",
)


def _plain_setting(value: Any) -> Any:
    """A setting as JSON can hold it (dict settings are BaseSettings objects)."""
    return value.copy_to_dict() if hasattr(value, "copy_to_dict") else value


@dataclass(frozen=True)
class ArchiveConfig:
    """Where and how one crawl is archived, and what its run records."""

    collection_dir: Path  # CRAWLER_COLLECTION_DIR, resolved
    db_url: str  # PROVENANCE_DB_URL, or the collection's provenance.db
    writer: WriterConfig  # ARCHIVE_DIR (in the collection), _PREFIX, _MAX_FILE_SIZE, ...
    operator: str  # CRAWLER_OPERATOR
    user_agent: str  # USER_AGENT
    robots_obey: bool  # ROBOTSTXT_OBEY
    signing_key: Path | None = None  # PROVENANCE_SIGNING_KEY; None: heads are not signed
    #: RECORDED_SETTINGS as JSON can hold them: the run's settings_json
    recorded_settings: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_settings(cls, settings: BaseSettings) -> ArchiveConfig:
        """Read the settings; a value of the wrong type raises ValueError (or TypeError)."""
        from crawler.capture.writer import WriterConfig  # the writer's modules: only to archive

        s = settings
        collection = Path(s.get("CRAWLER_COLLECTION_DIR") or ".").resolve()
        recorded = {name: _plain_setting(s.get(name)) for name in RECORDED_SETTINGS}
        recorded["ARCHIVE_GZIP_LEVEL"] = s.getint("ARCHIVE_GZIP_LEVEL")
        key = s.get("PROVENANCE_SIGNING_KEY")
        return cls(
            collection_dir=collection,
            db_url=s.get("PROVENANCE_DB_URL") or f"sqlite:///{collection / 'provenance.db'}",
            writer=WriterConfig(
                archive_dir=collection / (s.get("ARCHIVE_DIR") or "archive"),
                prefix=s.get("ARCHIVE_PREFIX"),
                max_file_size=s.getint("ARCHIVE_MAX_FILE_SIZE"),
                gzip_level=s.getint("ARCHIVE_GZIP_LEVEL"),
                batch_records=s.getint("ARCHIVE_COMMIT_BATCH"),
                batch_seconds=s.getfloat("ARCHIVE_COMMIT_SECONDS"),
                software=f"{SOFTWARE_NAME}/{__version__}",
            ),
            operator=s.get("CRAWLER_OPERATOR"),
            user_agent=s.get("USER_AGENT"),
            robots_obey=s.getbool("ROBOTSTXT_OBEY"),
            signing_key=Path(key) if key else None,
            recorded_settings=recorded,
        )
