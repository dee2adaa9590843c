"""Access to a collection: the CDXJ index, WACZ packages, pywb replay, citations, TimeMaps
and the comparison report.

`cdx` (archive/index.cdxj and canonical.cdxj), `mementos` (which captures stand for a
URL), `archived_page` (a cited response read back and checked), `cite`, `timemap`,
`replay`, `wacz`, `wacz_sign`, `report`, `report_html`. May import `crawler.store`,
`crawler.warc`, `crawler.compare` (the headline extractor, the report's flags) and the
package's top-level helpers; never `crawler.commands` or `crawler.capture`.
"""
