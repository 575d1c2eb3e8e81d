"""Atom feeds of new evidence: one for everything, one per intervention. Built with ElementTree, so every
harvested string is escaped and the feed is well-formed whatever the text holds.

A feed is valid with or without a base URL. The caller names each place (the feed, its page, each entry)
either by the site's own path (`feeds/all.xml`, `./records/x.html`) or by an absolute http(s) URL (under
`--base-url`). Site paths are written relative to the feed's own folder (`../records/x.html`), so a reader
resolving them from the feed's location (RFC 3986, as feed readers do) reaches the page, wherever the site is
served. Ids are `tag:` URIs (RFC 4151) made from the site path alone: the same record keeps the same id in
every feed, in every build, with or without a base URL.
"""
from __future__ import annotations

import posixpath
import re
import xml.etree.ElementTree as ET  # noqa: S405 - used to write, never to parse
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlsplit

ATOM = "http://www.w3.org/2005/Atom"
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
FEED_SIZE = 50
TAG_AUTHORITY = "evidence.invalid,2024"  # the tool's own naming authority (no domain of the site is needed for an id)


def _clean(text: Any) -> str:
    return _XML_INVALID.sub("", str(text or ""))


def _stamp(value: Any) -> str:
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=UTC)
        return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return "1970-01-01T00:00:00Z"


def is_absolute(url: str) -> bool:
    """An absolute http(s) URL with a host."""
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def _site_root(urls: list[str]) -> str:
    """The base URL that absolute site URLs share: their common folder (the feed and its page never share one below it)."""
    folders = [u.rpartition("/")[0] + "/" for u in urls]
    root = posixpath.commonprefix(folders)
    return root[: root.rfind("/") + 1]


def _site_path(url: str, root: str) -> str:
    """The path of a place within the site ("records/x.html"), from a site path or an absolute URL under `root`."""
    if is_absolute(url):
        return url[len(root):] if root and url.startswith(root) else urlsplit(url).path.lstrip("/")
    path = posixpath.normpath(url.lstrip("/"))
    return "" if path == "." else path


def tag_uri(site_path: str) -> str:
    """The permanent id of a place in the site, e.g. tag:evidence.invalid,2024:records/x."""
    stem = site_path[: -len(".html")] if site_path.endswith(".html") else site_path
    return f"tag:{TAG_AUTHORITY}:{quote(stem, safe='/-._~')}"


def atom_feed(title: str, feed_url: str, page_url: str, entries: list[dict[str, Any]]) -> bytes:
    """An Atom document; each entry needs title, url, summary, first_seen (categories optional).

    `feed_url`, `page_url` and each entry's url are all site paths or all absolute URLs under one base."""
    places = [feed_url, page_url, *(e["url"] for e in entries[:FEED_SIZE])]
    absolute = is_absolute(feed_url)
    root = _site_root(places) if absolute else ""
    feed_path = _site_path(feed_url, root)
    feed_folder = posixpath.dirname(feed_path) or "."

    def href(url: str) -> str:
        if absolute or is_absolute(url):
            return url
        return posixpath.relpath(_site_path(url, root) or ".", feed_folder)

    ET.register_namespace("", ATOM)
    feed = ET.Element(f"{{{ATOM}}}feed")
    ET.SubElement(feed, f"{{{ATOM}}}title").text = _clean(title)
    ET.SubElement(feed, f"{{{ATOM}}}id").text = _clean(tag_uri(feed_path))
    ET.SubElement(feed, f"{{{ATOM}}}link", rel="self", type="application/atom+xml", href=_clean(href(feed_url)))
    ET.SubElement(feed, f"{{{ATOM}}}link", rel="alternate", type="text/html", href=_clean(href(page_url)))
    newest = max((e["first_seen"] for e in entries), default=None)
    ET.SubElement(feed, f"{{{ATOM}}}updated").text = _stamp(newest)
    author = ET.SubElement(feed, f"{{{ATOM}}}author")
    ET.SubElement(author, f"{{{ATOM}}}name").text = "evidence"
    for entry in entries[:FEED_SIZE]:
        item = ET.SubElement(feed, f"{{{ATOM}}}entry")
        ET.SubElement(item, f"{{{ATOM}}}title").text = _clean(entry["title"])
        ET.SubElement(item, f"{{{ATOM}}}id").text = _clean(tag_uri(_site_path(entry["url"], root)))
        ET.SubElement(item, f"{{{ATOM}}}link", rel="alternate", type="text/html", href=_clean(href(entry["url"])))
        ET.SubElement(item, f"{{{ATOM}}}updated").text = _stamp(entry["first_seen"])
        ET.SubElement(item, f"{{{ATOM}}}published").text = _stamp(entry["first_seen"])
        summary = ET.SubElement(item, f"{{{ATOM}}}summary", type="text")
        summary.text = _clean(entry.get("summary"))
        for term in entry.get("categories", []):
            ET.SubElement(item, f"{{{ATOM}}}category", term=_clean(term))
    return ET.tostring(feed, encoding="utf-8", xml_declaration=True)
