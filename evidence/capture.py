"""Content-addressed store of every response body kept, so extraction can be rerun without the network.

Layout under the store's root:
    objects/ab/<sha256 of body>.gz   the body, gzip-compressed, written once
    urls/cd/<sha256 of URL>.json     the latest capture of that URL: status, headers, time, body hash
Every file is written to a temporary name and renamed, so a killed process never leaves half a file.
"""
from __future__ import annotations

import gzip
import hashlib
import json
import os
import tempfile
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

# Headers worth keeping: enough for conditional requests, charset and provenance.
KEPT_HEADERS = ("content-type", "etag", "last-modified", "date", "content-length", "location")


@dataclass
class Capture:
    """One stored response: where it came from, when, and the hash of its body."""

    url: str
    sha256: str
    status: int
    fetched_at: str
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def etag(self) -> str | None:
        """The validator for If-None-Match, if the server sent one."""
        return self.headers.get("etag")

    @property
    def last_modified(self) -> str | None:
        """The validator for If-Modified-Since, if the server sent one."""
        return self.headers.get("last-modified")


def _atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


class CaptureStore:
    """Raw responses kept on disk, addressed by the hash of their bytes."""

    def __init__(self, root: str | Path):
        self.root = Path(root)

    def _object_path(self, sha: str) -> Path:
        return self.root / "objects" / sha[:2] / f"{sha}.gz"

    def _url_path(self, url: str) -> Path:
        key = hashlib.sha256(url.encode("utf-8")).hexdigest()
        return self.root / "urls" / key[:2] / f"{key}.json"

    def put(self, url: str, body: bytes, status: int, headers: dict[str, str]) -> Capture:
        """Store a body (once per distinct content) and make it the latest capture of `url`."""
        sha = hashlib.sha256(body).hexdigest()
        obj = self._object_path(sha)
        if not obj.exists():
            _atomic_write(obj, gzip.compress(body, compresslevel=5, mtime=0))
        kept = {k: v for k, v in ((k.lower(), v) for k, v in headers.items()) if k in KEPT_HEADERS}
        capture = Capture(
            url=url,
            sha256=sha,
            status=status,
            fetched_at=datetime.now(UTC).isoformat(timespec="seconds"),
            headers=kept,
        )
        _atomic_write(self._url_path(url), json.dumps(asdict(capture)).encode("utf-8"))
        return capture

    def latest(self, url: str) -> Capture | None:
        """The newest capture of `url`, or None when it was never captured (or its index is unreadable)."""
        path = self._url_path(url)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            return Capture(**data)
        except (OSError, ValueError, TypeError):
            return None

    def body(self, capture: Capture) -> bytes | None:
        """The stored bytes of a capture, or None when its object is missing or damaged."""
        try:
            return gzip.decompress(self._object_path(capture.sha256).read_bytes())
        except (OSError, EOFError, gzip.BadGzipFile):
            return None

    def count(self) -> int:
        """How many URLs have a capture."""
        base = self.root / "urls"
        return sum(1 for _ in base.glob("*/*.json")) if base.exists() else 0
