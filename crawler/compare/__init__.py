"""A seed copy against the captured page: what the page says (`live_page`, `blocks`,
`text`), what the copy says (`seed_copy`, `lines`), how they align (`align`), what
differs (`comparison`, `flags`), and captures read back with their flags recorded
(`recorded`).

May import `crawler.store`, `crawler.warc` and the top-level helpers; never Scrapy, and
never `crawler.access`, `crawler.audit`, `crawler.capture` or `crawler.commands`.
"""
