"""Publishers known by an acronym or a web host, from the data file publishers.yaml beside this module."""
from __future__ import annotations

from functools import cache
from pathlib import Path
from urllib.parse import urlsplit

import yaml

from evidence.extract.dates import parse_date

DATA = Path(__file__).with_name("publishers.yaml")


@cache
def known_publishers() -> dict[str, str]:
    """The table of publisher names by lower-cased acronym, name or host."""
    data = yaml.safe_load(DATA.read_text(encoding="utf-8")) or {}
    return {str(key).strip().lower(): str(value) for key, value in data.items()}


def known_publisher(name_or_host: str | None) -> str | None:
    """The full name of a publisher known by an acronym or web host ("PHE", "theguardian.com")."""
    if not name_or_host:
        return None
    key = name_or_host.strip().lower()
    if key.startswith("www."):
        key = key[4:]
    if key in known_publishers():
        return known_publishers()[key]
    for host, name in known_publishers().items():
        if "." in host and key.endswith("." + host):
            return name
    return None


def item_publisher(lines: list[str], title: str, link: str | None) -> str | None:
    """The publisher of one digest item: a "Source | date" byline, a "... | PHE" subtitle, or the link's host."""
    start = lines.index(title) + 1 if title in lines else 0
    for line in lines[start : start + 2]:
        if "|" not in line:
            continue
        for part in (p.strip() for p in line.split("|")):
            if part and len(part) <= 40 and not parse_date(part) and not part.lower().startswith("published"):
                return known_publisher(part) or part
    if link:
        return known_publisher(urlsplit(link).hostname)
    return None
