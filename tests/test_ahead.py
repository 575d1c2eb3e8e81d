"""Classifying ahead in a worker process (evidence/classify/ahead.py) changes nothing but the speed: the demo's
harvest (six source kinds, merges, curation, screening) gives the same catalogue with and without it; a worker that
dies leaves the harvest to classify in its own process; a killed harvest leaves no worker behind."""
from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from sqlmodel import Session, select

from evidence import catalogue
from evidence.api import Catalogue
from evidence.capture import CaptureStore
from evidence.classify import ahead
from evidence.config import load_config
from evidence.demo_data import DEMO_DIR, load_demo_captures
from evidence.models import Record, RecordTag

pytestmark = pytest.mark.skipif(ahead.usable() is not None, reason=f"classifying ahead is not used here ({ahead.usable()})")

MOVING = {"first_seen", "last_seen"}


def demo_catalogue(tmp_path: Path, name: str, new_catalogue, monkeypatch, ahead_on: bool) -> tuple[dict, dict]:
    """Harvest the demo's recorded sources offline into a new catalogue; its records (without times) and tags."""
    monkeypatch.setenv("EVIDENCE_CLASSIFY_AHEAD", "1" if ahead_on else "0")
    folder = tmp_path / name
    captures = folder / "captures"
    load_demo_captures(CaptureStore(captures))
    curation = folder / "curation.yaml"
    curation.write_text((DEMO_DIR / "curation.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    db = new_catalogue(name)
    with Catalogue(db, create=True) as cat:
        cat.harvest(load_config(DEMO_DIR / "sources.yaml"), captures=captures, offline=True, curation_file=str(curation))
    engine = catalogue.connect(db)
    with Session(engine) as session:
        rows = {r.id: {k: v for k, v in r.model_dump().items() if k not in MOVING} for r in session.exec(select(Record)).all()}
        tags = {}
        for t in session.exec(select(RecordTag)).all():
            tags[(t.record_id, t.kind, t.tag)] = (t.confidence, t.direction, t.evidence, t.curated)
    engine.dispose()
    return rows, tags


def test_the_demo_harvest_gives_the_same_catalogue_with_and_without_the_worker(tmp_path, new_catalogue, monkeypatch, caplog):
    caplog.set_level(logging.INFO, logger="evidence.classify.ahead")
    rows_here, tags_here = demo_catalogue(tmp_path, "here", new_catalogue, monkeypatch, ahead_on=False)
    assert "classified ahead" not in caplog.text
    rows_ahead, tags_ahead = demo_catalogue(tmp_path, "ahead", new_catalogue, monkeypatch, ahead_on=True)
    used = [r.getMessage() for r in caplog.records if "classified ahead" in r.getMessage()]
    assert used and int(used[0].split(": ")[1].split()[0]) >= 20, used  # most demo records took the worker's result
    assert len(rows_here) >= 40
    assert rows_ahead.keys() == rows_here.keys()
    for rid, row in rows_here.items():
        assert rows_ahead[rid] == row, rid
    assert tags_ahead == tags_here


def test_a_worker_that_dies_leaves_the_harvest_to_classify_here(tmp_path, new_catalogue, monkeypatch, caplog):
    rows_here, tags_here = demo_catalogue(tmp_path, "here", new_catalogue, monkeypatch, ahead_on=False)

    def dies(*_args):
        os._exit(3)  # the worker process ends without an answer

    monkeypatch.setattr(ahead, "_classify_chunk", dies)  # inherited by the forked worker
    caplog.set_level(logging.WARNING, logger="evidence.classify.ahead")
    rows_broken, tags_broken = demo_catalogue(tmp_path, "broken", new_catalogue, monkeypatch, ahead_on=True)
    assert "classifying ahead stopped" in caplog.text
    assert rows_broken == rows_here
    assert tags_broken == tags_here


def _children(pid: int) -> set[int]:
    found = set()
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found |= {int(p) for p in (task / "children").read_text().split()}
        except OSError:
            continue
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_a_killed_harvest_leaves_no_worker_behind(tmp_path):
    """SIGKILL the harvest while its worker runs: the worker dies with it (it would hold the lock file's descriptor
    and so keep every later harvest out)."""
    script = tmp_path / "harvest.py"
    script.write_text(textwrap.dedent(f"""
        import sys, time
        sys.path.insert(0, {str(Path(__file__).parent)!r})
        from server import RecordedServer
        from evidence import catalogue
        from evidence.capture import CaptureStore
        from evidence.classify.apply import classify_record_hook
        from evidence.config import Source
        from evidence.curation import Curation
        from evidence.fetch import Fetcher
        from evidence.pipeline import harvest_sources
        server = RecordedServer()
        items = "".join(f"<item><title>Report {{n}} on return home interviews</title><link>{{server.base}}/i/{{n}}</link></item>" for n in range(50))
        server.add("/feed.xml", f"<rss version='2.0'><channel><title>F</title>{{items}}</channel></rss>", content_type="application/rss+xml")
        server.add("/slow.xml", "<rss version='2.0'><channel><title>S</title></channel></rss>", content_type="application/rss+xml", delay=600)
        sources = [Source(id="fast", name="Fast", kind="feed", url=server.url("/feed.xml"), rate_limit=0, detail=False),
                   Source(id="slow", name="Slow", kind="feed", url=server.url("/slow.xml"), rate_limit=0, detail=False)]
        engine = catalogue.connect({str(tmp_path / "c.db")!r})
        hook = classify_record_hook(Curation(path={str(tmp_path / "curation.yaml")!r}))
        print("harvesting", flush=True)
        harvest_sources(engine, sources, Fetcher(CaptureStore({str(tmp_path / "captures")!r}), retries=0, timeout=900), workers=2, classify_hook=hook)
    """), encoding="utf-8")
    env = {**os.environ, "EVIDENCE_CLASSIFY_AHEAD": "1"}
    harvest = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert harvest.stdout is not None and harvest.stdout.readline().strip() == "harvesting"
        workers: set[int] = set()
        deadline = time.monotonic() + 60
        while not workers and time.monotonic() < deadline:
            workers = _children(harvest.pid)
            time.sleep(0.05)
        assert workers, "the harvest started no worker process"
        time.sleep(1.0)  # the fast source is stored; the slow one keeps the harvest (and its worker) waiting
        os.kill(harvest.pid, signal.SIGKILL)
        harvest.wait(timeout=30)
        deadline = time.monotonic() + 15
        while any(_alive(w) for w in workers) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not any(_alive(w) for w in workers), "the worker outlived the killed harvest"
    finally:
        if harvest.poll() is None:
            harvest.kill()
            harvest.wait()
