"""Classifying a harvest's items ahead, in a worker process, while the main process stores.

A harvest's Python work runs in one process: its fetching and parsing threads and the storing share one
interpreter, so on a machine of two cores one of them idles. Classifying and screening a record is about a third
of that work, and it is pure (the same inputs always give the same result). So when the harvest starts, one worker
process is forked (it inherits the taxonomy and the model as loaded, so it classifies exactly as this process does);
each source's candidates go to it as soon as its harvester finishes, in chunks, and the results wait here.

When the harvest stores a record it asks for the result of the place being stored (`take`). It is used only when
the record's inputs are exactly the ones the worker classified: a record that kept another place's fields, a merge,
a curator's field correction, classify here as before. The screening verdict is kept the same way, for the fields
and document type the record ends with. Nothing else changes: the record, its tags and its screening are the same
as without the worker (tests/test_ahead.py compares whole catalogues).

The worker is only started where it can help and is safe: Linux (fork, and the worker dies with the harvest, so a
killed harvest leaves no process holding its lock), more than one usable core, and `EVIDENCE_CLASSIFY_AHEAD` not
set to 0. If the worker fails, the harvest goes on and classifies here.
"""
from __future__ import annotations

import gc
import logging
import multiprocessing
import os
import signal
import sys
import threading
from collections.abc import Iterable
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

from evidence import offload
from evidence.classify import Classification, classify
from evidence.config import Scope
from evidence.models import Candidate, Record

log = logging.getLogger(__name__)

CHUNK = 40  # candidates a task: small enough that the first record stored waits little for its result
BACKLOG = 8  # chunks waiting in the worker beyond which the harvest's threads parse in their own process (`behind`)
WAIT_S = 120.0  # longest wait for one chunk (a worker that stops answering is given up and the harvest classifies here)

Inputs = tuple[str, str, "str | None", "str | None", dict[str, Any]]  # text, title, doc_type, publisher, metadata
ScreenInputs = tuple[str, "str | None", "str | None", "str | None", "str | None"]  # title, summary, text, doc_type, published


@dataclass
class Result:
    """What the worker found for one place: the inputs it classified, the classification, and the screening verdict
    for the fields and document type the record would end with."""

    inputs: Inputs
    classification: Classification
    screen_inputs: ScreenInputs
    verdict: dict[str, Any]


def record_inputs(record: Record | SimpleNamespace) -> Inputs:
    """What `classify_record` passes to the classifier for this record (text, title, doc_type, publisher, metadata)."""
    metadata = record.extra if isinstance(record.extra, dict) else {}
    derived = (record.classification or {}).get("doc_type_derived") if isinstance(record.classification, dict) else None
    doc_type = None if derived and record.doc_type == derived else record.doc_type  # never the classifier's own guess fed back
    text = record.text or f"{record.title}\n\n{record.summary or ''}"
    return text, record.title, doc_type, record.publisher, metadata


def classify_inputs(inputs: Inputs, learned: bool = True) -> Classification:
    """Classify from `record_inputs`."""
    text, title, doc_type, publisher, metadata = inputs
    return classify(text, title=title, doc_type=doc_type, publisher=publisher, metadata=metadata, learned=learned)


def screen_inputs(record: Record | SimpleNamespace) -> ScreenInputs:
    """What screening reads of a record (after classification set its document type)."""
    return record.title, record.summary, record.text, record.doc_type, record.published


def usable() -> str | None:
    """Why classifying ahead cannot be used here (None: it can)."""
    if os.environ.get("EVIDENCE_CLASSIFY_AHEAD", "").strip() == "0":
        return "EVIDENCE_CLASSIFY_AHEAD=0"
    if sys.platform != "linux" or "fork" not in multiprocessing.get_all_start_methods():
        return "not on Linux"
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    if cores < 2:
        return "one core"
    return None


class Ahead:
    """One worker process classifying and screening a harvest's candidates ahead of the storing."""

    def __init__(self, scope: Scope, doc_type_of: Any) -> None:
        self._pool: ProcessPoolExecutor | None = ProcessPoolExecutor(
            1, mp_context=multiprocessing.get_context("fork"), initializer=_start_worker, initargs=(os.getpid(), scope, doc_type_of))
        self._lock = threading.Lock()
        self._waiting: dict[tuple[str, str], Future[list[tuple[tuple[str, str], Result]]]] = {}
        self._ready: dict[tuple[str, str], Result] = {}
        self._by_source: dict[str, list[tuple[str, str]]] = {}  # the keys each source sent (for `forget`)
        self._chunks: set[Future[Any]] = set()  # the chunks the worker has not answered yet (for `behind`)
        self.used = 0
        self.missed = 0
        self._pool.submit(_alive).result(timeout=WAIT_S)  # fork now, before the harvest's threads start
        offload.use(self._pool, self.behind)  # the harvesters' threads parse there too (feeds), unless it is behind

    def submit(self, source_id: str, items: Iterable[Any]) -> None:
        """Send a source's candidates to the worker (called as each harvester finishes, from its thread)."""
        from evidence.catalogue import url_key

        candidates = [item for item in items if isinstance(item, Candidate) and not item.extra.get("detail_error")]
        with self._lock:
            if self._pool is None:
                return
            for start in range(0, len(candidates), CHUNK):
                chunk = candidates[start : start + CHUNK]
                try:
                    future = self._pool.submit(_classify_chunk, source_id, chunk)
                except RuntimeError:  # the pool broke or shut down: this process classifies
                    return
                self._chunks.add(future)
                future.add_done_callback(self._chunks.discard)
                keys = self._by_source.setdefault(source_id, [])
                for candidate in chunk:
                    key = (url_key(candidate.url), source_id)
                    self._waiting[key] = future
                    keys.append(key)

    def behind(self) -> bool:
        """Whether the worker has more chunks waiting than BACKLOG: the storing would wait for it, so work that could go
        either way (parsing a feed) is done in the harvest's own process."""
        with self._lock:
            return len(self._chunks) > BACKLOG

    def take(self, record: Record) -> Classification | None:
        """The worker's classification of this record's place, when it classified exactly these inputs (else None)."""
        key = (record.url_key, record.source_id)
        result = self._result(key)
        if result is None or result.inputs != record_inputs(record):
            self.missed += result is not None
            return None
        self.used += 1
        self._ready[key] = result  # kept for `verdict`, called next for the same record
        return result.classification

    def verdict(self, record: Record) -> dict[str, Any] | None:
        """The worker's screening verdict for this record, when it screened exactly its fields (else None)."""
        result = self._ready.pop((record.url_key, record.source_id), None)
        if result is None or result.screen_inputs != screen_inputs(record):
            return None
        return result.verdict

    def forget(self, source_id: str) -> None:
        """Drop what is left of a stored source's results (places merged elsewhere, items the catalogue had)."""
        with self._lock:
            for key in self._by_source.pop(source_id, []):
                self._ready.pop(key, None)
                self._waiting.pop(key, None)

    def _result(self, key: tuple[str, str]) -> Result | None:
        result = self._ready.pop(key, None)
        if result is not None:
            return result
        with self._lock:
            future = self._waiting.get(key)
        if future is None:
            return None
        try:
            done = future.result(timeout=WAIT_S)
        except Exception as exc:  # noqa: BLE001 - a worker's failure must not stop the harvest: classify here
            log.warning("classifying ahead stopped (%s: %s); the harvest classifies in its own process", type(exc).__name__, exc)
            self.close()
            return None
        with self._lock:
            for got, result in done:
                if self._waiting.get(got) is future:
                    del self._waiting[got]
                    self._ready[got] = result
        return self._ready.pop(key, None)

    def close(self) -> None:
        """Stop the worker (at the end of the harvest, or when it failed)."""
        offload.use(None)
        with self._lock:
            pool, self._pool = self._pool, None
            self._waiting.clear()
            self._by_source.clear()
        self._ready.clear()
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
            log.info("classified ahead in a worker process: %d records used, %d classified here instead", self.used, self.missed)


# -- in the worker process ----------------------------------------------------------------------------------------------

_WORKER: dict[str, Any] = {}


def _start_worker(parent: int, scope: Scope, doc_type_of: Any) -> None:
    """Die with the harvest (Linux's parent-death signal), so a killed harvest leaves no process behind holding its
    lock file or database connection; ignore Ctrl-C (the harvest handles it and shuts the worker down)."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass
    if os.getppid() != parent:  # the harvest died before the signal was set
        os._exit(1)
    offload.close_private_fds()  # the harvest's lock file and lock connection are the harvest's alone
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    gc.freeze()  # what it inherited is never collected here: its collections go over its own objects, not the harvest's heap
    _WORKER.update(scope=scope, doc_type_of=doc_type_of)


def _alive() -> bool:
    return True


def _classify_chunk(source_id: str, candidates: list[Candidate]) -> list[tuple[tuple[str, str], Result]]:
    from evidence.catalogue import bound, url_key
    from evidence.screen.rules import screen_fields

    scope, doc_type_of = _WORKER["scope"], _WORKER["doc_type_of"]
    out = []
    for candidate in candidates:
        try:
            candidate = bound(candidate)
            record = SimpleNamespace(url_key=url_key(candidate.url), title=candidate.title, publisher=candidate.publisher,
                                     published=candidate.published, doc_type=candidate.doc_type, summary=candidate.summary,
                                     text=candidate.text, extra=candidate.extra, classification={})  # the record it would make
            inputs = record_inputs(record)
            result = classify_inputs(inputs)
            record.doc_type = record.doc_type or doc_type_of(record, result)
            seen = screen_inputs(record)
            verdict = screen_fields(scope, *seen).as_dict()
        except Exception:  # noqa: BLE001 - this item is classified by the harvest itself, which reports any error
            continue
        out.append(((record.url_key, source_id), Result(inputs, result, seen, verdict)))
    return out
