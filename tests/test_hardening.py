"""Faults maintainers meet unattended: a harvest killed mid-way, two harvests at once."""
from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time

from click.testing import CliRunner
from conftest import records, write_sources

from evidence.cli import cli
from evidence.pipeline import harvest_lock

SUMMARY = "An evaluation of specialist foster care for young people at risk of exploitation reported fewer missing episodes. " * 3


def feeds(server, count: int, entries: int) -> list[dict]:
    sources = []
    for n in range(count):
        items = "".join(f"<item><title>Report {n}-{i} on foster care</title><link>{server.base}/r/{n}/{i}</link>"
                        f"<description>{SUMMARY}</description></item>" for i in range(entries))
        server.add(f"/feed/{n}.xml", f"<?xml version='1.0'?><rss version='2.0'><channel><title>F{n}</title>{items}</channel></rss>",
                   content_type="application/rss+xml")
        sources.append({"id": f"feed-{n}", "kind": "feed", "url": server.url(f"/feed/{n}.xml"), "detail": False})
    return sources


def harvest_process(db: str, config: str, captures: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "evidence.cli", "--db", db, "harvest", "--config", config, "--captures", captures,
                             "--quiet", "--workers", "2"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def test_a_killed_harvest_leaves_a_consistent_catalogue_and_the_next_completes(server, tmp_path):
    config = write_sources(tmp_path, feeds(server, 30, 20))
    reference = str(tmp_path / "reference.db")
    started = time.monotonic()
    assert harvest_process(reference, str(config), str(tmp_path / "ref-captures")).wait(timeout=300) == 0
    duration = time.monotonic() - started
    expected = sorted((r.id, r.content_hash) for r in records(reference))
    rng = random.Random(20)
    db = str(tmp_path / "killed.db")
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
        with sqlite3.connect(db) as conn:
            assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            if "record" in tables:  # (killed before the schema was created: an empty file, which the next run fills)
                # every record that exists is whole: its tags were committed with it
                untagged = conn.execute("SELECT count(*) FROM record WHERE id NOT IN (SELECT record_id FROM recordtag)").fetchone()[0]
                assert untagged == 0
        if finished:  # the harvest outran the kill: the catalogue must already be the reference one; start afresh
            assert sorted((r.id, r.content_hash) for r in records(db)) == expected
            for suffix in ("", "-wal", "-shm"):
                if os.path.exists(db + suffix):
                    os.remove(db + suffix)
    assert harvest_process(db, str(config), str(tmp_path / "captures")).wait(timeout=300) == 0
    assert sorted((r.id, r.content_hash) for r in records(db)) == expected


def test_a_second_harvest_on_the_same_catalogue_refuses_clearly(server, tmp_path):
    config = write_sources(tmp_path, feeds(server, 1, 2))
    db = str(tmp_path / "c.db")
    with harvest_lock(db):
        result = CliRunner().invoke(cli, ["--db", db, "harvest", "--config", str(config)], catch_exceptions=False)
    assert result.exit_code == 2 and "another harvest" in result.output
    again = CliRunner().invoke(cli, ["--db", db, "harvest", "--config", str(config), "--captures", str(tmp_path / "caps")],
                               catch_exceptions=False)
    assert again.exit_code == 0 and len(records(db)) == 2
