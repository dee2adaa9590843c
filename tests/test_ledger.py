"""The ledger's chain and row checks on a small in-memory database."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from crawler import ledger
from crawler.models import Base, Outlet


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
