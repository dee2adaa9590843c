"""The provenance database: SQLAlchemy 2.x typed ORM models.

Every capture row points at bytes: the WARC file, the offset and length of its
response (and request and metadata) records, the record id and the digests.

Which bytes each hash covers:
- `Capture.payload_sha256` — SHA-256 (hex) of the HTTP payload exactly as received:
  transfer chunking removed, content encoding (gzip, br, …) NOT removed. It is the
  same byte string warcio's `WARC-Payload-Digest` covers.
- `Capture.warc_payload_digest` / `warc_block_digest` — the WARC headers' values,
  `sha1:` + base32, as the web-archive ecosystem expects.
- `WarcFile.sha256` — SHA-256 (hex) of the whole closed `.warc.gz` file as stored.
- `Seed.copy_sha256` — SHA-256 (hex) of the seed copy file.
Schema changes go through Alembic migrations in `crawler/store/migrations/`.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    BigInteger,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Text,
    TypeDecorator,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

HASH_SCOPE = "payload as received: de-chunked, before content decoding"


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite keeps no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: object) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: provenance times must be UTC-aware")
        return value.astimezone(dt.UTC)

    def process_result_value(
        self, value: dt.datetime | None, dialect: object
    ) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


class Base(DeclarativeBase):
    pass


class Outlet(Base):
    __tablename__ = "outlets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(300), unique=True)


class Seed(Base):
    __tablename__ = "seeds"

    id: Mapped[str] = mapped_column(String(100), primary_key=True, comment="manifest seed id")
    url: Mapped[str] = mapped_column(Text)
    outlet_id: Mapped[int] = mapped_column(ForeignKey("outlets.id"))
    copy_file: Mapped[str | None] = mapped_column(String(500))
    copy_sha256: Mapped[str | None] = mapped_column(String(64), comment="SHA-256 of the seed copy")
    published: Mapped[str | None] = mapped_column(String(40))
    first_seen_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)

    outlet: Mapped[Outlet] = relationship()


class CrawlRun(Base):
    __tablename__ = "crawl_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uuid: Mapped[str] = mapped_column(String(64), unique=True)
    collection: Mapped[str] = mapped_column(String(300))
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(40), default="running")
    software: Mapped[str] = mapped_column(String(200))
    software_version: Mapped[str] = mapped_column(String(40))
    host: Mapped[str] = mapped_column(String(255))
    operator: Mapped[str] = mapped_column(String(300))
    user_agent: Mapped[str] = mapped_column(Text)
    robots_policy: Mapped[str] = mapped_column(String(40), comment="obey or ignore")
    settings_json: Mapped[str] = mapped_column(Text, comment="the settings that shape the capture")
    pages: Mapped[int] = mapped_column(Integer, default=0)
    captures: Mapped[int] = mapped_column(Integer, default=0)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    ledger_head: Mapped[str | None] = mapped_column(String(64))
    head_signature: Mapped[str | None] = mapped_column(Text)


class WarcFile(Base):
    __tablename__ = "warc_files"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(300), unique=True, comment="final name, no .open")
    run_id: Mapped[int] = mapped_column(ForeignKey("crawl_runs.id"))
    warcinfo_id: Mapped[str] = mapped_column(String(100))
    opened_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    size: Mapped[int | None] = mapped_column(BigInteger)
    sha256: Mapped[str | None] = mapped_column(String(64), comment="SHA-256 of the closed file")
    gzip_level: Mapped[int] = mapped_column(Integer)


class Capture(Base):
    """One fetch: a request and its response (or the reason there was none)."""

    __tablename__ = "captures"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("crawl_runs.id"), index=True)
    seed_id: Mapped[str | None] = mapped_column(ForeignKey("seeds.id"), index=True)
    outlet_id: Mapped[int | None] = mapped_column(ForeignKey("outlets.id"))
    requested_url: Mapped[str] = mapped_column(Text, comment="first URL of the redirect chain")
    url: Mapped[str] = mapped_column(Text, index=True, comment="WARC-Target-URI of this fetch")
    redirect_location: Mapped[str | None] = mapped_column(Text)
    redirect_from_id: Mapped[int | None] = mapped_column(ForeignKey("captures.id"))
    role: Mapped[str] = mapped_column(String(20), comment="page, requisite or robots")
    hops: Mapped[int] = mapped_column(Integer, default=0, comment="0 = the seed page")
    via_url: Mapped[str | None] = mapped_column(Text, comment="page that needed this resource")
    fetched_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, comment="WARC-Date, UTC")
    status: Mapped[int | None] = mapped_column(Integer)
    protocol: Mapped[str | None] = mapped_column(String(20))
    content_type: Mapped[str | None] = mapped_column(String(300))
    content_encoding: Mapped[str | None] = mapped_column(String(100))
    payload_length: Mapped[int | None] = mapped_column(BigInteger)
    payload_sha256: Mapped[str | None] = mapped_column(String(64), comment=HASH_SCOPE)
    warc_payload_digest: Mapped[str | None] = mapped_column(String(100))
    warc_block_digest: Mapped[str | None] = mapped_column(String(100))
    warc_file_id: Mapped[int | None] = mapped_column(ForeignKey("warc_files.id"), index=True)
    warc_record_id: Mapped[str | None] = mapped_column(String(100), unique=True)
    response_offset: Mapped[int | None] = mapped_column(BigInteger)
    response_length: Mapped[int | None] = mapped_column(BigInteger)
    request_record_id: Mapped[str | None] = mapped_column(String(100))
    request_offset: Mapped[int | None] = mapped_column(BigInteger)
    request_length: Mapped[int | None] = mapped_column(BigInteger)
    metadata_record_id: Mapped[str | None] = mapped_column(String(100))
    metadata_offset: Mapped[int | None] = mapped_column(BigInteger)
    metadata_length: Mapped[int | None] = mapped_column(BigInteger)
    ip_address: Mapped[str | None] = mapped_column(String(64))
    error: Mapped[str | None] = mapped_column(Text, comment="why no response was received")

    warc_file: Mapped[WarcFile | None] = relationship()
    redirect_from: Mapped[Capture | None] = relationship(remote_side=[id])
    run: Mapped[CrawlRun] = relationship()
    seed: Mapped[Seed | None] = relationship()


class Flag(Base):
    """A difference between a capture and its seed copy (see crawler.compare.comparison)."""

    __tablename__ = "flags"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    capture_id: Mapped[int | None] = mapped_column(ForeignKey("captures.id"), index=True)
    seed_id: Mapped[str] = mapped_column(ForeignKey("seeds.id"), index=True)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("crawl_runs.id"))
    kind: Mapped[str] = mapped_column(String(40))
    severity: Mapped[str] = mapped_column(String(20))
    message: Mapped[str] = mapped_column(Text)
    evidence_json: Mapped[str] = mapped_column(Text)
    software_version: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class LedgerEntry(Base):
    """Append-only, hash-chained log of every provenance record (see crawler.store.ledger)."""

    __tablename__ = "ledger"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    table_name: Mapped[str] = mapped_column(String(40))
    row_id: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(20), comment="insert or update")
    payload: Mapped[str] = mapped_column(Text, comment="canonical JSON of the row")
    prev_hash: Mapped[str] = mapped_column(String(64))
    entry_hash: Mapped[str] = mapped_column(String(64), unique=True)
    recorded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
