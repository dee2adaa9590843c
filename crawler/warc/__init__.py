"""WARC bytes: a fetch's records (`records`), writing files (`write`), reading a record
back (`read`), walking a whole file (`scan`, `heads`), and warcio's br decoding for the
tests (`warcio_compat`).

May import the top-level helpers (`crawler.digests`, `crawler.errors`, ...) and warcio;
never SQLAlchemy, Scrapy or another package of the crawler: the WARC writer process and
the verify workers import it.
"""
