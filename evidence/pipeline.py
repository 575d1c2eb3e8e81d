"""The spine of a harvest: sources are fetched concurrently, and each is stored in its own transaction.

    harvest_sources()  ->  for each source (threads):  harvester(source, fetcher) -> items
                       ->  as each finishes (main thread):  upsert + classify, commit, HarvestRun row

A source that fails gets a HarvestRun with a one-line reason and touches nothing else; a kill
between commits leaves every committed source whole and the rest as they were.
"""
from __future__ import annotations

import errno
import functools
import gc
import logging
import os
import threading
import traceback
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Text, bindparam, cast, update
from sqlalchemy import select as core_select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DataError, IntegrityError, SQLAlchemyError
from sqlmodel import Session, col, select

from evidence import catalogue, offload
from evidence.config import Source
from evidence.fetch import Fetcher, FetchError
from evidence.harvesters import HarvestItem, SourceError, harvester_for
from evidence.models import Candidate, HarvestRun, ItemFailure, Record, RecordPlace, Unchanged, utcnow

log = logging.getLogger(__name__)

MAX_ITEM_ERRORS_KEPT = 50
GC_THRESHOLDS = (10_000, 20, 20)  # the cycle collector's thresholds during a harvest (`fewer_collections`)

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


# The PostgreSQL advisory lock a harvest holds (a session lock, per database: released when its connection closes,
# so a killed harvest never leaves it behind). Below 2**31, so pg_locks shows it as classid 0, objid LOCK_KEY.
LOCK_KEY = 0x65766964  # "evid"
LOCK_NAME = "evidence harvest, pid "  # the lock holder's application_name, so a refused harvest can name it


@contextmanager
def harvest_lock(db: str) -> Iterator[None]:
    """Hold an exclusive lock on the catalogue for the length of a harvest: a lock file beside a SQLite catalogue
    (flock), a PostgreSQL advisory lock on a server. HarvestLocked (one line) when another harvest holds it."""
    if not catalogue.is_sqlite(db):
        with _advisory_lock(db):
            yield
        return
    file = catalogue.sqlite_file(db)
    if file is None:  # in-memory: no other process can reach it
        yield
        return
    import fcntl

    path = Path(f"{file}.lock")
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
        offload.keep_from_workers(handle.fileno())
        yield
    finally:
        offload.keep_from_workers(handle.fileno(), keep=False)
        handle.close()


@contextmanager
def _advisory_lock(db: str) -> Iterator[None]:
    from sqlalchemy import create_engine, text
    from sqlalchemy.exc import SQLAlchemyError
    from sqlalchemy.pool import NullPool

    try:
        engine = create_engine(catalogue.database_url(db), poolclass=NullPool,
                               connect_args={"application_name": f"{LOCK_NAME}{os.getpid()}"})
        connection = engine.connect()
    except SQLAlchemyError as exc:
        raise catalogue.CatalogueError(f"cannot open catalogue {catalogue.shown_url(db)}: {catalogue.error_reason(exc)}") from None
    socket: int | None = None
    try:
        if not connection.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": LOCK_KEY}).scalar():
            holder = connection.execute(text(
                "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid WHERE l.locktype = 'advisory' "
                "AND l.classid = 0 AND l.objid = :key AND l.granted AND l.database = (SELECT oid FROM pg_database WHERE datname = "
                "current_database())"), {"key": LOCK_KEY}).scalar() or ""
            pid = holder.removeprefix(LOCK_NAME) if holder.startswith(LOCK_NAME) else "another process"
            raise HarvestLocked(f"another harvest (pid {pid}) is writing to {catalogue.shown_url(db)}; wait for it to finish")
        connection.commit()  # the lock is the session's, not the transaction's: nothing stays open beside it
        socket = _socket_of(connection)
        if socket is not None:
            offload.keep_from_workers(socket)
        yield
    finally:
        if socket is not None:
            offload.keep_from_workers(socket, keep=False)
        try:
            connection.close()  # ends the session, and with it the lock
        finally:
            engine.dispose()


def _socket_of(connection: Any) -> int | None:
    """The descriptor of a PostgreSQL connection's socket (psycopg and psycopg2 both give `fileno()`)."""
    try:
        return int(connection.connection.dbapi_connection.fileno())
    except (AttributeError, TypeError, ValueError, OSError):
        return None


def harvest_running(db: str) -> bool:
    """Whether a harvest holds the catalogue's lock now (so its runs still marked "running" really are)."""
    if not catalogue.is_sqlite(db):
        from sqlalchemy import text

        engine = catalogue.open_engine(db)
        try:
            with engine.connect() as connection:
                return bool(connection.execute(text(
                    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND classid = 0 AND objid = :key AND granted "
                    "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"), {"key": LOCK_KEY}).scalar())
        finally:
            engine.dispose()
    file = catalogue.sqlite_file(db)
    path = Path(f"{file}.lock") if file is not None else None
    if path is None or not path.exists():
        return False
    import fcntl

    try:
        with open(path) as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:
                return True
            return False
    except OSError:
        return False


# Failures of the machine, not of a source (every other source would fail the same way): they stop the harvest.
FATAL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM})
# What a database refuses in one item's values: that item is lost, not its source (see _store_source).
ITEM_REJECTED = (DataError, IntegrityError, OverflowError, UnicodeEncodeError)


def collect(source: Source, fetcher: Fetcher, progress: ProgressHook | None = None,
            stop: threading.Event | None = None) -> tuple[list[HarvestItem], str | None]:
    """Run one harvester to the end (or until `stop` is set); returns its items and, if the source failed, a one-line reason."""
    items: list[HarvestItem] = []
    try:
        for item in harvester_for(source.kind)(source, fetcher):
            if stop is not None and stop.is_set():
                return items, "interrupted"
            items.append(item)
            if progress:
                progress(source.id, len(items))
    except (FetchError, SourceError) as exc:
        return items, str(exc)
    except OSError as exc:
        if exc.errno in FATAL_ERRNOS:
            raise
        where = traceback.extract_tb(exc.__traceback__)[-1]
        return items, f"{source.url}: internal error {type(exc).__name__}: {exc} ({Path(where.filename).name}:{where.lineno})"
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
    """Upsert one source's items into the session (the caller commits).

    A candidate stored from a feed's or listing's fields because its own page failed (`extra["detail_error"]`) is
    counted as an item error but kept; it never replaces a record its page once completed, and a 304 (on the feed,
    or on the page) does not skip a record still waiting for its page: that item is rebuilt, so the page is asked for again.
    """
    now = utcnow()
    shared = shared or SharedIndex()
    batch = catalogue.StoreBatch()
    waiting = waiting_for_page(session, source.id)
    pending: list[HarvestItem] = list(reversed(items))
    while pending:
        item = pending.pop()
        if isinstance(item, Candidate):
            result.fetched += 1
            reason = item.extra.get("detail_error")
            if reason:
                result.errors += 1
                _note(result, f"{item.url}: its page was not read ({reason}); stored from the listing's fields until it answers")
                if _completed_before(session, item):
                    result.unchanged += 1  # a page that answered before and fails now: the record keeps what it gave
                    continue
            outcome = catalogue.upsert(session, item, source.id, now, classify_hook, shared.get(session), batch)
            setattr(result, outcome, getattr(result, outcome) + 1)
        elif isinstance(item, ItemFailure):
            result.errors += 1
            _note(result, str(item))
        elif isinstance(item, Unchanged):
            if item.scope == "source":
                touched = 0 if waiting else catalogue.touch_source(session, source.id, now)
                if touched:
                    result.fetched += touched
                    result.unchanged += touched
                    continue
            elif catalogue.url_key(item.url) not in waiting and catalogue.touch_url(session, item.url, now):
                result.fetched += 1
                result.unchanged += 1
                continue
            if item.rebuild is not None:  # 304, but the catalogue lacks it (or waits for a page): extract from the capture
                pending.extend(reversed(list(item.rebuild())))
    catalogue.flush_batch(session, batch, now)


def _note(result: SourceResult, line: str) -> None:
    """An item skipped, failed or stored from its listing only: logged every time, the first few kept with the run."""
    log.info("source %s: %s", result.source_id, line[:500])
    if len(result.item_errors) < MAX_ITEM_ERRORS_KEPT:
        result.item_errors.append(line[:500])


def waiting_for_page(session: Session, source_id: str) -> set[str]:
    """URL keys of this source's places stored from a feed's or listing's fields, whose own page has not answered yet.

    Read from the places (each keeps the fields it gave, `extra` among them), not the records: a record's `extra`
    lies past its full text in the row, and reading it for every record of every source was most of a 304 harvest."""
    return {key for (key,) in session.connection().execute(_WAITING_FOR_PAGE, {"source": source_id})}


_WAITING_FOR_PAGE = core_select(col(RecordPlace.url_key)).where(col(RecordPlace.source_id) == bindparam("source"),
                                                                cast(RecordPlace.fields, Text).like('%"detail_error"%'))
# A run's outcome: the values are the SET clause, bound at execution (built once: every source's store ends with it)
_FINISH_RUN = update(HarvestRun).where(col(HarvestRun.id) == bindparam("run_id"))


def _completed_before(session: Session, candidate: Candidate) -> bool:
    """Whether the catalogue's record at this candidate's URL holds what its page gave (no detail_error of its own)."""
    extra = session.exec(select(Record.extra).where(Record.url_key == catalogue.url_key(candidate.url))).first()
    return extra is not None and not (extra or {}).get("detail_error")


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
    stop = threading.Event()
    ahead_of = getattr(classify_hook, "classify_ahead", None)  # a worker process classifying ahead (classify/ahead.py)
    with fewer_collections(), ahead_of() if ahead_of is not None else nullcontext() as ahead:
        pool = ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="harvest")
        try:
            futures = {pool.submit(collect, source, fetcher, progress, stop): source for source in sources}
            if ahead is not None:
                for future, source in futures.items():
                    future.add_done_callback(functools.partial(_send_ahead, ahead, source.id))
            for future in as_completed(futures):
                source = futures[future]
                items, failure = future.result()
                result = _store_source(engine, source, items, failure, run_ids[source.id], classify_hook, shared)
                results[source.id] = result
                if ahead is not None:
                    ahead.forget(source.id)
                if on_done:
                    on_done(result)
        except BaseException:
            # Ctrl-C, or a failure of the machine or the database: queued sources never start, running ones stop at their
            # next item, and the runs not stored are marked interrupted (every source already committed stays as it is).
            stop.set()
            pool.shutdown(wait=False, cancel_futures=True)
            mark_interrupted(engine, [run_ids[s.id] for s in sources if s.id not in results])
            raise
        finally:
            pool.shutdown(wait=False, cancel_futures=True)
    return [results[s.id] for s in sources]


@contextmanager
def fewer_collections() -> Iterator[None]:
    """Run Python's cycle collector less often for the length of a harvest (and in the worker forked in it).

    A harvest makes many long-lived objects (records, places, the match index, results from the worker), and at the
    default thresholds the collector runs every 700 of them, again and again over the whole young heap (in one
    comparison the main process's CPU for the 10,000-record benchmark went 21.6 -> 17.7 s, bench/RESULTS.md).
    Garbage cycles are still collected, in bigger batches.
    """
    before = gc.get_threshold()
    gc.set_threshold(*(max(now, wanted) for now, wanted in zip(before, GC_THRESHOLDS, strict=True)))
    try:
        yield
    finally:
        gc.set_threshold(*before)


def _send_ahead(ahead: Any, source_id: str, done: Future[tuple[list[HarvestItem], str | None]]) -> None:
    """A source's harvester finished: its candidates go to the worker classifying ahead (from the harvester's thread)."""
    if done.cancelled() or done.exception() is not None:
        return
    ahead.submit(source_id, done.result()[0])


def mark_interrupted(engine: Engine, run_ids: list[int]) -> None:
    """Mark these runs interrupted, if the database still answers (best effort: it may be what failed)."""
    if not run_ids:
        return
    try:
        with Session(engine) as session:
            session.connection().execute(
                update(HarvestRun).where(col(HarvestRun.id).in_(run_ids), col(HarvestRun.status) == "running")
                .values(status="interrupted", finished_at=utcnow(), message="interrupted before this source was stored"))
            session.commit()
    except SQLAlchemyError as exc:
        log.info("could not mark %d runs as interrupted (status shows them so anyway): %s", len(run_ids), str(exc).splitlines()[0])


def _store_source(engine: Engine, source: Source, items: list[HarvestItem], failure: str | None,
                  run_id: int, classify_hook: catalogue.ClassifyHook | None, shared: SharedIndex) -> SourceResult:
    """Store what a source yielded and record its run. A source that failed part-way (a later listing page answered
    404, a cursor page timed out) keeps the items of the pages read before it: they are stored, and the run is still
    "failed" with the reason, so the harvest exits 1."""
    result = SourceResult(source_id=source.id)
    if failure is None or any(isinstance(item, (Candidate, Unchanged)) for item in items):
        try:
            try:
                with Session(engine) as session:
                    store(session, source, items, result, classify_hook, shared)
                    _fail_after(result, failure)
                    _finish(session, run_id, result)
                    session.commit()
                    return result
            except ITEM_REJECTED as exc:
                # The database refused a value of some item: store the source again, one item at a time, each in its own
                # SAVEPOINT, so only the items it refuses are lost (rare: bound() already cleans what none can store).
                shared.reset()
                log.info("source %s: the database refused an item (%s); storing item by item", source.id, catalogue.error_reason(exc))
                result = SourceResult(source_id=source.id)
                with Session(engine) as session:
                    _store_each(session, source, items, result, classify_hook, shared)
                    _fail_after(result, failure)
                    _finish(session, run_id, result)
                    session.commit()
                    return result
        except (SourceError, FetchError) as exc:
            shared.reset()
            result = SourceResult(source_id=source.id, status="failed", message=str(exc))
        except BaseException:
            shared.reset()
            raise
    else:
        result.status, result.message = "failed", failure
    with Session(engine) as session:
        result.errors = max(result.errors, 1)
        _finish(session, run_id, result)
        session.commit()
    return result


def _fail_after(result: SourceResult, failure: str | None) -> None:
    """Mark a stored source failed when its harvest stopped part-way; the message says what was kept."""
    if failure is None:
        return
    result.status = "failed"
    result.errors += 1
    kept = result.fetched
    result.message = f"{failure} (the {kept} items read before it are stored)" if kept else failure


def _store_each(session: Session, source: Source, items: list[HarvestItem], result: SourceResult,
                classify_hook: catalogue.ClassifyHook | None, shared: SharedIndex) -> None:
    """Store items one by one, each in a SAVEPOINT; an item the database refuses becomes an item error."""
    for item in items:
        part = SourceResult(source_id=source.id)
        try:
            with session.begin_nested():
                store(session, source, [item], part, classify_hook, shared)
        except ITEM_REJECTED as exc:
            shared.reset()  # the index may hold the refused record
            url = getattr(item, "url", source.url)
            log.info("source %s: %s not stored: %s", source.id, url, catalogue.error_reason(exc))
            part = SourceResult(source_id=source.id, fetched=1, errors=1,
                                item_errors=[f"{url}: the database refused it ({catalogue.error_reason(exc)[:200]})"])
        for name in ("fetched", "new", "updated", "unchanged", "errors"):
            setattr(result, name, getattr(result, name) + getattr(part, name))
        result.item_errors += part.item_errors[: max(0, MAX_ITEM_ERRORS_KEPT - len(result.item_errors))]


def _finish(session: Session, run_id: int, result: SourceResult) -> None:
    """Write the run's outcome: one UPDATE (no load of the row: an all-304 source's store is a few statements)."""
    session.connection().execute(_FINISH_RUN, {
        "run_id": run_id, "finished_at": utcnow(), "status": result.status,
        "message": catalogue.storable(result.message),  # reasons may quote harvested text
        "fetched": result.fetched, "new": result.new, "updated": result.updated, "unchanged": result.unchanged,
        "errors": result.errors, "item_errors": catalogue.storable(result.item_errors)})
