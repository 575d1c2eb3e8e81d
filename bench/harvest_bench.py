"""Harvest benchmark: 200 feed sources x 50 entries served from 127.0.0.1.

Measures the first harvest (rate limit off: fetched, extracted, classified and stored) and a second
harvest where every answer is 304. Prints a Markdown table; --write appends it to bench/RESULTS.md.

`--titles series` (the default) gives every entry a title that differs from others only by an area, a number or a
year, as annual series, inspections and case reviews do: every one is a distinct document and must be stored.
`--match-sizes 10000,50000` also times matching alone: microseconds per candidate against catalogues of those sizes.
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
from sqlmodel import Session, func, select  # noqa: E402

from evidence import catalogue  # noqa: E402
from evidence.capture import CaptureStore  # noqa: E402
from evidence.classify.apply import classify_record_hook  # noqa: E402
from evidence.config import Source  # noqa: E402
from evidence.curation import Curation  # noqa: E402
from evidence.fetch import Fetcher  # noqa: E402
from evidence.models import Candidate, Record  # noqa: E402
from evidence.pipeline import harvest_sources  # noqa: E402

SUMMARY = ("An evaluation of {topic} for young people at risk of child sexual exploitation used standardised measures "
           "before and after support. Workers reported improvements in emotional well-being and school attendance, "
           "and a reduction in missing episodes; the findings on family relationships were more equivocal.")
TOPICS = ["specialist foster care", "return home interviews", "a trusted adult mentoring scheme", "detached youth work",
          "a multi-agency CSE team", "family therapy", "trauma-focused counselling", "healthy relationships education"]


AREAS = ["Kent", "Kirklees", "Leeds", "Leicester", "Lancashire", "Lambeth", "Barnet", "Bristol", "Bury", "Camden", "Cornwall",
         "Croydon", "Derby", "Devon", "Dorset", "Durham", "Ealing", "Essex", "Halton", "Harrow", "Hackney", "Hull", "Islington",
         "Knowsley", "Luton", "Medway", "Merton", "Newham", "Norfolk", "Oldham", "Oxfordshire", "Peterborough", "Plymouth", "Poole",
         "Reading", "Rochdale", "Salford", "Sefton", "Slough", "Somerset", "Southwark", "Stockport", "Suffolk", "Sunderland",
         "Surrey", "Swindon", "Thurrock", "Torbay", "Wakefield", "Wigan"]
SERIES = ["Inspection of {area} local authority children's services {year}",
          "Fostering in {area}: 1 April {year} to 31 March {next}",
          "Local child safeguarding practice review {year}: Child {letter}, {area}",
          "Children looked after in {area}, year ending 31 March {year}",
          "{area} youth justice plan {year} to {next}",
          "Ofsted focused visit to {area} children's services, {year}",
          "Joint targeted area inspection of the multi-agency response in {area} {year}",
          "Annual report of the {area} safeguarding children partnership {year} to {next}",
          "Care leavers in {area}: outcomes at age 19, 20 and 21, {year}",
          "Evaluation of family group conferencing in {area}: report {n} ({year})"]


def series_title(i: int, topic: str) -> str:
    """Title number `i` (0-9,999): each differs from the others only by its area, year, number or letter."""
    area, year = AREAS[i % len(AREAS)], 2005 + (i // len(AREAS)) % 20
    template = SERIES[(i // (len(AREAS) * 20)) % len(SERIES)]
    return template.format(area=area, year=year, next=year + 1, letter="ABCDEFGHJK"[i % 10], n=1 + i % 7)


def feed(base: str, feed_no: int, entries: int, titles: str = "series") -> str:
    items = []
    for n in range(entries):
        topic = TOPICS[(feed_no + n) % len(TOPICS)]
        title = series_title(feed_no * entries + n, topic) if titles == "series" else f"Study {feed_no}-{n}: {topic}"
        items.append(f"<item><title>{title}</title><link>{base}/item/{feed_no}/{n}</link>"
                     f"<pubDate>Wed, 04 Jan 2017 10:00:00 GMT</pubDate><description>{SUMMARY.format(topic=topic)}</description></item>")
    return f"<?xml version='1.0'?><rss version='2.0'><channel><title>Feed {feed_no}</title><link>{base}/</link>{''.join(items)}</channel></rss>"


def run_once(feeds: int, entries: int, workers: int, db_server: str | None = None, titles: str = "series") -> dict[str, float]:
    server = RecordedServer()
    sources = []
    for n in range(feeds):
        server.add(f"/feed/{n}.xml", feed(server.base, n, entries, titles), content_type="application/rss+xml", etag=f'"f{n}"')
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
        with Session(engine) as session:
            records = session.exec(select(func.count()).select_from(Record)).one()
        fetcher.close()
        engine.dispose()
    server.close()
    stored = sum(r.new for r in first)
    if stored != feeds * entries or records != stored:
        print(f"NOT MET: {feeds * entries} distinct entries, {stored} stored as new, {records} records", file=sys.stderr)
    return {"first_s": first_s, "second_s": second_s, "records": records, "second_changed": sum(r.new + r.updated for r in second)}


def matching_cost(size: int, probes: int = 2000) -> float:
    """Microseconds to match one candidate against a catalogue of `size` records with series titles (none matches:
    every probe is another year of some record's series, the costliest case: same words, other numbers)."""
    with tempfile.TemporaryDirectory() as tmp:
        engine = catalogue.connect(str(Path(tmp) / "m.db"))
        with Session(engine) as session:
            index = catalogue.MatchIndex(session)
            for i in range(size):
                title = series_title(i, "") + f" #{i // 10000}"
                if hasattr(index, "add_place"):
                    rid = f"r{i}"
                    index.add_record(rid, title, "2017-01-04", None)
                    index.add_place(rid, (f"example.org/{i}", "feed-0"), (-50, f"https://example.org/{i}", "feed-0"), "")
                else:  # the catalogue before identity (main before issue 12), for the before figure
                    index.add(f"r{i}", f"example.org/{i}", None, catalogue.title_key(title), "")
            candidates = [Candidate(url=f"https://example.org/new/{i}", title=series_title(i, "") + " #9", published="2017-01-04")
                          for i in range(probes)]
            started = time.perf_counter()
            for candidate in candidates:
                try:
                    index.find(candidate, "feed-1")
                except TypeError:
                    index.find(candidate)
            elapsed = time.perf_counter() - started
        engine.dispose()
    return elapsed / probes * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--feeds", type=int, default=200)
    parser.add_argument("--entries", type=int, default=50)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--db", default=None, metavar="SERVER_URL",
                        help="a PostgreSQL server (postgresql://user@host:port/postgres): each run in a fresh database on it")
    parser.add_argument("--titles", choices=("series", "study"), default="series",
                        help="series: titles differing only by area, year or number (default); study: the older 'Study N-M: topic'")
    parser.add_argument("--match-sizes", default="", metavar="N,N", help="also time matching alone against catalogues of these sizes")
    parser.add_argument("--write", action="store_true", help="append the table to bench/RESULTS.md")
    args = parser.parse_args()
    runs = [run_once(args.feeds, args.entries, args.workers, args.db, args.titles) for _ in range(args.repeat)]
    first = statistics.median(r["first_s"] for r in runs)
    second = statistics.median(r["second_s"] for r in runs)
    records = runs[0]["records"]
    table = (f"| harvest ({label(args.db)}): {args.feeds} feeds x {args.entries} entries, {args.workers} workers, median of {args.repeat} | value | target |\n"
             f"|---|---|---|\n"
             f"| distinct entries / records stored ({args.titles} titles) | {args.feeds * args.entries} / {records} | all |\n"
             f"| first harvest wall time | {first:.2f} s | |\n"
             f"| records fetched, extracted, classified and stored per second | {records / first:.0f} | >= 700 |\n"
             f"| second harvest (every answer 304) | {second:.2f} s | |\n"
             f"| second / first | {second / first:.1%} | <= 5% |\n"
             f"| records new or updated by the second harvest | {runs[0]['second_changed']} | 0 |\n")
    for size in [int(n) for n in args.match_sizes.split(",") if n.strip()]:
        costs = [matching_cost(size) for _ in range(args.repeat)]
        table += f"| matching one candidate, catalogue of {size:,} records (median of {args.repeat}) | {statistics.median(costs):.1f} us | flat |\n"
    report(table, args.write)


if __name__ == "__main__":
    main()
