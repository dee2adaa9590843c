"""The fixture site: a WSGI application serving an offline copy of the five seed outlets.

Every outlet lives under a path prefix equal to its real host name (see
``manifest.local_url``); ``/cdn/...`` holds assets that pages reference through a second
host name (``localhost`` when the page was asked for as ``127.0.0.1``, and the other way
round), so a crawler sees them as another host on the same server.  Absolute URLs in
pages are built from the request's Host header, so the pages work on any port.

Besides the five articles the site has a WordPress-style ``?p=`` short link answered
with a 301, the OrissaPOST home page, ``/robots.txt``, ``/private/page.html`` and the
``/test/...`` endpoints for crawler tests (errors, soft 404, slow answer, redirect,
non-English page, escaping, gzip with chunked transfer coding).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import html
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from werkzeug.datastructures import Headers
from werkzeug.http import http_date
from werkzeug.wrappers import Request, Response

from . import encoding
from .assets import find_asset, read_package_file

SHOEBAT_PATH = "/shoebat.com/2014/09/01/taliban-pledges-allegiance-isis-sent-recruits-join/"
FT_PATH = (
    "/financialtribune.com/articles/international/1980/pakistani-taliban-declare-allegiance-to-is"
)
DARPAN_PATH = "/www.darpanmagazine.com/news/international/isis-inspiring-pakistani-militants/"
ONEINDIA_PATH = (
    "/www.oneindia.com/india/2021-when-taliban-conquered-afghanistan-and-iskp-decided-to-stay"
    "-at-logger-heads-3346304.html"
)
ORISSAPOST_HOME = "/www.orissapost.com/"
ORISSAPOST_PERMALINK = (
    "/www.orissapost.com/isi-encouraged-banned-kashmir-centric-terrorist-groups-to-join"
    "-islamic-state-report/"
)
ORISSAPOST_POST_ID = "555484"
CDN_PREFIX = "/cdn/"

HTML = "text/html; charset=utf-8"
ROBOTS_TXT = "User-agent: *\nDisallow: /private/\n"
ASSET_LAST_MODIFIED = dt.datetime(2021, 6, 1, 8, 0, tzinfo=dt.UTC)
_HOST_RE = re.compile(r"^[A-Za-z0-9.\-]+(:\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](:\d{1,5})?$")
_HOST_PORT_RE = re.compile(r"^(?P<name>\[[^\]]*\]|[^:]*)(?::(?P<port>\d+))?$")
_PLACEHOLDER_RE = re.compile(r"\{\{(\w+)\}\}")
_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December")


def _utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
         ) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, second, tzinfo=dt.UTC)


@dataclass(frozen=True)
class Page:
    """How one HTML page is served."""

    template: str  # file name under pages/
    coding: str = "identity"  # gzip | br | deflate | chunked | gzip-chunked | identity
    server: str = "nginx"
    last_modified: dt.datetime | None = None
    status: int = 200
    extra_headers: tuple[tuple[str, str], ...] = ()


ARTICLES: dict[str, Page] = {
    SHOEBAT_PATH: Page(
        "shoebat.html", "chunked", "nginx", _utc(2014, 9, 2, 11, 5, 10),
        extra_headers=(("X-Powered-By", "PHP/7.4.33"),
                       ("Link", "<{origin}/shoebat.com/?p=61914>; rel=shortlink")),
    ),
    FT_PATH: Page(
        "financialtribune.html", "deflate", "Apache/2.4.29 (Ubuntu)", _utc(2014, 10, 4, 20, 30),
        extra_headers=(("X-Generator", "Drupal 7 (http://drupal.org)"),),
    ),
    DARPAN_PATH: Page(  # a PHP page rebuilt on every request: no Last-Modified
        "darpan.html", "gzip", "Apache", None,
        extra_headers=(("X-Powered-By", "PHP/7.2.34"),
                       ("Cache-Control", "no-store, no-cache, must-revalidate"),
                       ("Pragma", "no-cache")),
    ),
    ONEINDIA_PATH: Page("oneindia.html", "br", "Apache", _utc(2021, 12, 11, 6, 23, 27)),
    ORISSAPOST_PERMALINK: Page(
        "orissapost.html", "identity", "LiteSpeed", _utc(2021, 6, 22, 2, 0, 41),
        extra_headers=(("X-Powered-By", "PHP/7.4.33"),
                       ("Link", "<{origin}/www.orissapost.com/?p=555484>; rel=shortlink")),
    ),
}

TEST_PAGES: dict[str, Page] = {
    "/test/404": Page("error_404.html", status=404),
    "/test/410": Page("error_410.html", status=410),
    "/test/500": Page("error_500.html", status=500),
    "/test/soft404": Page("soft404.html", server="LiteSpeed"),
    "/test/slow": Page("slow.html"),
    "/test/nonenglish": Page("nonenglish.html", extra_headers=(("Content-Language", "hi"),)),
    "/test/xss": Page("xss.html"),
    "/test/gzip-chunked": Page("chunked.html", "gzip-chunked"),
    "/private/page.html": Page("private.html", last_modified=_utc(2020, 1, 1)),
}
NOT_FOUND = Page("error_404.html", status=404)


def format_today(day: dt.date) -> str:
    """The Darpan header widget's date, e.g. ``Monday, November 23, 2026``."""
    return f"{_DAYS[day.weekday()]}, {_MONTHS[day.month - 1]} {day.day}, {day.year}"


def host_of(request: Request) -> str:
    """The request's Host header if it is a plain host[:port], else ``127.0.0.1``."""
    host = request.host
    return host if _HOST_RE.match(host) else "127.0.0.1"


def cdn_host_for(host: str) -> str:
    """The "other" host name on the same port: 127.0.0.1 <-> localhost."""
    match = _HOST_PORT_RE.match(host)
    name, port = (match.group("name"), match.group("port")) if match else (host, None)
    other = "127.0.0.1" if name.lower() == "localhost" else "localhost"
    return f"{other}:{port}" if port else other


class FixtureSite:
    """WSGI application serving the fixture copy of the five outlets.

    ``today`` gives the date printed by Darpan's header widget (default: the real
    date); ``slow_seconds`` is how long ``/test/slow`` waits before answering.
    """

    def __init__(
        self,
        *,
        today: Callable[[], dt.date] | None = None,
        slow_seconds: float = 5.0,
    ) -> None:
        self.today: Callable[[], dt.date] = today or dt.date.today
        self.slow_seconds = slow_seconds

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        request = Request(environ)
        response = self.dispatch(request)
        return response(environ, start_response)

    # routing ------------------------------------------------------------------------

    def dispatch(self, request: Request) -> Response:
        """The response for ``request`` (GET and HEAD; other methods get 405)."""
        if request.method not in ("GET", "HEAD"):
            response = self.render(request, NOT_FOUND)
            response.status_code = 405
            response.headers["Allow"] = "GET, HEAD"
            return response
        path = request.path
        origin = f"{request.scheme}://{host_of(request)}"
        if path == "/robots.txt":
            return self._plain(ROBOTS_TXT, "text/plain; charset=utf-8")
        if path == ORISSAPOST_HOME:
            post_id = request.args.get("p")
            if post_id is None:
                return self.render(request, Page("orissapost_home.html", server="LiteSpeed"))
            if post_id == ORISSAPOST_POST_ID:
                return self._redirect(f"{origin}{ORISSAPOST_PERMALINK}", 301, "LiteSpeed")
            return self.render(request, NOT_FOUND)
        if path == "/test/redirect-home":
            return self._redirect(f"{origin}{ORISSAPOST_HOME}", 302)
        if path in ARTICLES:
            return self.render(request, ARTICLES[path])
        if path + "/" in ARTICLES:  # WordPress-style canonical trailing slash
            query = f"?{request.query_string.decode('latin-1')}" if request.query_string else ""
            return self._redirect(f"{origin}{path}/{query}", 301)
        if path in TEST_PAGES:
            if path == "/test/slow":
                time.sleep(self.slow_seconds)
            return self.render(request, TEST_PAGES[path])
        asset = find_asset(path)
        if asset is not None:
            return self._asset(request, asset.body, asset.content_type)
        return self.render(request, NOT_FOUND)

    # responses ----------------------------------------------------------------------

    def page_html(self, request: Request, template: str) -> str:
        """The text of ``pages/<template>`` with its placeholders filled for ``request``."""
        host = host_of(request)
        values = {
            "origin": f"{request.scheme}://{host}",
            "cdn": f"{request.scheme}://{cdn_host_for(host)}/cdn",
            "today": format_today(self.today()),
        }
        text = read_package_file(f"pages/{template}").decode("utf-8")
        return _PLACEHOLDER_RE.sub(lambda m: values[m.group(1)], text)

    def render(self, request: Request, page: Page) -> Response:
        """``page`` as served: status, headers, and body in the page's coding."""
        body = self.page_html(request, page.template).encode("utf-8")
        origin = f"{request.scheme}://{host_of(request)}"
        headers = self._base_headers(page.server)
        for name, value in page.extra_headers:
            headers.add(name, value.replace("{origin}", origin))
        if page.last_modified is not None:
            headers["Last-Modified"] = http_date(page.last_modified)
        coding = page.coding
        if coding in encoding.CODINGS or coding == "gzip-chunked":
            headers["Vary"] = "Accept-Encoding"
            wanted = "gzip" if coding == "gzip-chunked" else coding
            if not encoding.accepts(request.accept_encodings, wanted):
                coding = "chunked" if coding == "gzip-chunked" else "identity"
        if coding == "chunked":
            return Response(encoding.iter_chunks(body), page.status, headers, content_type=HTML)
        if coding == "gzip-chunked":
            headers["Content-Encoding"] = "gzip"
            chunks = encoding.iter_gzip_chunks(body, 256)
            return Response(chunks, page.status, headers, content_type=HTML)
        if coding in encoding.CODINGS:
            headers["Content-Encoding"] = coding
            body = encoding.compress(body, coding)
        return Response(body, page.status, headers, content_type=HTML)

    def _asset(self, request: Request, body: bytes, content_type: str) -> Response:
        on_cdn = request.path.startswith(CDN_PREFIX)
        headers = self._base_headers("cloudflare" if on_cdn else "nginx")
        headers["Last-Modified"] = http_date(ASSET_LAST_MODIFIED)
        headers["Cache-Control"] = "public, max-age=31536000"
        if on_cdn:
            headers["Access-Control-Allow-Origin"] = "*"
        response = Response(body, 200, headers, content_type=content_type)
        response.set_etag(hashlib.sha1(body).hexdigest()[:16])
        return response.make_conditional(request)

    def _plain(self, text: str, content_type: str) -> Response:
        headers = self._base_headers("nginx")
        headers["Last-Modified"] = http_date(ASSET_LAST_MODIFIED)
        return Response(text.encode("utf-8"), 200, headers, content_type=content_type)

    def _redirect(self, location: str, status: int, server: str = "nginx") -> Response:
        headers = self._base_headers(server)
        headers["Location"] = location
        headers["X-Redirect-By"] = "WordPress" if server == "LiteSpeed" else "fixture"
        link = html.escape(location)
        body = (
            "<!DOCTYPE html>\n<title>Moved</title>\n"
            f'<p>Moved to <a href="{link}">{link}</a>.</p>\n'
        )
        return Response(body.encode("utf-8"), status, headers, content_type=HTML)

    @staticmethod
    def _base_headers(server: str) -> Headers:
        return Headers([("Date", http_date(time.time())), ("Server", server)])
