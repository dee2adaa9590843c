"""Requisite extraction: what a page needs, and nothing that is another page."""

from __future__ import annotations

from crawler.capture.requisites import css_requisites, html_requisites, srcset_urls

PAGE = """<html><head><base href="http://site.test/news/">
<link rel="stylesheet" href="/css/main.css"><link rel="icon" href="/favicon.ico">
<link rel="canonical" href="http://site.test/news/a"><link rel="alternate" href="/feed">
<style>@import "print.css"; .x { background: url('img/bg.png') }</style>
<script src="https://cdn.test/app.js"></script></head>
<body style="background-image:url(data:image/png;base64,AAAA)">
<img src="pic.jpg" srcset="pic-2x.jpg 2x, https://cdn.test/pic-3x.jpg 3x">
<picture><source srcset="p.webp 1x"></picture>
<video poster="poster.jpg"><source src="v.mp4"></video>
<a href="/other-article">another article</a>
<img src="javascript:alert(1)"><img src="pic.jpg#frag">
<iframe src="https://embed.test/player"></iframe>
</body></html>"""


def test_html_requisites() -> None:
    urls = html_requisites(PAGE, "http://site.test/news/a")
    assert len(urls) == len(set(urls))
    assert sorted(urls) == sorted([
        "http://site.test/css/main.css",
        "http://site.test/favicon.ico",
        "https://cdn.test/app.js",
        "http://site.test/news/pic.jpg",
        "https://embed.test/player",
        "http://site.test/news/poster.jpg",
        "http://site.test/news/v.mp4",
        "http://site.test/news/pic-2x.jpg",
        "https://cdn.test/pic-3x.jpg",
        "http://site.test/news/p.webp",
        "http://site.test/news/print.css",
        "http://site.test/news/img/bg.png",
    ])
    assert "http://site.test/other-article" not in urls
    assert "http://site.test/feed" not in urls


def test_css_requisites() -> None:
    css = """@import url("base.css"); @import 'x.css';
    /* url(commented.png) */
    @font-face { src: url(fonts/a.woff2) format("woff2"), url("fonts/a.woff") }
    .a { background: url( "../img/b.png" ) } .b { background: url(data:x) }"""
    assert css_requisites(css, "http://h.test/css/site.css") == [
        "http://h.test/css/x.css",
        "http://h.test/css/base.css",
        "http://h.test/css/fonts/a.woff2",
        "http://h.test/css/fonts/a.woff",
        "http://h.test/img/b.png",
    ]


def test_srcset() -> None:
    assert srcset_urls(" a.jpg 1x,b.jpg 2x , c.jpg") == ["a.jpg", "b.jpg", "c.jpg"]
