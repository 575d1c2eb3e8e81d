"""Expected failures are one line naming the file, URL or setting and what to do, exit code 2, with the catalogue
unchanged: a full disk (harvest and build), a read-only or damaged catalogue, a busy port, a bad demo folder, a bad CSS
selector, and a build that would prune a site down to nothing.

The tests run as root in CI, where chmod does not make a file read-only; a read-only catalogue is opened read-only
instead (SQLite `?mode=ro`, PostgreSQL `default_transaction_read_only`). A full disk is the real SQLITE_FULL, reached by
capping the catalogue's size (`PRAGMA max_page_count`), and ENOSPC raised where the capture store and the site writer
write (the one place each writes a file), since a small file system cannot be mounted here."""
from __future__ import annotations

import errno
import hashlib
import os
import shutil
import socket
import socketserver
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import records, write_sources

from evidence import catalogue
from evidence.cli import cli

SUMMARY = ("An evaluation of specialist foster care for young people at risk of child sexual exploitation found improvements "
           "in placement stability and a reduction in missing episodes over twelve months. ")


def invoke(*args: str, **kwargs):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False, **kwargs)


def one_error_line(result) -> str:
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert result.exit_code == 2, result.output
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.output
    return lines[0]


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def tree(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): digest(p) for p in sorted(folder.rglob("*")) if p.is_file()}


def snapshot(db: str) -> list[tuple[str, str]]:
    return sorted((r.id, r.content_hash) for r in records(db))


def feed(server, name: str, entries: int, words: int = 1) -> dict:
    # titles shorter than catalogue.MIN_TITLE_KEY_FOR_MATCH: each entry is its own record, never matched to another by title
    items = "".join(f"<item><title>{name} study {i}</title><link>{server.base}/{name}/{i}</link>"
                    f"<description>{SUMMARY * words}</description></item>" for i in range(entries))
    server.add(f"/{name}.xml", f"<?xml version='1.0'?><rss version='2.0'><channel><title>{name}</title>{items}</channel></rss>",
               content_type="application/rss+xml")
    return {"id": name, "kind": "feed", "url": server.url(f"/{name}.xml"), "detail": False}


@pytest.fixture
def harvested(server, tmp_path, catalogue_path):
    """A catalogue with one small source, and a sources file that adds a large second one."""
    small = feed(server, "small", 2)
    assert invoke("--db", catalogue_path, "harvest", "--config", str(write_sources(tmp_path, [small])), "--captures",
                  str(tmp_path / "caps")).exit_code == 0
    (tmp_path / "more").mkdir()
    return catalogue_path, write_sources(tmp_path / "more", [small, feed(server, "large", 300, words=20)])


def test_a_full_disk_during_a_harvest_is_one_line_and_keeps_the_catalogue(harvested, tmp_path, monkeypatch):
    db, config = harvested
    if not catalogue.is_sqlite(db):
        pytest.skip("a full disk is reached through SQLite's max_page_count; PostgreSQL's own disk cannot be filled here")
    import sqlite3

    with sqlite3.connect(db) as conn:
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
    original = catalogue._sqlite_pragmas

    def capped(dbapi_connection, record):
        original(dbapi_connection, record)
        dbapi_connection.execute(f"PRAGMA max_page_count = {pages + 3}")  # the catalogue's file may grow by 3 pages only

    monkeypatch.setattr(catalogue, "_sqlite_pragmas", capped)
    before = snapshot(db)
    line = one_error_line(invoke("--db", db, "harvest", "--config", str(config), "--captures", str(tmp_path / "caps")))
    assert f"catalogue {db}: database or disk is full: free some disk space and run again" in line
    monkeypatch.setattr(catalogue, "_sqlite_pragmas", original)
    assert snapshot(db) == before


def test_a_full_disk_in_the_capture_store_stops_the_harvest_in_one_line(harvested, tmp_path, monkeypatch):
    from evidence import capture

    db, config = harvested

    def full(path, data):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))

    monkeypatch.setattr(capture, "_atomic_write", full)
    # the harvest stops while the test server is still answering: its "connection reset" tracebacks are not the CLI's
    monkeypatch.setattr(socketserver.BaseServer, "handle_error", lambda self, request, address: None)
    before = snapshot(db)
    line = one_error_line(invoke("--db", db, "harvest", "--config", str(config), "--captures", str(tmp_path / "full-caps")))
    assert line.startswith(f"Error: {tmp_path / 'full-caps'}") and "the disk is full; free some space and run again" in line
    assert snapshot(db) == before


def test_a_full_disk_during_a_build_is_one_line_naming_the_file(harvested, tmp_path, monkeypatch):
    from evidence.publish import build

    db, _ = harvested
    site = tmp_path / "site"
    assert invoke("--db", db, "build", "--out", str(site), "--no-search").exit_code == 0
    before, pages = snapshot(db), tree(site)

    def full(root, rel, data):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), f"{root}/{rel}")

    monkeypatch.setattr(build, "_put", full)
    monkeypatch.setattr(build, "_read_state", lambda out: None)  # every page to write again
    line = one_error_line(invoke("--db", db, "build", "--out", str(site), "--no-search"))
    assert line.startswith(f"Error: {site}/") and "the disk is full; free some space and run again" in line
    assert snapshot(db) == before and tree(site) == pages  # files are replaced whole: none was half written


def read_only(db: str) -> str:
    """The same catalogue, opened so that nothing can be written to it."""
    if catalogue.is_sqlite(db):
        return f"sqlite:///file:{db}?mode=ro&uri=true"
    return f"{db}?options=-c%20default_transaction_read_only%3Don"


@pytest.mark.parametrize("command", [["harvest"], ["reclassify"], ["curate", "ID", "--note", "checked"]])
def test_a_read_only_catalogue_is_one_line_and_unchanged(harvested, tmp_path, command):
    db, config = harvested
    before = snapshot(db)
    record_id = before[0][0]
    (tmp_path / "curation.yaml").write_text("{}\n", encoding="utf-8")
    args = {"harvest": ["harvest", "--config", str(config), "--captures", str(tmp_path / "caps")],
            "reclassify": ["reclassify", "--curation", str(tmp_path / "curation.yaml")],
            "curate": ["curate", record_id, "--note", "checked", "--curation", str(tmp_path / "curation.yaml")]}[command[0]]
    line = one_error_line(invoke("--db", read_only(db), *args))
    assert f"catalogue {catalogue.shown_url(read_only(db))} cannot be written" in line and "use a writable copy" in line
    assert snapshot(db) == before
    assert invoke("--db", read_only(db), "status", "--config", str(config)).exit_code == 0  # reading it still works


def test_a_damaged_sqlite_catalogue_is_one_line_and_status_does_not_pass(harvested, tmp_path):
    db, _ = harvested
    if not catalogue.is_sqlite(db):
        pytest.skip("about a SQLite file")
    damaged = tmp_path / "damaged.db"
    shutil.copy(db, damaged)
    data = bytearray(damaged.read_bytes())
    data[4096:] = b"\xff" * (len(data) - 4096)  # every page but the first (the header and the schema) overwritten
    damaged.write_bytes(bytes(data))
    for command in (["status"], ["review"], ["export", "--format", "csv"]):
        line = one_error_line(invoke("--db", str(damaged), *command))
        assert f"catalogue {damaged}" in line and "the file is damaged; restore it from a backup" in line, line


def test_serve_on_a_busy_port_is_one_line(tmp_path):
    (tmp_path / "site").mkdir()
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        line = one_error_line(invoke("serve", "--site", str(tmp_path / "site"), "--port", str(port)))
    assert line == f"Error: cannot listen on 127.0.0.1:{port} (Address already in use); choose another --port"


def test_demo_into_a_folder_that_cannot_be_made_is_one_line(tmp_path):
    blocker = tmp_path / "notes.txt"
    blocker.write_text("a file, not a folder")
    line = one_error_line(invoke("demo", "--out", str(blocker / "demo")))
    assert line.startswith(f"Error: {blocker / 'demo'}: cannot create the demo folder") and "choose another --out" in line
    refused = invoke("demo", "--out", str(blocker))  # a file given as the folder: click's own usage error, naming both
    assert refused.exit_code == 2 and f"Invalid value for '--out': Directory '{blocker}' is a file." in refused.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"] and blocker.read_text() == "a file, not a folder"


def test_demo_makes_a_missing_folder(tmp_path):
    result = invoke("demo", "--out", str(tmp_path / "new" / "folder"))
    assert result.exit_code == 0 and (tmp_path / "new" / "folder" / "site" / "index.html").is_file()


def test_an_invalid_css_selector_is_refused_when_the_sources_file_is_loaded(tmp_path, catalogue_path):
    config = write_sources(tmp_path, [{"id": "digest", "kind": "html", "url": "https://example.org/news", "item": "article",
                                       "title": "h2 > a[href"}])
    line_no = next(n for n, line in enumerate(config.read_text().splitlines(), 1) if "a[href" in line)
    line = one_error_line(invoke("--db", catalogue_path, "harvest", "--config", str(config)))
    assert line.startswith(f"Error: {config}:{line_no}: source 'digest': `title` is not a valid CSS selector: 'h2 > a[href'")
    if catalogue.is_sqlite(catalogue_path):
        assert not Path(catalogue_path).exists()  # refused before anything was opened


def test_build_refuses_to_prune_a_site_to_no_records_without_force(harvested, tmp_path, new_catalogue):
    db, _ = harvested
    site = tmp_path / "site"
    assert invoke("--db", db, "build", "--out", str(site), "--no-search").exit_code == 0
    pages = tree(site)
    empty = new_catalogue("empty")
    assert invoke("--db", empty, "harvest", "--config", str(write_sources(tmp_path / "more", []))).exit_code == 0
    line = one_error_line(invoke("--db", empty, "build", "--out", str(site), "--no-search"))
    assert line == (f"Error: {site}: the site shows 2 records but catalogue {catalogue.shown_url(empty)} has none, so building "
                    "would remove every record page; check --db (or EVIDENCE_DB), or pass --force")
    assert tree(site) == pages
    forced = invoke("--db", empty, "build", "--out", str(site), "--no-search", "--force")
    assert forced.exit_code == 0 and "for 0 records" in forced.output
    assert sorted(p.name for p in (site / "records").glob("*.html")) == ["index.html"]
