"""The benchmark's fixture site: N article pages with page requisites, deterministic.

    /robots.txt                     disallows /private/ only
    /articles/NNNNNN.html           article i: 30,000-81,000 bytes of HTML
    /static/site.css, print.css     shared stylesheets (site.css url()s a font and an image)
    /static/vendor.js, app.js       shared scripts
    /static/logo.png, bg.png        shared images; /static/fonts/body.woff2
    /img/NNNNNN-K.jpg               one or two images of article i (4-40 KB, incompressible)

Page i depends only on i (not on N), so a larger site extends a smaller one. Text is
drawn from a fixed pool of paragraphs (shuffled per page, so deflate sees no repeats
within its window) and wrapped in the markup a news page carries; it compresses about
as well as real article HTML. Nothing here imports Scrapy.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

PAGE_MIN = 30_000
PAGE_MAX = 81_000
IMAGE_MIN = 4_000
IMAGE_MAX = 40_000
ROBOTS_TXT = b"User-agent: *\nDisallow: /private/\n"
_POOL_SIZE = 3000


def article_path(i: int) -> str:
    return f"/articles/{i:06d}.html"


def image_paths(i: int) -> list[str]:
    count = 1 + (_rng(i, "images").random() < 0.5)
    return [f"/img/{i:06d}-{k}.jpg" for k in range(count)]


def _rng(i: int, purpose: str) -> random.Random:
    # seeded from a digest so every Python version draws the same sequence
    seed = int.from_bytes(hashlib.sha256(f"{purpose}:{i}".encode()).digest()[:8], "big")
    return random.Random(seed)


def _bytes(i: int, purpose: str, size: int) -> bytes:
    out = bytearray()
    block = 0
    while len(out) < size:
        out += hashlib.sha512(f"{purpose}:{i}:{block}".encode()).digest()
        block += 1
    return bytes(out[:size])


def _words() -> list[str]:
    rng = _rng(0, "words")
    syllables = ["ka", "ro", "mi", "te", "sun", "dar", "pa", "li", "ven", "to", "ra", "ne",
                 "so", "gal", "bi", "ur", "ex", "lo", "man", "di", "pe", "qua", "sil", "or"]
    return ["".join(rng.choice(syllables) for _ in range(1 + int(rng.random() * 4)))
            for _ in range(4000)]


def _paragraphs() -> list[str]:
    rng = _rng(0, "paragraphs")
    words = _words()
    out = []
    for _ in range(_POOL_SIZE):
        sentences = []
        for _ in range(2 + int(rng.random() * 5)):
            n = 6 + int(rng.random() * 18)
            sentence = " ".join(words[int(rng.random() * len(words))] for _ in range(n))
            sentences.append(sentence.capitalize() + ".")
        out.append(" ".join(sentences))
    return out


_POOL: list[str] | None = None


def _pool() -> list[str]:
    global _POOL
    if _POOL is None:
        _POOL = _paragraphs()
    return _POOL


HEAD = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Article {i}: {title}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="description" content="{desc}">
<link rel="stylesheet" href="/static/site.css">
<link rel="stylesheet" href="/static/print.css" media="print">
<link rel="icon" href="/static/logo.png">
<script src="/static/vendor.js"></script>
<script src="/static/app.js" defer></script>
</head>
<body class="article-page">
<header class="site-header"><a href="/"><img src="/static/logo.png" alt="The Bench Gazette"
 width="220" height="48"></a>
<nav class="main-nav"><ul>{nav}</ul></nav></header>
<main id="content"><article class="post" data-id="{i}">
<h1 class="entry-title">{title}</h1>
<p class="byline">By <span class="author">{author}</span> &middot;
<time datetime="2014-{month:02d}-{day:02d}">2014-{month:02d}-{day:02d}</time></p>
"""
FIGURE = """<figure class="wp-block-image"><img src="{src}" alt="{alt}" width="{w}" height="{h}"
 loading="lazy"><figcaption>{alt}</figcaption></figure>
"""
TAIL = """</article>
<aside class="related"><h2>Related</h2><ul>{related}</ul></aside></main>
<footer class="site-footer"><p>&copy; 2014 The Bench Gazette</p></footer>
</body>
</html>
"""


def article_html(i: int) -> bytes:
    """The HTML of article i: between PAGE_MIN and PAGE_MAX bytes, the same on every call."""
    rng = _rng(i, "page")
    pool = _pool()
    target = PAGE_MIN + int(rng.random() * (PAGE_MAX - PAGE_MIN + 1))
    title = pool[int(rng.random() * len(pool))][:60].rstrip(" .")
    nav = "".join(f'<li><a href="/section/{s}/">{s.title()}</a></li>'
                  for s in ("world", "nation", "business", "sport", "opinion", "culture"))
    head = HEAD.format(i=i, title=title, desc=title[:40], nav=nav,
                       author=pool[int(rng.random() * len(pool))][:18].strip(),
                       month=1 + i % 12, day=1 + i % 28)
    related = "".join(f'<li><a href="{article_path((i + k * 7919) % 1_000_000)}">'
                      f"Related story {k}</a></li>" for k in range(1, 9))
    tail = TAIL.format(related=related)
    figures = [FIGURE.format(src=src, alt=f"Picture {k + 1} of article {i}",
                             w=640, h=360 + 40 * k)
               for k, src in enumerate(image_paths(i))]
    body: list[str] = []
    size = len(head) + len(tail) + sum(len(f) for f in figures)
    paragraphs = 0
    while True:
        text = pool[int(rng.random() * len(pool))]
        para = f'<p class="para" id="p{paragraphs}">{text}</p>\n'
        if size + len(para) > target:
            break
        body.append(para)
        size += len(para)
        paragraphs += 1
        if paragraphs in (3, 12) and figures:
            body.append(figures.pop(0))
    body.extend(figures)
    # land exactly on the target: the paragraph that did not fit, cut short (all ASCII)
    room = target - size
    frame = len(para) - len(text)
    body.append(para.replace(text, text[: room - frame]) if room > frame else "\n" * room)
    html = (head + "".join(body) + tail).encode("utf-8")
    return html


def image_bytes(path: str) -> bytes:
    rng = _rng(0, path)
    size = IMAGE_MIN + int(rng.random() * (IMAGE_MAX - IMAGE_MIN + 1))
    return b"\xff\xd8\xff\xe0" + _bytes(0, path, size - 4)


def _shared_css() -> bytes:
    rules = "".join(
        f".c{k} {{ margin: {k % 7}px {k % 5}px; padding: {k % 3}em; "
        f"color: #{k * 2654435761 % 0xFFFFFF:06x}; }}\n"
        for k in range(700)
    )
    return ("@font-face { font-family: Body; src: url(fonts/body.woff2) format('woff2'); }\n"
            "body { font-family: Body, serif; background: url('bg.png') repeat; }\n"
            + rules).encode()


def _shared_js(name: str, size: int) -> bytes:
    line = f"function {name}_f%d(a,b){{return a*%d+b-%d;}}\n"
    out = "".join(line % (k, k, k // 3) for k in range(size // 40))
    return out.encode()[:size]


def shared_files() -> dict[str, bytes]:
    """URL path -> bytes of the requisites every page shares."""
    return {
        "/robots.txt": ROBOTS_TXT,
        "/static/site.css": _shared_css(),
        "/static/print.css": b"@media print { nav, aside, footer { display: none } }\n" * 40,
        "/static/vendor.js": _shared_js("vendor", 90_000),
        "/static/app.js": _shared_js("app", 30_000),
        "/static/logo.png": b"\x89PNG\r\n\x1a\n" + _bytes(0, "logo", 6_000),
        "/static/bg.png": b"\x89PNG\r\n\x1a\n" + _bytes(0, "bg", 2_000),
        "/static/fonts/body.woff2": b"wOF2" + _bytes(0, "font", 24_000),
    }


@dataclass(frozen=True)
class SiteFile:
    path: str  # URL path
    data: bytes


def site_files(pages: int) -> Iterator[SiteFile]:
    """Every file of a site with `pages` articles (numbered 1..pages)."""
    for path, data in shared_files().items():
        yield SiteFile(path, data)
    for i in range(1, pages + 1):
        yield SiteFile(article_path(i), article_html(i))
        for path in image_paths(i):
            yield SiteFile(path, image_bytes(path))


def write_site(root: Path, pages: int) -> int:
    """Write the site under `root` (skipping files already there); returns bytes written."""
    total = 0
    made: set[Path] = set()
    for f in site_files(pages):
        target = root / f.path.lstrip("/")
        if target.parent not in made:
            target.parent.mkdir(parents=True, exist_ok=True)
            made.add(target.parent)
        if not target.exists():
            target.write_bytes(f.data)
            total += len(f.data)
    return total


def manifest_toml(base_url: str, pages: int, *, name: str = "bench") -> str:
    lines = [f'[collection]\nname = "{name}"\n']
    for i in range(1, pages + 1):
        lines.append(f'[[seed]]\nid = "a{i:06d}"\nurl = "{base_url}{article_path(i)}"\n'
                     'outlet = "The Bench Gazette"\n')
    return "\n".join(lines)
