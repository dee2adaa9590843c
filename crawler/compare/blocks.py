"""A captured page's visible text as blocks, each marked article, headline, meta or chrome.

The page is parsed with lxml and cut into text blocks at block-level elements (the
way a text scrape of the page cuts it; image alt texts count as blocks too). Each block
says where it was found (`section.more-articles h4`). The article is located from the
main-text paragraphs that trafilatura found: their lowest common ancestor, together with
the headline. Blocks outside it, or inside navigation, sidebars, related-link lists,
share bars, ads, tag lists or footers, are page chrome; the rest of the article's
non-paragraph text (byline, dates, captions) is meta. No settings are read.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from difflib import SequenceMatcher

from lxml import html as lxml_html

from crawler.compare.text import clean, key


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


BLOCK_TAGS = _words("""
address article aside blockquote body dd details div dl dt fieldset figcaption figure footer
form h1 h2 h3 h4 h5 h6 header hr li main nav ol p pre section summary table tbody td tfoot th
thead tr ul br
""")
DROP_TAGS = _words("script style noscript template svg iframe select option textarea head "
                   "input object embed canvas")
CHROME_TAGS = frozenset({"nav", "aside", "footer"})
CHROME_WORDS = _words("""
nav navbar navigation menu footer sidebar widget related share sharelist sharing social advt ad
ads advert adverts advertisement comment comments newsletter subscribe breadcrumb breadcrumbs
trending popular pagination topbar masthead logo languages search tags tag skip cookie banner
""")
CHROME_PHRASES = ("more-articles", "most-viewed", "top-bar", "read-more", "top-strip",
                  "top-links", "also-read")
PARAGRAPH_TAGS = _words("p li blockquote pre h2 h3 h4 h5 h6 dd td")
LANDMARKS = frozenset({"header", "nav", "aside", "footer", "section", "article", "main"})


@dataclass(frozen=True)
class Block:
    """One piece of visible text on the live page."""

    text: str
    where: str
    role: str  # one of ROLES


def _classes(el: lxml_html.HtmlElement) -> str:
    return f"{el.get('class', '')} {el.get('id', '')}".strip().lower()


def describe(el: lxml_html.HtmlElement) -> str:
    """A short CSS-like name: `tag.first-class` or `tag#id`."""
    tag = el.tag if isinstance(el.tag, str) else "?"
    if el.get("id"):
        return f"{tag}#{el.get('id')}"
    classes = (el.get("class") or "").split()
    return f"{tag}.{classes[0]}" if classes else tag


def where(el: lxml_html.HtmlElement) -> str:
    """The element and its nearest named ancestor: `section.more-articles h4`."""
    own = describe(el)
    ancestors = [a for a in el.iterancestors()
                 if isinstance(a.tag, str) and a.tag not in ("html", "body")]
    for anc in ancestors:  # a landmark first: header, nav, section, a related list ...
        if anc.tag in LANDMARKS or _is_chrome_node(anc):
            return f"{describe(anc)} {own}"
    for anc in ancestors:
        if anc.get("id") or anc.get("class"):
            return f"{describe(anc)} {own}"
    return own


def chrome_marker(el: lxml_html.HtmlElement, exempt: frozenset[int] = frozenset()) -> str | None:
    """The element (or ancestor) that makes this text page chrome, if any.

    Elements in `exempt` (ids of the article text's ancestors) never count: a class name
    such as "entry-content no-share" on the article body is not a share bar.
    """
    for node in [el, *el.iterancestors()]:
        if not isinstance(node.tag, str) or id(node) in exempt:
            continue
        if node.tag in CHROME_TAGS or _is_chrome_node(node):
            return describe(node)
    return None


def _is_chrome_node(node: lxml_html.HtmlElement) -> bool:
    if node.tag in ("article", "body", "html"):  # WordPress puts "tag-x" on <article>
        return False
    names = _classes(node)
    if not names:
        return False
    tokens = set(re.split(r"[\s_\-]+", names))
    return bool(tokens & CHROME_WORDS) or any(p in names for p in CHROME_PHRASES)


def _text_lines(root: lxml_html.HtmlElement) -> list[tuple[str, lxml_html.HtmlElement]]:
    """Visible text cut at block elements, each with the block element that holds it."""
    out: list[tuple[str, lxml_html.HtmlElement]] = []
    buf: list[str] = []

    def flush(owner: lxml_html.HtmlElement) -> None:
        text = clean("".join(buf))
        buf.clear()
        if text:
            out.append((text, owner))

    def walk(el: lxml_html.HtmlElement, block: lxml_html.HtmlElement) -> None:
        tag = el.tag if isinstance(el.tag, str) else None
        if tag is None or tag in DROP_TAGS:
            if el.tail:
                buf.append(el.tail)
            return
        is_block = tag in BLOCK_TAGS
        if is_block:
            flush(block)
        owner = el if is_block else block
        if tag == "img" and clean(el.get("alt") or ""):
            flush(block)
            out.append((clean(el.get("alt") or ""), el))
        if el.text:
            buf.append(el.text)
        for child in el:
            walk(child, owner)
        if is_block:
            flush(owner)
        if el.tail:
            buf.append(el.tail)

    walk(root, root)
    flush(root)
    return out


def _common_ancestor(elements: Sequence[lxml_html.HtmlElement]) -> lxml_html.HtmlElement | None:
    paths = [list(reversed([el, *el.iterancestors()])) for el in elements]
    if not paths:
        return None
    common = None
    for nodes in zip(*paths, strict=False):
        if all(n is nodes[0] for n in nodes):
            common = nodes[0]
        else:
            break
    return common


def _is_article_text(text_key: str, paragraph_keys: set[str], paragraphs: Iterable[str]) -> bool:
    if text_key in paragraph_keys:
        return True
    if len(text_key) < 40:
        return False
    for p in paragraphs:
        if text_key in p and len(text_key) >= 0.6 * len(p):
            return True
        matcher = SequenceMatcher(None, text_key, p, autojunk=False)
        if matcher.real_quick_ratio() >= 0.9 and matcher.quick_ratio() >= 0.9 and (
                matcher.ratio() >= 0.9):
            return True
    return False


def page_blocks(root: lxml_html.HtmlElement, *, paragraphs: Sequence[str],
                title: str | None) -> list[Block]:
    """The page's text blocks with their roles (see the module docstring)."""
    body = root.find("body")
    lines = _text_lines(body if body is not None else root)
    pkeys = {key(p) for p in paragraphs}
    title_key = key(title) if title else None
    matches = [el.tag != "img" and _is_article_text(key(text), pkeys, pkeys) and (
        len(text) >= 40 or el.tag in PARAGRAPH_TAGS) for text, el in lines]
    exempt = frozenset(id(a) for (_, el), hit in zip(lines, matches, strict=True) if hit
                       for a in el.iterancestors())
    roles: list[str] = []
    anchors = []
    for (text, el), hit in zip(lines, matches, strict=True):
        if hit and chrome_marker(el, exempt) is None:
            roles.append("article")
            anchors.append(el)
        elif title_key and key(text) == title_key and el.tag in ("h1", "h2") and (
                chrome_marker(el, exempt) is None):
            roles.append("headline")
            anchors.append(el)
        else:
            roles.append("")
    container = _common_ancestor(anchors)
    if container is not None:
        article = next((a for a in [container, *container.iterancestors()] if a.tag == "article"),
                       None)
        container = article if article is not None else container
    blocks = []
    for (text, el), role in zip(lines, roles, strict=True):
        if not role:
            inside = container is not None and (el is container or any(
                a is container for a in el.iterancestors()))
            role = "meta" if inside and chrome_marker(el, exempt) is None else "chrome"
        label = f"{where(el)}[alt]" if el.tag == "img" else where(el)
        blocks.append(Block(text=text, where=label, role=role))
    return blocks


def parse_html(text: str) -> lxml_html.HtmlElement:
    """lxml's HTML tree of a decoded page (never fails on an empty or odd page)."""
    try:
        return lxml_html.document_fromstring(text or "<html></html>")
    except Exception:  # noqa: BLE001 - lxml refuses some degenerate inputs
        return lxml_html.document_fromstring("<html><body></body></html>")
