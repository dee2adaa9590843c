"""Where the capture's Scrapy components meet: their signals and request meta keys.

The spider and the archive middleware talk through these (as Scrapy's own components
do through `scrapy.signals`), so neither imports the other: importing the spider
imports no part of the archive. Nothing here imports Scrapy.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from crawler.manifest import Seed

#: sent by the spider's errback with (request, failure) for a fetch that got no response
fetch_failed = object()
#: sent by the archive middleware as it opens a run; a receiver (the spider) returns the
#: `RunSeeds` the run is a crawl of
seeds_wanted = object()

# -- the provenance a request carries in its meta -------------------------------------
SEED_ID = "seed_id"
OUTLET = "outlet"
HOPS = "hops"  # requisite levels below the seed page (0: the page itself)
ROLE = "role"  # one of crawler.roles: captures.role
VIA_URL = "via_url"  # the page or stylesheet a requisite was found in
#: set on a redirect's response by the archive: the key of the fetch the redirect's request
#: (which RedirectMiddleware copies the meta into) comes from
REDIRECT_FROM = "archive_redirect_from"



@dataclass(frozen=True)
class RunSeeds:
    """What a crawl run is a crawl of: recorded with the run when it opens."""

    seeds: tuple[Seed, ...] = ()
    collection: str | None = None  # the manifest's name; None: the collection folder's
