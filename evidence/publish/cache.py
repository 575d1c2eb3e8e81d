"""The build cache: pieces of the last build a rebuild can reuse, each under a digest of everything it is made from.

A record's download entries (its CSV row, JSON object, RIS and BibTeX entries) and its row on the list pages are
kept under the digest of its page row; a feed under the digest of its title, URLs and entries. Every key also holds
the salt (`site_salt`: the templates, the package's code, the version, the taxonomy and the base URL), and a cache
file made under another salt is not read at all. The cache lives in the site's own state folder (CACHE_DIR); a
missing, unreadable or damaged file is an empty cache, so the build is then a clean one. `--no-cache` reads none.
"""
from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

from evidence import __version__

log = logging.getLogger(__name__)

CACHE_DIR = ".evidence-cache"  # inside the site folder, beside the state file; never pruned, never indexed
FORMAT = "1"  # the layout of a cache file: a change makes every old file unread


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


class BuildCache:
    """One cache file (`name`.cache in the site's CACHE_DIR): pieces looked up by key, kept only if this build used them."""

    def __init__(self, out: Path, name: str, salt: str, enabled: bool = True) -> None:
        self.path = Path(out) / CACHE_DIR / f"{name}.cache"  # JSON (orjson); not .json: no site file
        self.salt = salt
        self.old: dict[str, Any] = self._read() if enabled else {}
        self.new: dict[str, Any] = {}
        self.made = 0  # pieces made by this build (not found in the cache)

    def _read(self) -> dict[str, Any]:
        try:
            document = orjson.loads(self.path.read_bytes())
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

    def save(self) -> None:
        """Write the pieces this build used, unless they are the ones already on disk. A failure only logs: the
        cache is an optimisation, the site is already written."""
        if not self.made and len(self.new) == len(self.old):
            return
        tmp = self.path.with_name(f"{self.path.name}.{os.getpid()}.tmp")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp.write_bytes(orjson.dumps({"salt": self.salt, "pieces": self.new}))
            os.replace(tmp, self.path)
        except OSError as exc:
            log.warning("build cache %s not written (%s); the next build will be a clean one", self.path, exc)
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
