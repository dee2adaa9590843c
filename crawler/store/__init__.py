"""The provenance database: SQLAlchemy models (`models`), engines, sessions, schema
upgrades and statements compiled for bare drivers (`db`, `dbapi`), Alembic migrations
(`migrations/`), the hash-chained ledger (`ledger`, `canonical`), crawl runs (`runs`)
and signed ledger heads (`signing`).

May import the top-level helpers only; never `crawler.warc` or a package above it.
`canonical` and `dbapi` import no SQLAlchemy: the WARC writer process uses them.
"""
