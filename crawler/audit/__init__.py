"""What an auditor runs: `verify` (every row against the archived bytes and the ledger;
findings in `report`, per file in `files` and `records`, read by `workers`, the chain
in `ledger`), `reindex` (rows rebuilt from the WARC files alone, read by `facts`) and
`export` (W3C PROV, CSV, JSON Lines).

May import `crawler.compare`, `crawler.store`, `crawler.warc` and the top-level
helpers; never Scrapy, `crawler.access`, `crawler.capture` or `crawler.commands`.
"""
