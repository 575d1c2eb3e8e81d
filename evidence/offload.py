"""CPU-heavy pure work that a harvest's threads hand to its worker process, when the harvest has one.

A harvest's threads share one interpreter, so parsing a feed in a harvester's thread takes time from the storing.
While a harvest runs with a worker process (classify/ahead.py starts it and registers it here), `call` runs the
function there and the thread waits without holding the interpreter; with none, or if the worker fails, `call`
runs it here. Only module-level functions of plain arguments whose results pickle are sent.
"""
from __future__ import annotations

import logging
import os
import pickle
from collections.abc import Callable
from concurrent.futures import CancelledError, Executor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")
WAIT_S = 120.0  # longest wait for the worker's answer before the thread does the work itself

_pool: Executor | None = None
_busy: Callable[[], bool] | None = None  # whether the worker is behind already (then the work is done here)
_private_fds: set[int] = set()  # descriptors a worker must not keep open (see `keep_from_workers`)


def use(pool: Executor | None, busy: Callable[[], bool] | None = None) -> None:
    """Register the harvest's worker (None when it stops); `busy` says when it has more waiting than it can take."""
    global _pool, _busy
    _pool, _busy = pool, busy


def call(fn: Callable[..., T], *args: Any) -> T:
    """`fn(*args)`, in the worker process when there is one. What `fn` raises is raised here either way."""
    pool, busy = _pool, _busy
    if pool is not None and not (busy is not None and busy()):  # a worker behind: the two processes share the work
        try:
            future = pool.submit(fn, *args)
        except RuntimeError:  # shut down, or broken: do it here
            return fn(*args)
        try:
            return future.result(timeout=WAIT_S)
        except (BrokenProcessPool, CancelledError, TimeoutError, pickle.PicklingError) as exc:
            log.info("the worker could not run %s (%s); running it in the harvest's own process", fn.__name__, type(exc).__name__)
    return fn(*args)


def keep_from_workers(fd: int, keep: bool = True) -> None:
    """Have a worker process close its copy of this descriptor as it starts (`keep=False`: no longer).

    A forked worker inherits every open descriptor; holding the harvest's lock file or the socket of its
    PostgreSQL lock, it would keep the catalogue locked for as long as it lives after its harvest is killed."""
    (_private_fds.add if keep else _private_fds.discard)(fd)


def close_private_fds() -> None:
    """In a newly forked worker: close the descriptors that belong to the harvest (`keep_from_workers`)."""
    for fd in list(_private_fds):
        try:
            os.close(fd)
        except OSError:
            pass
    _private_fds.clear()
