"""The ledger's chain and row checks on a small in-memory database."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from crawler.store import ledger
from crawler.store.models import Base, Outlet


@pytest.fixture
def session() -> Iterator[Session]:
    engine = create_engine("sqlite://")
    Base.metadata.create_all(engine)
    with Session(engine) as s:
        for name in ("A", "B", "C", "D"):
            row = Outlet(name=name)
            s.add(row)
            s.flush()
            ledger.append(s, [row])
        s.commit()
        yield s


def kinds(issues: list[ledger.LedgerIssue]) -> list[tuple[str, int | None, str | None]]:
    return [(i.kind, i.seq, i.row_id) for i in issues]


def test_intact_chain(session: Session) -> None:
    walk = ledger.walk_chain(session, wanted=[ledger.head(session)])
    assert walk.entries == 4 and walk.issues == []
    assert walk.head == ledger.head(session) and walk.found[walk.head][0] == 4
    assert list(ledger.check_rows(session, tables=["outlets"])) == []


def test_empty_ledger_is_genesis() -> None:
    engine = create_engine("sqlite://")
    Base.metadata.create_all(engine)
    with Session(engine) as s:
        walk = ledger.walk_chain(s)
        assert walk.entries == 0 and walk.head == ledger.GENESIS


def test_swapped_entries(session: Session) -> None:
    session.execute(text("UPDATE ledger SET seq = -1 WHERE seq = 2"))
    session.execute(text("UPDATE ledger SET seq = 2 WHERE seq = 3"))
    session.execute(text("UPDATE ledger SET seq = 3 WHERE seq = -1"))
    issues = ledger.walk_chain(session).issues
    assert [(k, s) for k, s, _ in kinds(issues)] == [
        ("ledger-link", 2), ("ledger-link", 3), ("ledger-link", 4)]


def test_edited_payload_and_removed_entry(session: Session) -> None:
    session.execute(text(
        "UPDATE ledger SET payload = replace(payload, '\"A\"', '\"Z\"') WHERE seq = 1"))
    session.execute(text("DELETE FROM ledger WHERE seq = 3"))
    found = kinds(ledger.walk_chain(session).issues)
    assert ("ledger-hash", 1, "1") in found and ("ledger-link", 4, "4") in found


def test_rows_against_entries(session: Session) -> None:
    session.execute(text("UPDATE outlets SET name = 'B2' WHERE id = 2"))
    session.execute(text("DELETE FROM outlets WHERE id = 3"))
    session.execute(text("INSERT INTO outlets (id, name) VALUES (9, 'forged')"))
    session.expire_all()
    issues = list(ledger.check_rows(session, tables=["outlets"]))
    assert kinds(issues) == [("row-changed", 2, "2"), ("row-unledgered", None, "9"),
                             ("row-gone", 3, "3")]
    assert "name: ledger 'B', now 'B2'" in issues[0].message


def test_update_entries_supersede(session: Session) -> None:
    row = session.get(Outlet, 1)
    assert row is not None
    row.name = "A-renamed"
    session.flush()
    ledger.append(session, [row], action="update")
    assert list(ledger.check_rows(session, tables=["outlets"])) == []


def test_seeds_recorded_in_bulk_ledger_like_orm_rows(session: Session) -> None:
    """record_seeds inserts seeds with Core and ledgers them with `append_values`: the
    entries must be what `append` makes for the same rows loaded as objects, so the
    chain walks and every row matches its entry."""
    import datetime as dt

    from sqlalchemy import select

    from crawler.manifest import Seed as ManifestSeed
    from crawler.store.models import LedgerEntry
    from crawler.store.models import Seed as SeedRow
    from crawler.store.runs import record_seeds

    now = dt.datetime(2026, 11, 23, 12, 0, 0, 123456, tzinfo=dt.UTC)
    seeds = [ManifestSeed(id=f"s{i}", url=f"http://127.0.0.1/{i}", outlet="Ünïcode Outlet",
                          copy=f"s{i}.txt", copy_sha256="ab" * 32,
                          published="2014-07-13" if i % 2 else None) for i in range(3)]
    record_seeds(session, seeds, now=now)
    session.commit()
    session.expire_all()
    entries = {e.row_id: e for e in session.scalars(
        select(LedgerEntry).where(LedgerEntry.table_name == "seeds"))}
    rows = list(session.scalars(select(SeedRow)))
    assert sorted(entries) == ["s0", "s1", "s2"] and len(rows) == 3
    for row in rows:
        assert entries[row.id].payload == ledger.canonical(row)
    walk = ledger.walk_chain(session, wanted=[ledger.head(session)])
    assert walk.issues == [] and walk.entries == 4 + 1 + 3  # outlets, the new one, seeds
    assert list(ledger.check_rows(session)) == []


def test_entries_are_byte_for_byte_those_of_before() -> None:
    """Entries made through both appenders (`append`: outlets, a run, a WARC file and an
    outlet together, an update; `append_values`: seeds) hash to the chain the code made
    before `crawler.store.canonical.chain_entries` became the one maker of entries: the
    constants were computed by that code."""
    import datetime as dt
    import hashlib

    from sqlalchemy import select

    from crawler.manifest import Seed as ManifestSeed
    from crawler.store.models import CrawlRun, LedgerEntry, WarcFile
    from crawler.store.runs import record_seeds

    engine = create_engine("sqlite://")
    Base.metadata.create_all(engine)
    now = dt.datetime(2026, 11, 23, 12, 0, 0, 123456, tzinfo=dt.timezone(dt.timedelta(hours=1)))
    with Session(engine) as s:
        record_seeds(s, [ManifestSeed(id=f"s{i}", url=f"http://127.0.0.1/{i}",
                                      outlet="Ünïcode Gazette", copy=f"s{i}.txt",
                                      copy_sha256="ab" * 32,
                                      published="2014-07-13" if i else None)
                         for i in range(2)], now=now)
        run = CrawlRun(uuid="u-1", collection="c", started_at=now, status="running",
                       software="s", software_version="1", host="h", operator="o",
                       user_agent="ua", robots_policy="obey", settings_json="{}", pages=0,
                       captures=0, failures=0, bytes=0)
        s.add(run)
        s.flush()
        ledger.append(s, [run])
        warc = WarcFile(name="T.warc.gz", run_id=run.id, warcinfo_id="<urn:uuid:x>",
                        opened_at=now, gzip_level=6)
        second = Outlet(name="Second")
        s.add_all([warc, second])
        s.flush()
        ledger.append(s, [warc, second])
        warc.size, warc.sha256, warc.closed_at = 10, "cd" * 32, now
        s.flush()
        head = ledger.append(s, [warc], action="update")
        s.commit()
        rows = s.execute(select(LedgerEntry.table_name, LedgerEntry.row_id, LedgerEntry.action,
                                LedgerEntry.payload, LedgerEntry.entry_hash)
                         .order_by(LedgerEntry.seq)).all()
    assert len(rows) == 7
    assert head == "98f73d3b7d27d9825f41cbce9fdff51f041f563c9002b66e6898ec6d14c016bc"
    everything = "\n".join("|".join(row) for row in rows).encode()
    assert hashlib.sha256(everything).hexdigest() == (
        "b23dbb8741a64a8f3a74a49318b88cd9f0c5fa3736290a57c91d670c08455e08")
