"""Site build benchmark: synthetic catalogues of 1,000 / 10,000 / 50,000 records.

Records: full build time with and without the Pagefind index, rebuild time after one new record, peak
memory, site size, and the bytes a browser fetches (gzip) for the map page (map.html, map.js, style.css), for the
map's filter data (map-data.js, fetched on first use of the filters) and for a first search.
Each build runs in its own process so peak memory is that build's. --write appends to bench/RESULTS.md.
"""
from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from databases import bench_catalogue, label  # noqa: E402
from results import report  # noqa: E402
from sqlalchemy import insert  # noqa: E402

from evidence import catalogue  # noqa: E402
from evidence.classify.design import EVIDENCE_LEVELS  # noqa: E402
from evidence.classify.taxonomy import load_taxonomy  # noqa: E402
from evidence.models import Record, RecordTag  # noqa: E402

PUBLISHERS = ["Department for Education", "Public Health England", "NICE", "The Rees Centre", "The Children's Society", "NIHR",
              "Research in Practice", "CSA Centre", "Home Office", "Ofsted"]
DESIGNS = [d for d in EVIDENCE_LEVELS if d != "unclear"]
DIRECTIONS = ["positive", "mixed", "no_effect", "negative", "unclear", "not_applicable"]


def make_catalogue(db: str, n: int, seed: int = 7) -> None:
    """Fill a catalogue with n synthetic records and their tags (bulk inserts)."""
    rng = random.Random(seed)
    taxonomy = load_taxonomy()
    interventions, outcomes, populations = (taxonomy.ids(k) for k in ("interventions", "outcomes", "populations"))
    engine = catalogue.connect(db)
    start = datetime(2015, 1, 1, tzinfo=UTC)
    records, tags = [], []
    for i in range(n):
        design = rng.choice(DESIGNS)
        title = f"Evaluation {i}: {rng.choice(interventions).replace('-', ' ')} for young people at risk of exploitation"
        rid = f"evaluation-{i}"
        seen = start + timedelta(hours=i)
        records.append({
            "id": rid, "url": f"https://example.org/report/{i}", "url_key": f"example.org/report/{i}", "title": title,
            "title_key": title.lower(), "publisher": rng.choice(PUBLISHERS), "authors": ["A. Researcher"],
            "published": f"{rng.randint(2010, 2026)}-{rng.randint(1, 12):02d}", "doc_type": "research_report",
            "summary": ("A synthetic summary of a study of support for young people at risk of sexual exploitation, "
                        "describing the service, the measures used and what changed. ") * 4,
            "text": "", "links": [], "money": [], "extra": {}, "source_id": f"source-{i % 15}", "first_seen": seen,
            "content_hash": str(i), "study_design": design, "evidence_level": EVIDENCE_LEVELS[design],
            "direction": rng.choice(DIRECTIONS), "confidence": round(rng.random(), 2), "classification": {"rationale_offsets": []},
            "curated": False, "inclusion": "included", "needs_review": rng.random() < 0.3,
        })
        chosen = {kind: rng.sample(pool, count)
                  for kind, pool, count in (("intervention", interventions, 2), ("outcome", outcomes, 3), ("population", populations, 2))}
        # the pairs a record states, as the classifier stores them: each intervention with the first two outcomes
        records[-1]["classification"]["pairs"] = [
            {"intervention": a, "outcome": o, "direction": records[-1]["direction"], "confidence": 0.6, "phrase": f"{a} improved {o}",
             "start": 0, "end": 1, "basis": "sentence"} for a in chosen["intervention"] for o in chosen["outcome"][:2]]
        for kind, picked in chosen.items():
            for tag in picked:
                tags.append({"record_id": rid, "kind": kind, "tag": tag, "confidence": 0.8, "direction": None,
                             "evidence": [{"phrase": tag, "start": 0, "end": 1}], "curated": False})
    with engine.begin() as conn:
        for chunk in range(0, len(records), 2000):
            conn.execute(insert(Record), records[chunk : chunk + 2000])
        for chunk in range(0, len(tags), 5000):
            conn.execute(insert(RecordTag), tags[chunk : chunk + 5000])
    engine.dispose()


def timed_build(db: str, out: Path, search: bool, jobs: int | None = None) -> tuple[float, int]:
    """Seconds and peak RSS (KB) of `evidence build` in a fresh process (jobs: None for the default)."""
    os.sync()  # earlier runs' files reach the disk first, so their write-back is not billed to this build
    code = ("import resource,sys,time;from pathlib import Path;from evidence.api import Catalogue;"
            f"t=time.perf_counter();Catalogue({db!r}).build(Path({str(out)!r}),None,search={search},jobs={jobs});"
            "print(time.perf_counter()-t, max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,"
            "resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss))")  # the build, or its largest worker
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    seconds, rss = done.stdout.strip().splitlines()[-1].split()
    return float(seconds), int(rss)


def gz(path: Path) -> int:
    return len(gzip.compress(path.read_bytes(), 6)) if path.exists() else 0


def first_search_bytes(site: Path) -> int:
    """What a browser fetches for its first query: the UI, the Pagefind runtime, wasm, metadata, one index and filter chunk."""
    bundle = site / "pagefind"
    files = [bundle / "pagefind-ui.js", bundle / "pagefind-ui.css", bundle / "pagefind.js", bundle / "pagefind-entry.json",
             site / "search.html", site / "static" / "search.js"]
    files += sorted(bundle.glob("wasm.en.pagefind"))[:1] + sorted(bundle.glob("pagefind.en_*.pf_meta"))[:1]
    files += sorted((bundle / "index").glob("*"))[:1] + sorted((bundle / "filter").glob("*"))[:1]
    return sum(gz(f) for f in files)


PELICAN_CONF = """AUTHOR = "bench"
SITENAME = "Evidence (Pelican comparison)"
SITEURL = ""
RELATIVE_URLS = True
TIMEZONE = "UTC"
DEFAULT_LANG = "en"
PATH = "content"
DEFAULT_PAGINATION = 20
FEED_ALL_ATOM = "feeds/all.atom.xml"
CATEGORY_FEED_ATOM = None
TRANSLATION_FEED_ATOM = None
AUTHOR_FEED_ATOM = None
AUTHOR_FEED_RSS = None
"""


def pelican_build(db: str, folder: Path) -> tuple[float, int]:
    """The same records as Markdown articles (title, date, publisher as category, interventions as tags,
    summary and design as body), built by Pelican's default theme in a fresh process: seconds and HTML pages."""
    import sqlite3

    content = folder / "content"
    content.mkdir(parents=True)
    with sqlite3.connect(db) as conn:
        tags: dict[str, list[str]] = {}
        for rid, tag in conn.execute("SELECT record_id, tag FROM recordtag WHERE kind = 'intervention'"):
            tags.setdefault(rid, []).append(tag)
        for rid, title, publisher, published, summary, design in conn.execute(
                "SELECT id, title, publisher, published, summary, study_design FROM record"):
            date = (published or "2020-01") + ("-01" if len(published or "") == 7 else "")
            (content / f"{rid}.md").write_text(
                f"Title: {title}\nDate: {date}\nCategory: {publisher}\nTags: {', '.join(tags.get(rid, []))}\nSlug: {rid}\n\n"
                f"{summary}\n\nStudy design: {design}.\n", encoding="utf-8")
    (folder / "pelicanconf.py").write_text(PELICAN_CONF, encoding="utf-8")
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "pelican", str(content), "-o", str(folder / "output"), "-s", str(folder / "pelicanconf.py"), "-q"],
                   cwd=folder, check=True, capture_output=True)
    seconds = time.perf_counter() - started
    return seconds, sum(1 for _ in (folder / "output").rglob("*.html"))


def run(n: int, pelican: bool = False, pelican_max: int = 10_000, server: str | None = None) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp, bench_catalogue(server, Path(tmp)) as db:
        make_catalogue(db, n)
        without, rss_without = timed_build(db, Path(tmp) / "plain", search=False)
        our_pages = sum(1 for _ in (Path(tmp) / "plain").rglob("*.html"))
        one_job, _ = timed_build(db, Path(tmp) / "one-job", search=False, jobs=1)
        shutil.rmtree(Path(tmp) / "one-job")
        pelican_s, pelican_pages = pelican_build(db, Path(tmp) / "pelican") if pelican and n <= pelican_max and not server else (0.0, 0)
        site = Path(tmp) / "site"
        full, rss_full = timed_build(db, site, search=True)
        engine = catalogue.connect(db)
        with engine.begin() as conn:
            now = datetime.now(UTC)
            conn.execute(insert(Record), [{"id": "one-more", "url": "https://example.org/one-more", "url_key": "example.org/one-more",
                                           "title": "One more record", "title_key": "one more record", "source_id": "source-0",
                                           "first_seen": now, "content_hash": "x", "authors": [], "links": [],
                                           "money": [], "extra": {}, "classification": {}, "summary": "", "text": "",
                                           "study_design": "rct", "evidence_level": 4, "direction": "positive", "curated": False}])
            conn.execute(insert(RecordTag), [{"record_id": "one-more", "kind": "intervention", "tag": "foster-care", "confidence": 0.9,
                                              "direction": None, "evidence": [], "curated": False}])
        engine.dispose()
        rebuild, _ = timed_build(db, site, search=False)
        rebuild_search, _ = timed_build(db, site, search=True)
        size = sum(p.stat().st_size for p in site.rglob("*") if p.is_file())
        result = {"n": n, "build_no_search": without, "build_one_job": one_job, "build_full": full, "rebuild_one": rebuild, "rebuild_one_with_index": rebuild_search,
                  "peak_mb": rss_without / 1024, "peak_index_mb": rss_full / 1024, "site_mb": size / 1e6,
                  "map_kb": (gz(site / "map.html") + gz(site / "static" / "map.js") + gz(site / "static" / "style.css")) / 1024,
                  "map_data_kb": gz(site / "map-data.js") / 1024, "search_kb": first_search_bytes(site) / 1024, "our_pages": our_pages,
                  "pelican_s": pelican_s, "pelican_pages": pelican_pages}
        shutil.rmtree(site, ignore_errors=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="1000,10000,50000")
    parser.add_argument("--write", action="store_true")
    parser.add_argument("--pelican", action="store_true", help="also build the same records with Pelican (pip install 'pelican[markdown]')")
    parser.add_argument("--pelican-max", type=int, default=10_000, help="largest size Pelican builds (it is slow)")
    parser.add_argument("--db", default=None, metavar="SERVER_URL",
                        help="a PostgreSQL server (postgresql://user@host:port/postgres): each size in a fresh database on it")
    args = parser.parse_args()
    rows = [run(int(n), args.pelican, args.pelican_max, args.db) for n in args.sizes.split(",")]
    table = [f"| records ({label(args.db)}) | build (no search) | same, one process | build with Pagefind | rebuild after 1 new | same + index | peak memory: build / with Pagefind | site size | map page (gzip) | map filter data, on first use (gzip) | first search (gzip) |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        table.append(f"| {r['n']:,} | {r['build_no_search']:.1f} s | {r['build_one_job']:.1f} s | {r['build_full']:.1f} s | {r['rebuild_one']:.1f} s | "
                     f"{r['rebuild_one_with_index']:.1f} s | {r['peak_mb']:.0f} / {r['peak_index_mb']:.0f} MB | {r['site_mb']:.0f} MB | {r['map_kb']:.0f} KB | {r['map_data_kb']:.0f} KB | {r['search_kb']:.0f} KB |")
    if args.pelican:
        table += ["", "| records | ours: pages, build without search | Pelican (default theme, Markdown): pages, build | seconds per page, ours | seconds per page, Pelican | ratio per page | ratio, ours in one process |",
                  "|---|---|---|---|---|---|---|"]
        for r in rows:
            if not r["pelican_pages"]:
                continue
            ours, theirs = r["build_no_search"] / r["our_pages"], r["pelican_s"] / r["pelican_pages"]
            table.append(f"| {r['n']:,} | {r['our_pages']:,} pages, {r['build_no_search']:.1f} s | {r['pelican_pages']:,} pages, "
                         f"{r['pelican_s']:.1f} s | {ours * 1000:.2f} ms | {theirs * 1000:.2f} ms | {theirs / ours:.1f}x | "
                         f"{theirs / (r['build_one_job'] / r['our_pages']):.1f}x |")
    report("\n".join(table), args.write)
    print(json.dumps(rows))


if __name__ == "__main__":
    main()
