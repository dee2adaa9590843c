"""Static page requisites of the fixture site: which URL path serves which packaged file.

Files live under ``static/<outlet>/`` (directory names stay valid Python identifiers so
packaging picks them up); the table below gives each one the realistic URL path the
outlet's pages use.  Stylesheets only use relative ``url()``/``@import`` references, so
they are served byte for byte whatever the host.  ``/cdn/...`` paths are the second,
"CDN" host (``localhost`` instead of ``127.0.0.1``; same server).
"""

from __future__ import annotations

import mimetypes
from dataclasses import dataclass
from functools import cache
from importlib import resources

SHOEBAT_THEME = "/shoebat.com/wp-content/themes/shoebat"
FT_THEME = "/financialtribune.com/sites/all/themes/ft"
DARPAN = "/www.darpanmagazine.com/assets"
ONEINDIA = "/www.oneindia.com/common"
JNEWS = "/www.orissapost.com/wp-content/themes/jnews/assets"

# URL path -> file under static/
ASSET_FILES: dict[str, str] = {
    "/favicon.ico": "common/favicon.ico",
    # shoebat.com (WordPress)
    "/shoebat.com/favicon.ico": "common/favicon.ico",
    f"{SHOEBAT_THEME}/style.css": "shoebat/style.css",
    f"{SHOEBAT_THEME}/css/reset.css": "shoebat/reset.css",
    f"{SHOEBAT_THEME}/images/bg-paper.png": "shoebat/bg-paper.png",
    f"{SHOEBAT_THEME}/images/logo.png": "shoebat/logo.png",
    f"{SHOEBAT_THEME}/fonts/merriweather.woff2": "shoebat/merriweather.woff2",
    f"{SHOEBAT_THEME}/js/theme.js": "common/app.js",
    # financialtribune.com (Drupal)
    "/financialtribune.com/favicon.ico": "common/favicon.ico",
    f"{FT_THEME}/css/ft.css": "ftribune/ft.css",
    f"{FT_THEME}/css/base.css": "ftribune/base.css",
    f"{FT_THEME}/images/header-bg.png": "ftribune/header-bg.png",
    f"{FT_THEME}/images/logo.png": "ftribune/logo.png",
    f"{FT_THEME}/fonts/ft-sans.woff2": "ftribune/ft-sans.woff2",
    f"{FT_THEME}/js/ft.js": "common/app.js",
    # www.darpanmagazine.com
    "/www.darpanmagazine.com/favicon.ico": "common/favicon.ico",
    f"{DARPAN}/css/darpan.css": "darpan/darpan.css",
    f"{DARPAN}/css/grid.css": "darpan/grid.css",
    f"{DARPAN}/images/header-bg.png": "darpan/header-bg.png",
    f"{DARPAN}/images/logo.gif": "darpan/logo.gif",
    f"{DARPAN}/fonts/darpan-serif.woff2": "darpan/darpan-serif.woff2",
    f"{DARPAN}/js/app.js": "common/app.js",
    # www.oneindia.com
    "/www.oneindia.com/favicon.ico": "common/favicon.ico",
    f"{ONEINDIA}/css/oneindia.css": "oneindia/oneindia.css",
    f"{ONEINDIA}/css/oi-common.css": "oneindia/oi-common.css",
    f"{ONEINDIA}/images/oi-bg.png": "oneindia/oi-bg.png",
    f"{ONEINDIA}/images/oneindia-logo.png": "oneindia/logo.png",
    f"{ONEINDIA}/fonts/noto-sans.woff2": "oneindia/noto-sans.woff2",
    f"{ONEINDIA}/js/oi.js": "common/app.js",
    # www.orissapost.com (WordPress, JNews theme)
    "/www.orissapost.com/favicon.ico": "common/favicon.ico",
    f"{JNEWS}/css/main.css": "orissapost/main.css",
    f"{JNEWS}/css/plugin.css": "orissapost/plugin.css",
    f"{JNEWS}/img/bg-pattern.png": "orissapost/bg-pattern.png",
    f"{JNEWS}/fonts/jegicon/jegicon.woff2": "orissapost/jegicon.woff2",
    f"{JNEWS}/js/main.js": "common/app.js",
    "/www.orissapost.com/wp-content/uploads/2019/05/orissapost-logo.png": "orissapost/logo.png",
    # the CDN host
    "/cdn/libs/share/share.css": "cdn/share.css",
    "/cdn/libs/share/share.js": "cdn/share.js",
    "/cdn/libs/share/share-sprite.gif": "cdn/share-sprite.gif",
    "/cdn/libs/share/share-icons.woff2": "cdn/share-icons.woff2",
    "/cdn/ads/advt-728x90.gif": "cdn/advt-728x90.gif",
    "/cdn/ads/pixel.gif": "cdn/pixel.gif",
    "/cdn/images/shoebat/2014/09/areeb-majeed-abu-ali-al-hindi.jpg": "cdn/areeb-majeed.jpg",
    "/cdn/images/ftribune/2014/10/pakistani-taliban.jpg": "cdn/ft-taliban.jpg",
    "/cdn/images/darpan/thumbs/putin-crimea-accession.jpg": "cdn/thumb-a.jpg",
    "/cdn/images/darpan/thumbs/mh370-search.jpg": "cdn/thumb-b.jpg",
    "/cdn/images/darpan/thumbs/crimea-russian-flags.jpg": "cdn/thumb-a.jpg",
    "/cdn/images/darpan/thumbs/russia-sanctions.jpg": "cdn/thumb-b.jpg",
    "/cdn/images/darpan/thumbs/crimea-reforms.jpg": "cdn/thumb-a.jpg",
    "/cdn/images/darpan/thumbs/bin-laden-hideout.jpg": "cdn/thumb-b.jpg",
    "/cdn/images/oneindia/2021/12/taliban-1639203606-600.jpg": "cdn/oi-taliban-600.jpg",
    "/cdn/images/oneindia/2021/12/taliban-1639203606-1200.jpg": "cdn/oi-taliban-1200.jpg",
    "/cdn/images/orissapost/2021/06/terrorist.jpg": "cdn/op-terrorist.jpg",
    "/cdn/images/orissapost/2019/12/mypaperbagchallenge.jpg": "cdn/thumb-b.jpg",
    "/cdn/images/orissapost/2025/09/vijay-rally.jpg": "cdn/thumb-a.jpg",
    "/cdn/images/orissapost/2025/09/konark-sun-temple.jpg": "cdn/thumb-b.jpg",
    "/cdn/images/orissapost/2025/09/palestine.jpg": "cdn/thumb-a.jpg",
    "/cdn/images/orissapost/2025/09/pak-saudi.jpg": "cdn/thumb-b.jpg",
    "/cdn/images/orissapost/2025/09/donald-trump.jpg": "cdn/thumb-a.jpg",
}

_TYPES = {
    ".css": "text/css; charset=utf-8",
    ".js": "application/javascript; charset=utf-8",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".gif": "image/gif",
    ".ico": "image/x-icon",
    ".woff2": "font/woff2",
    ".html": "text/html; charset=utf-8",
}


@dataclass(frozen=True)
class Asset:
    """One static file as served: its bytes and media type."""

    body: bytes
    content_type: str


def content_type_for(name: str) -> str:
    """Media type (with charset for text) of a packaged file, by its extension."""
    for ext, ctype in _TYPES.items():
        if name.endswith(ext):
            return ctype
    return mimetypes.guess_type(name)[0] or "application/octet-stream"


@cache
def read_package_file(relative: str) -> bytes:
    """Bytes of a file shipped inside this package, e.g. ``pages/darpan.html``."""
    resource = resources.files(__package__)
    for part in relative.split("/"):
        resource = resource.joinpath(part)
    return resource.read_bytes()


def find_asset(path: str) -> Asset | None:
    """The static asset served at URL ``path``, or None when there is none."""
    name = ASSET_FILES.get(path)
    if name is None:
        return None
    return Asset(read_package_file(f"static/{name}"), content_type_for(name))
