"""Harvest benchmark: 200 feed sources x 50 entries served from 127.0.0.1.

Measures the first harvest (rate limit off: fetched, extracted, classified and stored) and a second
harvest where every answer is 304. Prints a Markdown table; --write appends it to bench/RESULTS.md.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from databases import bench_catalogue, label  # noqa: E402
from results import report  # noqa: E402

sys.path.insert(0, str(ROOT / "tests"))

from server import RecordedServer  # noqa: E402

from evidence import catalogue  # noqa: E402
from evidence.capture import CaptureStore  # noqa: E402
from evidence.classify.apply import classify_record_hook  # noqa: E402
from evidence.config import Source  # noqa: E402
from evidence.curation import Curation  # noqa: E402
from evidence.fetch import Fetcher  # noqa: E402
from evidence.pipeline import harvest_sources  # noqa: E402

SUMMARY = ("An evaluation of {topic} for young people at risk of child sexual exploitation used standardised measures "
           "before and after support. Workers reported improvements in emotional well-being and school attendance, "
           "and a reduction in missing episodes; the findings on family relationships were more equivocal.")
TOPICS = ["specialist foster care", "return home interviews", "a trusted adult mentoring scheme", "detached youth work",
          "a multi-agency CSE team", "family therapy", "trauma-focused counselling", "healthy relationships education"]


def feed(base: str, feed_no: int, entries: int) -> str:
    items = []
    for n in range(entries):
        topic = TOPICS[(feed_no + n) % len(TOPICS)]
        items.append(f"<item><title>Study {feed_no}-{n}: {topic}</title><link>{base}/item/{feed_no}/{n}</link>"
                     f"<pubDate>Wed, 04 Jan 2017 10:00:00 GMT</pubDate><description>{SUMMARY.format(topic=topic)}</description></item>")
    return f"<?xml version='1.0'?><rss version='2.0'><channel><title>Feed {feed_no}</title><link>{base}/</link>{''.join(items)}</channel></rss>"


def run_once(feeds: int, entries: int, workers: int, db_server: str | None = None) -> dict[str, float]:
    server = RecordedServer()
    sources = []
    for n in range(feeds):
        server.add(f"/feed/{n}.xml", feed(server.base, n, entries), content_type="application/rss+xml", etag=f'"f{n}"')
        sources.append(Source(id=f"feed-{n}", name=f"Feed {n}", kind="feed", url=server.url(f"/feed/{n}.xml"), rate_limit=0, detail=False))
    with tempfile.TemporaryDirectory() as tmp, bench_catalogue(db_server, Path(tmp)) as db:
        engine = catalogue.connect(db)
        hook = classify_record_hook(Curation(path=Path(tmp) / "curation.yaml"))
        fetcher = Fetcher(CaptureStore(Path(tmp) / "captures"), retries=0, timeout=30)
        started = time.perf_counter()
        first = harvest_sources(engine, sources, fetcher, workers=workers, classify_hook=hook)
        first_s = time.perf_counter() - started
        started = time.perf_counter()
        second = harvest_sources(engine, sources, fetcher, workers=workers, classify_hook=hook)
        second_s = time.perf_counter() - started
        fetcher.close()
        engine.dispose()
    server.close()
    stored = sum(r.new for r in first)
    assert stored == feeds * entries, f"stored {stored}"
    assert sum(r.unchanged for r in second) == feeds * entries and sum(r.new + r.updated for r in second) == 0
    return {"first_s": first_s, "second_s": second_s, "records": stored}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--feeds", type=int, default=200)
    parser.add_argument("--entries", type=int, default=50)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--db", default=None, metavar="SERVER_URL",
                        help="a PostgreSQL server (postgresql://user@host:port/postgres): each run in a fresh database on it")
    parser.add_argument("--write", action="store_true", help="append the table to bench/RESULTS.md")
    args = parser.parse_args()
    runs = [run_once(args.feeds, args.entries, args.workers, args.db) for _ in range(args.repeat)]
    first = statistics.median(r["first_s"] for r in runs)
    second = statistics.median(r["second_s"] for r in runs)
    records = runs[0]["records"]
    table = (f"| harvest ({label(args.db)}): {args.feeds} feeds x {args.entries} entries, {args.workers} workers, median of {args.repeat} | value | target |\n"
             f"|---|---|---|\n"
             f"| first harvest wall time | {first:.2f} s | |\n"
             f"| records fetched, extracted, classified and stored per second | {records / first:.0f} | >= 500 |\n"
             f"| second harvest (every answer 304) | {second:.2f} s | |\n"
             f"| second / first | {second / first:.1%} | <= 10% |\n")
    report(table, args.write)


if __name__ == "__main__":
    main()
