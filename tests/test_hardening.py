"""Faults maintainers meet unattended, on SQLite and on the PostgreSQL of EVIDENCE_TEST_DB: a harvest killed mid-way,
stopped with Ctrl-C, two harvests at once, and runs left "running" by a killed process."""
from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time

from click.testing import CliRunner
from conftest import records, reset_catalogue, write_sources
from sqlalchemy import text

from evidence import catalogue
from evidence.catalogue import CatalogueError
from evidence.cli import cli
from evidence.pipeline import harvest_lock, harvest_running

SUMMARY = "An evaluation of specialist foster care for young people at risk of exploitation reported fewer missing episodes. " * 3


def feeds(server, count: int, entries: int, delay: float = 0.0) -> list[dict]:
    sources = []
    for n in range(count):
        items = "".join(f"<item><title>Report {n}-{i} on foster care</title><link>{server.base}/r/{n}/{i}</link>"
                        f"<description>{SUMMARY}</description></item>" for i in range(entries))
        server.add(f"/feed/{n}.xml", f"<?xml version='1.0'?><rss version='2.0'><channel><title>F{n}</title>{items}</channel></rss>",
                   content_type="application/rss+xml", delay=delay)
        sources.append({"id": f"feed-{n}", "kind": "feed", "url": server.url(f"/feed/{n}.xml"), "detail": False})
    return sources


def harvest_process(db: str, config: str, captures: str, workers: int = 2, **kwargs) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "evidence.cli", "--db", db, "harvest", "--config", config, "--captures", captures,
                             "--quiet", "--workers", str(workers)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **kwargs)


def run_statuses(db: str) -> dict[str, list[str]]:
    """Each source's stored run statuses, oldest first ({} while the catalogue does not exist yet)."""
    try:
        engine = catalogue.connect(db, create=False)
    except CatalogueError:
        return {}
    try:
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT source_id, status FROM harvestrun ORDER BY id")).all()
    finally:
        engine.dispose()
    statuses: dict[str, list[str]] = {}
    for source_id, status in rows:
        statuses.setdefault(source_id, []).append(status)
    return statuses


def status_rows(db: str) -> dict[str, dict]:
    result = CliRunner().invoke(cli, ["--db", db, "status", "--format", "json", "--config", "none.yaml"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return {row["source"]: row for row in json.loads(result.output)}


def wait_for(condition, timeout: float = 60.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def untagged_records(db: str) -> int:
    engine = catalogue.connect(db, create=False)
    try:
        with engine.connect() as conn:
            return conn.execute(text("SELECT count(*) FROM record WHERE id NOT IN (SELECT record_id FROM recordtag)")).scalar()
    finally:
        engine.dispose()


def test_a_killed_harvest_leaves_a_consistent_catalogue_and_the_next_completes(server, tmp_path, new_catalogue):
    config = write_sources(tmp_path, feeds(server, 30, 20))
    reference = new_catalogue("reference")
    started = time.monotonic()
    assert harvest_process(reference, str(config), str(tmp_path / "ref-captures")).wait(timeout=300) == 0
    duration = time.monotonic() - started
    expected = sorted((r.id, r.content_hash) for r in records(reference))
    rng = random.Random(20)
    db = new_catalogue("killed")
    kills = attempts = 0
    while kills < 20:  # SIGKILL at 20 random moments of a harvest's length
        attempts += 1
        assert attempts < 60, f"only {kills} kills in {attempts} attempts"
        process = harvest_process(db, str(config), str(tmp_path / "captures"))
        time.sleep(rng.uniform(0.2, duration * 0.9))
        if process.poll() is None:
            os.kill(process.pid, signal.SIGKILL)
            kills += 1
        finished = process.wait(timeout=60) == 0
        if catalogue.is_sqlite(db) and os.path.exists(db):
            import sqlite3

            with sqlite3.connect(db) as conn:
                assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        if run_statuses(db):  # (killed before the schema was created: nothing, or an empty file, which the next run fills)
            assert untagged_records(db) == 0  # every record that exists is whole: its tags were committed with it
            assert not harvest_running(db)  # the killed process's lock went with it
        if finished:  # the harvest outran the kill: the catalogue must already be the reference one; start afresh
            assert sorted((r.id, r.content_hash) for r in records(db)) == expected
            reset_catalogue(db)
    assert harvest_process(db, str(config), str(tmp_path / "captures")).wait(timeout=300) == 0
    assert sorted((r.id, r.content_hash) for r in records(db)) == expected
    assert all(statuses[-1] == "ok" for statuses in run_statuses(db).values())
    assert "running" not in {s for statuses in run_statuses(db).values() for s in statuses}  # the killed runs: interrupted


def test_a_second_harvest_on_the_same_catalogue_refuses_clearly(server, tmp_path, catalogue_path):
    config = write_sources(tmp_path, feeds(server, 1, 2))
    with harvest_lock(catalogue_path):
        assert harvest_running(catalogue_path)
        result = CliRunner().invoke(cli, ["--db", catalogue_path, "harvest", "--config", str(config)], catch_exceptions=False)
    assert result.exit_code == 2, result.output
    assert result.output.strip() == f"Error: another harvest (pid {os.getpid()}) is writing to {catalogue.shown_url(catalogue_path)}; " \
                                    "wait for it to finish"
    assert not harvest_running(catalogue_path)
    again = CliRunner().invoke(cli, ["--db", catalogue_path, "harvest", "--config", str(config), "--captures", str(tmp_path / "caps")],
                               catch_exceptions=False)
    assert again.exit_code == 0 and len(records(catalogue_path)) == 2


def test_two_harvest_processes_at_once_one_refuses_and_nothing_is_marked_interrupted(server, tmp_path, catalogue_path):
    config = write_sources(tmp_path, feeds(server, 6, 5, delay=2.0))  # 6 s at 2 workers: the second starts meanwhile
    first = harvest_process(catalogue_path, str(config), str(tmp_path / "captures"))
    wait_for(lambda: harvest_running(catalogue_path) and run_statuses(catalogue_path), what="the first harvest to start")
    assert {row["status"] for row in status_rows(catalogue_path).values()} <= {"running", "ok"}  # running, not "interrupted"
    second = subprocess.run([sys.executable, "-m", "evidence.cli", "--db", catalogue_path, "harvest", "--config", str(config),
                             "--captures", str(tmp_path / "captures"), "--quiet"], capture_output=True, text=True, timeout=120)
    assert second.returncode == 2
    assert second.stderr.strip().splitlines() == [f"Error: another harvest (pid {first.pid}) is writing to "
                                                  f"{catalogue.shown_url(catalogue_path)}; wait for it to finish"]
    assert first.wait(timeout=120) == 0
    assert run_statuses(catalogue_path) == {f"feed-{n}": ["ok"] for n in range(6)}  # the refused harvest wrote no run
    assert {row["status"] for row in status_rows(catalogue_path).values()} == {"ok"}
    assert len(records(catalogue_path)) == 30


def test_a_run_left_running_by_a_killed_harvest_is_shown_as_interrupted(server, tmp_path, catalogue_path):
    config = write_sources(tmp_path, feeds(server, 4, 3, delay=2.0))
    process = harvest_process(catalogue_path, str(config), str(tmp_path / "captures"), workers=1)
    wait_for(lambda: harvest_running(catalogue_path) and run_statuses(catalogue_path), what="the harvest to start")
    os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=60)
    assert not harvest_running(catalogue_path)
    stored = run_statuses(catalogue_path)
    assert "running" in {s[-1] for s in stored.values()}  # what the killed process left behind
    shown = status_rows(catalogue_path)
    assert {shown[source]["status"] for source, statuses in stored.items() if statuses[-1] == "running"} == {"interrupted"}
    server.routes.clear()
    config = write_sources(tmp_path, feeds(server, 4, 3))
    assert harvest_process(catalogue_path, str(config), str(tmp_path / "captures")).wait(timeout=120) == 0
    after = run_statuses(catalogue_path)
    assert all(statuses[-1] == "ok" for statuses in after.values())
    assert "running" not in {s for statuses in after.values() for s in statuses}  # the next harvest closed them as interrupted


def test_ctrl_c_stops_a_harvest_within_seconds_keeping_committed_sources(server, tmp_path, catalogue_path):
    config = write_sources(tmp_path, feeds(server, 20, 4, delay=2.0))  # 20 slow sources, 2 at a time: 20 s to the end
    process = subprocess.Popen([sys.executable, "-m", "evidence.cli", "--db", catalogue_path, "harvest", "--config", str(config),
                                "--captures", str(tmp_path / "captures"), "--quiet", "--workers", "2"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wait_for(lambda: sum(s[-1] == "ok" for s in run_statuses(catalogue_path).values()) >= 2, what="two sources committed")
    process.send_signal(signal.SIGINT)
    sent = time.monotonic()
    out, err = process.communicate(timeout=60)
    stopped_in = time.monotonic() - sent
    assert process.returncode == 130, (out, err)
    assert "Interrupted: what was already stored is kept." in err and "Traceback" not in err
    assert stopped_in < 8, f"took {stopped_in:.1f} s to stop"  # not the ~16 s the queued sources would have taken
    statuses = {source: s[-1] for source, s in run_statuses(catalogue_path).items()}
    done = {source for source, status in statuses.items() if status == "ok"}
    assert len(done) >= 2 and set(statuses.values()) <= {"ok", "interrupted"} and "interrupted" in statuses.values()
    stored = {r.source_id for r in records(catalogue_path)}
    assert stored == done and len(records(catalogue_path)) == 4 * len(done)
    assert {row["status"] for row in status_rows(catalogue_path).values()} == {"ok", "interrupted"}
