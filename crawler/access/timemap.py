"""Memento TimeMaps (RFC 7089, `application/link-format`) of an archived URL.

The TimeMap lists the original resource, the TimeMap itself, the TimeGate and every
memento (see `crawler.access.mementos.mementos`: redirects and canonical URLs followed),
oldest first, with RFC 1123 datetimes in GMT. The first and last mementos carry
`first memento` / `last memento` as RFC 7089 section 5 shows. Memento URIs are pywb
replay URLs on the given base (`<base>/<name>/<14 digits>/<url>`); the TimeGate and
TimeMap URIs are pywb's (`<base>/<name>/<url>`, `<base>/<name>/timemap/link/<url>`).
Reads no settings.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from email.utils import format_datetime

from crawler.access.replay import replay_url
from crawler.store.models import Capture

MEDIA_TYPE = "application/link-format"


def http_date(when: dt.datetime) -> str:
    """An RFC 1123 date in GMT, as Memento-Datetime uses."""
    return format_datetime(when.astimezone(dt.UTC).replace(microsecond=0), usegmt=True)


def _uri(value: str) -> str:
    return "<" + value.replace(">", "%3E").replace(" ", "%20") + ">"


def timemap(url: str, caps: Sequence[Capture], *, base: str, name: str) -> str:
    """The link-format TimeMap of `url` over `caps` (oldest first)."""
    root = f"{base.rstrip('/')}/{name}"
    ordered = sorted(caps, key=lambda c: (c.fetched_at, c.id))
    self_link = f'{_uri(f"{root}/timemap/link/{url}")}; rel="self"; type="{MEDIA_TYPE}"'
    if ordered:
        self_link += (f'; from="{http_date(ordered[0].fetched_at)}"'
                      f'; until="{http_date(ordered[-1].fetched_at)}"')
    links = [f'{_uri(url)}; rel="original"', self_link, f'{_uri(f"{root}/{url}")}; rel="timegate"']
    for i, cap in enumerate(ordered):
        rel = ["first"] if i == 0 else []
        rel += ["last"] if i == len(ordered) - 1 else []
        rels = " ".join([*rel, "memento"])
        links.append(f'{_uri(replay_url(base, name, cap.fetched_at, cap.url))}; '
                     f'rel="{rels}"; datetime="{http_date(cap.fetched_at)}"')
    return ",\n".join(links) + "\n"
