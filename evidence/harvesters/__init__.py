"""Harvesters: one module per source kind, registered by name.

Contract (like a Scrapy pipeline stage): `harvest(source, fetcher)` yields, lazily,
`Candidate` (a document found), `ItemFailure` (one item lost, the run goes on) or `Unchanged`
(the server answered 304). A failure of the whole source is raised as `SourceError` or
`FetchError`, one line naming the URL; what was yielded before it is still stored.
Nothing a source gave is dropped: an item whose own page cannot be fetched is yielded from the
listing's or feed's fields, marked `extra["detail_error"]` (see `from_listing`), and items at
distinct `#fragments` of one page keep their fragments (they are distinct documents). A new kind is a new module added to HARVESTERS: config
validation reads the same mapping, so nothing else changes.
"""
from __future__ import annotations

import importlib
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urldefrag

from evidence.fetch import Fetcher, FetchError, Response
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


def from_listing(candidate: Candidate, error: FetchError) -> Candidate:
    """An item stored from what its listing or feed said because its own page failed: marked with the one-line reason,
    so the pipeline reports it and asks for the page again at the next harvest."""
    candidate.extra["detail_error"] = " ".join(str(error.reason).split())[:300]
    return candidate


class PageCache:
    """Each page fetched once per run however many `#fragment` items point into it (NICE research recommendations)."""

    def __init__(self, fetcher: Fetcher, rate_limit: float) -> None:
        self.fetcher, self.rate_limit = fetcher, rate_limit
        self.pages: dict[str, Response | FetchError] = {}

    def get(self, url: str) -> Response:
        """The page at `url` without its fragment; FetchError (the same one for every item of the page) when it failed."""
        page_url = urldefrag(url)[0]
        if page_url not in self.pages:
            try:
                self.pages[page_url] = self.fetcher.get(page_url, rate_limit=self.rate_limit)
            except FetchError as exc:
                self.pages[page_url] = exc
            if len(self.pages) > 64:  # only neighbours share a page: keep the memory bounded
                self.pages.pop(next(iter(self.pages)))
        found = self.pages[page_url]
        if isinstance(found, FetchError):
            raise found
        return found


def harvester_for(kind: str) -> Harvester:
    """The harvest function registered for a source kind in HARVESTERS."""
    harvest: Harvester = importlib.import_module(HARVESTERS[kind]).harvest
    return harvest
