"""Malformed and unforeseen input never crashes a harvest (issue 5, point 1).

Real pages and PDFs from other projects' test corpora (../shared/corpus/peer, read from there) go
through the harvesters as a maintainer's run would meet them, served from 127.0.0.1: every page gives a
record or a one-line error for that item, and the run goes on. Their gold titles and dates measure the
extractors on the way.
"""
from __future__ import annotations

import html
import json
import re
import unicodedata
from pathlib import Path

import pytest
from conftest import SHARED, make_fetcher, records, run, write_sources

from evidence.config import load_config

PEER = SHARED / "peer"
pytestmark = pytest.mark.skipif(not PEER.exists(), reason="../shared/corpus/peer is missing")


def _norm(text: str | None) -> str:
    text = unicodedata.normalize("NFKC", html.unescape(text or "")).lower()
    return " ".join(re.sub(r"[^\w ]", " ", text).split())


def web_pages() -> list[dict]:
    """Every trafilatura and htmldate page with its gold (title where annotated, date)."""
    pages = []
    gold = json.loads((PEER / "trafilatura" / "evaldata_subset.json").read_text(encoding="utf-8"))
    for url, entry in gold.items():
        pages.append({"path": PEER / "trafilatura" / "pages" / entry["file"], "url": url, "title": entry.get("title") or None,
                      "date": entry.get("date") or None, "corpus": "trafilatura"})
    for name in ("eval_default_subset.json", "eval_mediacloud_2020_subset.json"):
        gold = json.loads((PEER / "htmldate" / name).read_text(encoding="utf-8"))
        files = {p.name: p for p in (PEER / "htmldate" / "pages").rglob("*") if p.is_file()}
        for url, entry in gold.items():
            path = files.get(Path(entry["file"]).name)
            if path:
                pages.append({"path": path, "url": url, "title": None, "date": entry.get("date") or None, "corpus": "htmldate"})
    return pages


def serve_listing(server, prefix: str, items: list[tuple[str, bytes, str]]) -> str:
    """A listing page on the loopback server linking to every item (path, body, content type)."""
    links = []
    for n, (name, body, content_type) in enumerate(items):
        path = f"/{prefix}/{n}/{name}"
        server.add(path, body, content_type=content_type)
        links.append(f"<article><h2><a href='{path}'>item {n}</a></h2></article>")
    server.add(f"/{prefix}/", f"<!doctype html><html><body>{''.join(links)}</body></html>")
    return server.url(f"/{prefix}/")


def harvest_listing(server, tmp_path, kind: str, items: list[tuple[str, bytes, str]], db: str):
    """Serve the items behind one listing page, harvest it as one `kind` source; its result and catalogue path."""
    url = serve_listing(server, kind, items)
    config = load_config(write_sources(tmp_path, [{"id": kind, "kind": kind, "url": url, "max_items": 1000}]))
    with make_fetcher(None) as fetcher:
        result = run(db, config, fetcher)[kind]
    assert result.status == "ok", result.message
    return result, db


def test_every_trafilatura_and_htmldate_page_gives_a_record_or_a_one_line_error(server, tmp_path, catalogue_path):
    pages = web_pages()
    assert len(pages) >= 120
    result, db = harvest_listing(server, tmp_path, "html", [(p["path"].name, p["path"].read_bytes(), "text/html") for p in pages], catalogue_path)
    stored = {r.url: r for r in records(db)}
    assert result.fetched == len(pages)
    assert all("\n" not in e and len(e) < 400 for e in result.item_errors)
    by_path = {f"/html/{n}/{p['path'].name}": p for n, p in enumerate(pages)}
    titled = dated = title_gold = date_gold = 0
    for path, page in by_path.items():
        record = stored.get(server.url(path))
        if record is None:  # merged into an earlier record as a duplicate, or lost with a recorded error
            continue
        if page["title"]:
            title_gold += 1
            titled += _norm(page["title"]) in _norm(record.title) or _norm(record.title) in _norm(page["title"])
        if page["date"]:
            date_gold += 1
            dated += record.published == page["date"]
    accounted = len(stored) + result.errors
    print(f"\nweb pages: {len(pages)} served, {len(stored)} records, {result.errors} item errors; "
          f"title {titled}/{title_gold}, exact date {dated}/{date_gold}")
    assert accounted <= len(pages) and len(stored) >= 0.9 * len(pages)
    assert titled >= 0.8 * title_gold
    assert dated >= 0.5 * date_gold


def test_every_sample_pdf_gives_a_record_or_a_one_line_error(server, tmp_path, catalogue_path):
    folder = PEER / "pdf" / "py-pdf_sample-files"
    described = {entry["path"]: entry for entry in json.loads((folder / "files.json").read_text(encoding="utf-8"))["data"]}
    pdfs = sorted(folder.rglob("*.pdf"))
    assert len(pdfs) >= 20
    result, db = harvest_listing(server, tmp_path, "pdf", [(p.name, p.read_bytes(), "application/pdf") for p in pdfs], catalogue_path)
    stored = {r.url.rsplit("/", 1)[-1]: r for r in records(db)}
    assert result.new + result.updated + result.errors == len(pdfs)  # "updated": the same document met twice (merged)
    for error in result.item_errors:
        assert "\n" not in error and error.startswith("http://127.0.0.1"), error
    encrypted = [p for p in pdfs if described.get(str(p.relative_to(folder)), {}).get("encrypted")]
    for path in encrypted:  # a password-protected PDF is a clear item error, or opens with the empty password
        assert path.name in stored or any(path.name in e and "encrypt" in e.lower() for e in result.item_errors)
    dated = sum(1 for p in pdfs if p.name in stored and ((described.get(str(p.relative_to(folder))) or {}).get("creation_date") or "")[:10]
                == stored[p.name].published)
    with_dates = sum(1 for p in pdfs if (described.get(str(p.relative_to(folder))) or {}).get("creation_date"))
    print(f"\nPDFs: {len(pdfs)} served, {len(stored)} records, {result.errors} item errors {result.item_errors}; "
          f"creation date as published {dated}/{with_dates}")
    # the only losses are PDFs that cannot be read as text, each said plainly
    assert all(e.endswith(("encrypted PDF needs a password", "no extractable text (scanned or empty PDF)")) for e in result.item_errors)
    assert len(stored) >= 12


def test_trafilatura_feed_and_sitemap_files_as_feed_sources(server, tmp_path, catalogue_path):
    """Atom, RSS, JSON Feed and sitemaps offered as feeds: entries come out, or the source fails in one line."""
    files = sorted((PEER / "trafilatura" / "resources").iterdir())
    sources = []
    for n, path in enumerate(files):
        server.add(f"/res/{path.name}", path.read_bytes(), content_type="application/xml")
        sources.append({"id": f"res-{n}", "kind": "feed", "url": server.url(f"/res/{path.name}"), "detail": False})
    config = load_config(write_sources(tmp_path, sources))
    with make_fetcher(None) as fetcher:
        results = run(catalogue_path, config, fetcher)
    outcome = {path.name: results[f"res-{n}"] for n, path in enumerate(files)}
    print("\n" + "\n".join(f"{name}: {r.status} new={r.new} errors={r.errors} {r.message or ''}" for name, r in outcome.items()))
    for name, result in outcome.items():
        assert "internal error" not in (result.message or ""), (name, result.message)
        assert result.status == "ok" or (result.message and "\n" not in result.message), name
    assert outcome["feed1.atom"].new > 0 and outcome["feed2.rss"].new > 0
