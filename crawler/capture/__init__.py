"""The crawl: Scrapy's side (`middleware`, `robots`, `progress`, `gc_tuning`, the
`signals` and meta keys the spider shares), the run's lifecycle without Scrapy
(`config`, `session`), the crawl's side of archiving (`recorder`) and the WARC writer
process (`writer`, `pipe`, `rows`), running a crawl (`crawl`) and the whole job after
it (`job`: compare, reseal, index), and the run's summary (`summary`).

May import every package but `crawler.commands`. The writer process imports `writer`,
`pipe` and `rows` only: no Scrapy, no SQLAlchemy (tests/test_architecture.py). Keep
this file free of imports: anything imported here is imported by the writer process.
"""
