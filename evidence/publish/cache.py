"""The build cache: pieces of the last build a rebuild can reuse, each under a digest of everything it is made from.

A record's download entries (its CSV row, JSON object, RIS and BibTeX entries) and its row on the list pages are
kept under the digest of its page row; a feed under the digest of its title, URLs and entries; a cell page (map/)
or an intervention page under its records' row digests and its ratings' dates (build.cell_inputs). Every key also holds
the salt (`site_salt`: the templates, the package's code, the version, the taxonomy and the base URL), and a cache
file made under another salt is not read at all. A cache is split into SHARDS files by key, so a
rebuild that changes a few pieces rewrites a few files. The cache lives in the site's own state folder (CACHE_DIR); a
missing, unreadable or damaged file is an empty cache, so the build is then a clean one. `--no-cache` reads none.
"""
from __future__ import annotations

import hashlib
import logging
import os
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

from evidence import __version__

log = logging.getLogger(__name__)

CACHE_DIR = ".evidence-cache"  # inside the site folder, beside the state file; never pruned, never indexed
FORMAT = "2"  # the layout of a cache file: a change makes every old file unread


def code_digest() -> str:
    """A hash of the package's code (every evidence/**/*.py: the pages also use labels, links and levels defined outside
    evidence/publish) and its version: an edit anywhere re-makes every piece. About 1 MB read, some 20 ms a build."""
    digest = hashlib.sha1(f"{__version__}|{FORMAT}".encode())
    package = Path(__file__).resolve().parent.parent
    for path in sorted(package.rglob("*.py")):
        digest.update(path.relative_to(package).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def digest(*parts: str) -> str:
    """The key of a piece: sha1 of its parts."""
    return hashlib.sha1("\0".join(parts).encode("utf-8", "surrogatepass")).hexdigest()


SHARDS = 16  # files a cache is split into, by key: a rebuild rewrites only the files whose pieces changed


def shard(key: str) -> int:
    """The file a piece is kept in (a stable hash of its key)."""
    return zlib.crc32(key.encode("utf-8", "surrogatepass")) % SHARDS


class BuildCache:
    """One cache (`name`-NN.cache files in the site's CACHE_DIR, SHARDS of them): pieces looked up by key, kept only if
    this build used them. Each file is read whole and written whole, only when the pieces it holds changed."""

    def __init__(self, out: Path, name: str, salt: str, enabled: bool = True) -> None:
        self.folder = Path(out) / CACHE_DIR
        self.name = name
        self.salt = salt
        self.old: dict[str, Any] = {}
        self.sizes = [0] * SHARDS  # pieces read from each file
        if enabled:
            for n in range(SHARDS):
                pieces = self._read(self.path(n))
                self.sizes[n] = len(pieces)
                self.old.update(pieces)
        self.new: dict[str, Any] = {}
        self.made = 0  # pieces made by this build (not found in the cache)
        self.dirty: set[int] = set()  # files holding a piece made by this build

    def path(self, n: int) -> Path:
        return self.folder / f"{self.name}-{n:02d}.cache"  # JSON (orjson); not .json: no site file

    def _read(self, path: Path) -> dict[str, Any]:
        try:
            document = orjson.loads(path.read_bytes())
        except (OSError, ValueError):  # missing, unreadable or damaged: a clean build (orjson's error is a ValueError)
            return {}
        if not isinstance(document, dict) or document.get("salt") != self.salt or not isinstance(document.get("pieces"), dict):
            return {}
        return document["pieces"]

    def get(self, key: str, valid: Callable[[Any], bool]) -> Any:
        """The piece under `key` if the cache has one that passes `valid`, else None."""
        value = self.old.get(key)
        if value is None or not valid(value):
            return None
        self.new[key] = value
        return value

    def put(self, key: str, value: Any) -> None:
        self.new[key] = value
        self.made += 1
        self.dirty.add(shard(key))

    def save(self) -> None:
        """Write the files whose pieces this build changed (made, or no longer used), unless none did. A failure
        only logs: the cache is an optimisation, the site is already written."""
        if not self.made and len(self.new) == len(self.old):
            return
        shards: list[dict[str, Any]] = [{} for _ in range(SHARDS)]
        for key, value in self.new.items():
            shards[shard(key)][key] = value
        for n, pieces in enumerate(shards):
            if n in self.dirty or len(pieces) != self.sizes[n]:  # a piece made, or one no longer used (or a file unread)
                self._write(self.path(n), pieces)
        try:
            (self.folder / f"{self.name}.cache").unlink()  # the one file of the cache's first layout
        except OSError:
            pass

    def _write(self, path: Path, pieces: dict[str, Any]) -> None:
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp.write_bytes(orjson.dumps({"salt": self.salt, "pieces": pieces}))
            os.replace(tmp, path)
        except OSError as exc:
            log.warning("build cache %s not written (%s); the next build will make its pieces again", path, exc)
            try:
                tmp.unlink()
            except OSError:
                pass


def piece(cache: BuildCache | None, key: str | None, valid: Callable[[Any], bool], make: Callable[[], Any]) -> Any:
    """The piece under `key` in `cache` if it has one that passes `valid`, else `make()`'s, kept under `key` for the
    next build (without a cache or a key: made, not kept)."""
    if cache is None or not key:
        return make()
    value = cache.get(key, valid)
    if value is None:
        value = make()
        cache.put(key, value)
    return value


def is_text_list(size: int) -> Callable[[Any], bool]:
    """A check for a piece that is a list of `size` strings."""
    return lambda value: isinstance(value, list) and len(value) == size and all(isinstance(v, str) for v in value)


def is_text(value: Any) -> bool:
    return isinstance(value, str)
