"""The spine of a harvest: sources are fetched concurrently, and each is stored in its own transaction.

    harvest_sources()  ->  for each source (threads):  harvester(source, fetcher) -> items
                       ->  as each finishes (main thread):  upsert + classify, commit, HarvestRun row

A source that fails gets a HarvestRun with a one-line reason and touches nothing else; a kill
between commits leaves every committed source whole and the rest as they were.
"""
from __future__ import annotations

import os
import traceback
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.engine import Engine
from sqlmodel import Session

from evidence import catalogue
from evidence.config import Source
from evidence.fetch import Fetcher, FetchError
from evidence.harvesters import HarvestItem, SourceError, harvester_for
from evidence.models import Candidate, HarvestRun, ItemFailure, Unchanged, utcnow

MAX_ITEM_ERRORS_KEPT = 50

ProgressHook = Callable[[str, int], None]  # (source id, items so far)


@dataclass
class SourceResult:
    """What one source's harvest did: the row of the summary table."""

    source_id: str
    status: str = "ok"
    fetched: int = 0
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: int = 0
    message: str | None = None
    item_errors: list[str] = field(default_factory=list)


class HarvestLocked(Exception):
    """Another harvest is writing to the same catalogue."""


@contextmanager
def harvest_lock(db: str) -> Iterator[None]:
    """Hold an exclusive lock on a SQLite catalogue for the length of a harvest (no-op for server databases)."""
    if "://" in db and not db.startswith("sqlite:///"):
        yield
        return
    import fcntl

    path = Path(db.removeprefix("sqlite:///") + ".lock")
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = open(path, "a+")
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            raise HarvestLocked(f"another harvest (pid {holder}) is writing to {db}; wait for it to finish") from None
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        yield
    finally:
        handle.close()


def collect(source: Source, fetcher: Fetcher, progress: ProgressHook | None = None) -> tuple[list[HarvestItem], str | None]:
    """Run one harvester to the end; returns its items and, if the source failed, a one-line reason."""
    items: list[HarvestItem] = []
    try:
        for item in harvester_for(source.kind)(source, fetcher):
            items.append(item)
            if progress:
                progress(source.id, len(items))
    except (FetchError, SourceError) as exc:
        return items, str(exc)
    except Exception as exc:  # noqa: BLE001 - a harvester bug must not stop the other sources
        where = traceback.extract_tb(exc.__traceback__)[-1]
        return items, f"{source.url}: internal error {type(exc).__name__}: {exc} ({Path(where.filename).name}:{where.lineno})"
    return items, None


class SharedIndex:
    """One MatchIndex for a whole harvest run, built when first needed (a run of 304s never builds it).

    Sources are stored one after another in the main thread, so sharing it is safe; after a failed
    source's rollback it is dropped and rebuilt from the database.
    """

    def __init__(self) -> None:
        self.index: catalogue.MatchIndex | None = None

    def get(self, session: Session) -> catalogue.MatchIndex:
        if self.index is None:
            self.index = catalogue.MatchIndex(session)
        return self.index

    def reset(self) -> None:
        self.index = None


def store(session: Session, source: Source, items: list[HarvestItem], result: SourceResult,
          classify_hook: catalogue.ClassifyHook | None, shared: SharedIndex | None = None) -> None:
    """Upsert one source's items into the session (the caller commits)."""
    now = utcnow()
    shared = shared or SharedIndex()
    batch = catalogue.StoreBatch()
    pending: list[HarvestItem] = list(reversed(items))
    while pending:
        item = pending.pop()
        if isinstance(item, Candidate):
            result.fetched += 1
            outcome = catalogue.upsert(session, item, source.id, now, classify_hook, shared.get(session), batch)
            setattr(result, outcome, getattr(result, outcome) + 1)
        elif isinstance(item, ItemFailure):
            result.errors += 1
            if len(result.item_errors) < MAX_ITEM_ERRORS_KEPT:
                result.item_errors.append(str(item)[:500])
        elif isinstance(item, Unchanged):
            if item.scope == "source":
                touched = catalogue.touch_source(session, source.id, now)
                if touched:
                    result.fetched += touched
                    result.unchanged += touched
                    continue
            elif catalogue.touch_url(session, item.url, now):
                result.fetched += 1
                result.unchanged += 1
                continue
            if item.rebuild is not None:  # 304, but the catalogue lacks it: extract from the capture
                pending.extend(reversed(list(item.rebuild())))
    catalogue.flush_batch(session, batch, now)


def harvest_sources(
    engine: Engine,
    sources: list[Source],
    fetcher: Fetcher,
    *,
    workers: int = 4,
    progress: ProgressHook | None = None,
    on_done: Callable[[SourceResult], None] | None = None,
    classify_hook: catalogue.ClassifyHook | None = None,
) -> list[SourceResult]:
    """Harvest every source; each is committed on its own, in the order they finish."""
    run_ids: dict[str, int] = {}
    with Session(engine) as session:
        for source in sources:
            run = HarvestRun(source_id=source.id, offline=fetcher.offline)
            session.add(run)
            session.flush()
            assert run.id is not None
            run_ids[source.id] = run.id
        session.commit()
    results: dict[str, SourceResult] = {}
    shared = SharedIndex()
    with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="harvest") as pool:
        futures = {pool.submit(collect, source, fetcher, progress): source for source in sources}
        for future in as_completed(futures):
            source = futures[future]
            items, failure = future.result()
            result = _store_source(engine, source, items, failure, run_ids[source.id], classify_hook, shared)
            results[source.id] = result
            if on_done:
                on_done(result)
    return [results[s.id] for s in sources]


def _store_source(engine: Engine, source: Source, items: list[HarvestItem], failure: str | None,
                  run_id: int, classify_hook: catalogue.ClassifyHook | None, shared: SharedIndex) -> SourceResult:
    result = SourceResult(source_id=source.id)
    if failure is not None:
        result.status, result.message = "failed", failure
    else:
        try:
            with Session(engine) as session:
                store(session, source, items, result, classify_hook, shared)
                _finish(session, run_id, result)
                session.commit()
                return result
        except (SourceError, FetchError) as exc:
            shared.reset()
            result = SourceResult(source_id=source.id, status="failed", message=str(exc))
        except BaseException:
            shared.reset()
            raise
    with Session(engine) as session:
        result.errors = max(result.errors, 1)
        _finish(session, run_id, result)
        session.commit()
    return result


def _finish(session: Session, run_id: int, result: SourceResult) -> None:
    run = session.get(HarvestRun, run_id)
    if run is None:
        return
    run.finished_at = utcnow()
    run.status = result.status
    run.message = result.message
    for name in ("fetched", "new", "updated", "unchanged", "errors", "item_errors"):
        setattr(run, name, getattr(result, name))
    session.add(run)
