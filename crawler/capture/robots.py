"""robots.txt, obeyed for every request — including those that wait together.

Scrapy's RobotsTxtMiddleware (2.13+) lets every request to a host wait on one
Deferred while robots.txt downloads. Under the asyncio reactor each waiter attaches
through `Deferred.asFuture`, whose callback passes None down the chain: only the first
waiter gets the parser, the others get None and are let through — so a disallowed
seed queued behind another request to the same host is fetched. After the wait we
read the parser the middleware stored for the host instead.
"""

from __future__ import annotations

from typing import Any

from scrapy import Request
from scrapy.downloadermiddlewares.robotstxt import RobotsTxtMiddleware as ScrapyRobots
from scrapy.utils.httpobj import urlparse_cached
from twisted.internet.defer import Deferred


class RobotsTxtMiddleware(ScrapyRobots):
    async def robot_parser(self, request: Request) -> Any:
        parser = await super().robot_parser(request)
        if parser is None:
            stored = self._parsers.get(urlparse_cached(request).netloc)
            if stored is not None and not isinstance(stored, Deferred):
                return stored
        return parser
