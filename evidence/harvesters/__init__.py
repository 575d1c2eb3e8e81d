"""Harvesters: one module per source kind, registered by name.

Contract (like a Scrapy pipeline stage): `harvest(source, fetcher)` yields, lazily,
`Candidate` (a document found), `ItemFailure` (one item lost, the run goes on) or `Unchanged`
(the server answered 304). A failure of the whole source is raised as `SourceError` or
`FetchError`, one line naming the URL. A new kind is a new module added to HARVESTERS: config
validation reads the same mapping, so nothing else changes.
"""
from __future__ import annotations

import importlib
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from evidence.fetch import Fetcher, Response
from evidence.models import Candidate, ItemFailure, Unchanged

if TYPE_CHECKING:  # config imports HARVESTERS from here for validation: no import of config at run time
    from evidence.config import Source

# Source kind -> the module whose `harvest(source, fetcher)` reads it (imported when first used).
HARVESTERS: dict[str, str] = {
    "feed": "evidence.harvesters.feed",
    "govuk": "evidence.harvesters.govuk",
    "nice": "evidence.harvesters.nice",
    "html": "evidence.harvesters.html",
    "pdf": "evidence.harvesters.pdf",
    "europepmc": "evidence.harvesters.europepmc",
}

HarvestItem = Candidate | ItemFailure | Unchanged
Harvester = Callable[["Source", Fetcher], Iterator[HarvestItem]]


class SourceError(Exception):
    """The source as a whole yielded nothing usable; str() is one line naming the URL and why."""


def extracted(url: str, response: Response, build: Callable[[], Iterator[HarvestItem]]) -> Iterator[HarvestItem]:
    """A fetched page's items: extracted now, or, when the server said 304, deferred as `Unchanged`
    (the pipeline calls `build` only if the catalogue lacks the record)."""
    if response.not_modified:
        yield Unchanged(url, rebuild=lambda: guarded(url, build))
    else:
        yield from guarded(url, build)


def guarded(url: str, build: Callable[[], Iterator[HarvestItem]]) -> Iterator[HarvestItem]:
    """Run one item's extraction; an unexpected error in it loses that item only (a one-line ItemFailure),
    never the rest of the source: extractors meet pages nobody foresaw."""
    try:
        yield from build()
    except Exception as exc:  # noqa: BLE001 - one malformed page must not stop the run
        where = traceback.extract_tb(exc.__traceback__)[-1]
        reason = " ".join(f"{type(exc).__name__}: {exc}".split())[:200]
        yield ItemFailure(url, f"extraction failed, {reason} ({Path(where.filename).name}:{where.lineno})")


def harvester_for(kind: str) -> Harvester:
    """The harvest function registered for a source kind in HARVESTERS."""
    harvest: Harvester = importlib.import_module(HARVESTERS[kind]).harvest
    return harvest
