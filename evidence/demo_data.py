"""The demo's recorded answers: files under evidence/demo/answers/, each filed by URL in answers/manifest.yaml.

They take the shapes of the services the harvesters read (GOV.UK's search and content APIs, NICE's guidance
listing and pages, Europe PMC's REST answers, RSS and Atom feeds, a publications listing with detail pages, a
digest page, a page of PDF links and the PDFs) and describe real publications: real titles, publishers and dates,
with summaries written for this project (evidence/demo/README.md). `evidence demo` loads them into a capture store
and harvests them offline; the tests serve the same files from a loopback server.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evidence.capture import CaptureStore
from evidence.config import ConfigError, line_of, read_yaml_with_lines

log = logging.getLogger(__name__)

DEMO_DIR = Path(__file__).parent / "demo"
ANSWERS = DEMO_DIR / "answers"
MANIFEST = ANSWERS / "manifest.yaml"


@dataclass(frozen=True)
class RecordedAnswer:
    """One recorded answer: the URL it answers, its file, content type and HTTP status."""

    url: str
    path: Path
    content_type: str
    status: int = 200

    @property
    def body(self) -> bytes:
        """The answer's bytes, as the server sent them."""
        return self.path.read_bytes()


def _manifest() -> dict[str, Any]:
    data = read_yaml_with_lines(MANIFEST)
    if not isinstance(data, dict) or not isinstance(data.get("answers"), list):
        raise ConfigError(f"{MANIFEST}:1: expected `answers:`, a list of url/file/type/status entries")
    return data


def recorded_answers() -> list[RecordedAnswer]:
    """Every answer the demo's sources are given, in manifest order; a bad entry is a one-line ConfigError."""
    answers = []
    root = ANSWERS.resolve()
    for entry in _manifest()["answers"]:
        where = f"{MANIFEST}:{line_of(entry, 'url') if isinstance(entry, dict) else 0}"
        if not isinstance(entry, dict) or not all(isinstance(entry.get(k), str) for k in ("url", "file", "type")):
            raise ConfigError(f"{where}: each answer needs `url`, `file` and `type`")
        path = (ANSWERS / entry["file"]).resolve()
        if root not in path.parents or not path.is_file():
            raise ConfigError(f"{where}: `{entry['file']}` is not a file under {ANSWERS}")
        if not entry["url"].startswith(("https://", "http://")):
            raise ConfigError(f"{where}: `url` must be an http(s) URL")
        status = entry.get("status", 200)
        if not isinstance(status, int) or not 100 <= status <= 599:
            raise ConfigError(f"{where}: `status` must be an HTTP status code")
        answers.append(RecordedAnswer(entry["url"], path, entry["type"], status))
    return answers


def planned_failures() -> dict[str, str]:
    """Sources the demo records as failing on purpose (source id -> why), so a failure is shown, not hidden."""
    planned = _manifest().get("planned_failures") or {}
    return {str(k): str(v) for k, v in planned.items() if k not in ("__line__", "__lines__")}


def load_demo_captures(store: CaptureStore) -> int:
    """Put the demo's recorded answers into a capture store; returns how many."""
    answers = recorded_answers()
    for answer in answers:
        store.put(answer.url, answer.body, answer.status, {"content-type": answer.content_type})
    log.debug("loaded %d recorded answers into %s", len(answers), store.root)
    return len(answers)
