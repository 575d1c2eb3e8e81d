"""Atom feeds of new evidence: one for everything, one per intervention. Built with ElementTree, so every
harvested string is escaped and the feed is well-formed whatever the text holds."""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET  # noqa: S405 - used to write, never to parse
from datetime import UTC, datetime
from typing import Any

ATOM = "http://www.w3.org/2005/Atom"
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
FEED_SIZE = 50


def _clean(text: Any) -> str:
    return _XML_INVALID.sub("", str(text or ""))


def _stamp(value: Any) -> str:
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=UTC)
        return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return "1970-01-01T00:00:00Z"


def atom_feed(title: str, feed_url: str, page_url: str, entries: list[dict[str, Any]]) -> bytes:
    """An Atom document; each entry needs id, title, url (absolute), summary, first_seen, last_seen."""
    ET.register_namespace("", ATOM)
    feed = ET.Element(f"{{{ATOM}}}feed")
    ET.SubElement(feed, f"{{{ATOM}}}title").text = _clean(title)
    ET.SubElement(feed, f"{{{ATOM}}}id").text = _clean(feed_url)
    ET.SubElement(feed, f"{{{ATOM}}}link", rel="self", href=_clean(feed_url))
    ET.SubElement(feed, f"{{{ATOM}}}link", rel="alternate", href=_clean(page_url))
    newest = max((e["first_seen"] for e in entries), default=None)
    ET.SubElement(feed, f"{{{ATOM}}}updated").text = _stamp(newest)
    author = ET.SubElement(feed, f"{{{ATOM}}}author")
    ET.SubElement(author, f"{{{ATOM}}}name").text = "evidence"
    for entry in entries[:FEED_SIZE]:
        item = ET.SubElement(feed, f"{{{ATOM}}}entry")
        ET.SubElement(item, f"{{{ATOM}}}title").text = _clean(entry["title"])
        ET.SubElement(item, f"{{{ATOM}}}id").text = _clean(entry["url"])
        ET.SubElement(item, f"{{{ATOM}}}link", rel="alternate", href=_clean(entry["url"]))
        ET.SubElement(item, f"{{{ATOM}}}updated").text = _stamp(entry["first_seen"])
        ET.SubElement(item, f"{{{ATOM}}}published").text = _stamp(entry["first_seen"])
        summary = ET.SubElement(item, f"{{{ATOM}}}summary", type="text")
        summary.text = _clean(entry.get("summary"))
        for term in entry.get("categories", []):
            ET.SubElement(item, f"{{{ATOM}}}category", term=_clean(term))
    return ET.tostring(feed, encoding="utf-8", xml_declaration=True)
