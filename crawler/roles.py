"""What a capture was fetched for: the values of `captures.role` and of the `role`
field of each capture's WARC metadata record."""

from __future__ import annotations

PAGE = "page"  # a seed page or an ad-hoc page
REQUISITE = "requisite"  # what a page needs to replay: images, CSS, JS, fonts
ROBOTS = "robots"  # a host's robots.txt, fetched for the robots policy
OTHER = "other"  # a request that says nothing of its role
