"""Record identity on the real recordings in ../shared/corpus/real (README there): every recorded answer is turned into
candidates by the harvesters' own parse functions (GOV.UK content items, Europe PMC results, NICE search answers, feed
entries), each recording file being one source, and stored twice through the pipeline's `store` (the harvest's code).

Prints: the distinct documents given (distinct URLs, fragments kept, joined by DOI), the records stored, documents
merged away, the second pass's "updated" count, and records whose title or date is not that of any document reached at
their own URL. Run it on any checkout: `PYTHONPATH=CHECKOUT python3 bench/identity_bench.py`.
"""
from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
REAL = ROOT.parent / "shared" / "corpus" / "real"

from sqlmodel import Session, select  # noqa: E402

from evidence import catalogue  # noqa: E402
from evidence.config import Source  # noqa: E402
from evidence.fetch import Response  # noqa: E402
from evidence.harvesters import europepmc, feed, govuk, nice  # noqa: E402
from evidence.models import MAX_TITLE_CHARS, Candidate, Record  # noqa: E402
from evidence.pipeline import SharedIndex, SourceResult, store  # noqa: E402


def _source(source_id: str, kind: str) -> Source:
    return Source(id=source_id, name=source_id, kind=kind, url=f"https://recordings.invalid/{source_id}", rate_limit=0, detail=False)


def real_sources(root: Path = REAL) -> list[tuple[Source, list[Candidate]]]:
    """(source, its candidates) for every recording file, in a fixed order."""
    out: list[tuple[Source, list[Candidate]]] = []
    for folder in ("govuk-content", "govuk-content-pre2026"):
        source = _source(folder, "govuk")
        items = []
        for path in sorted((root / folder).glob("*.json")):
            try:
                items.append(govuk.from_content(json.loads(path.read_text(encoding="utf-8")), source))
            except ValueError:
                continue  # invalid JSON upstream (README)
        out.append((source, items))
    for path in sorted((root / "europepmc-wabbit").glob("*.json")):
        source = _source(f"epmc-wabbit-{path.stem}", "europepmc")
        out.append((source, [europepmc.from_result(r, source) for r in json.loads(path.read_text(encoding="utf-8"))["resultList"]["result"]]))
    for path in sorted((root / "europepmc-pyepmc").glob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        pages = data if isinstance(data, list) else [data]
        source = _source(f"epmc-{path.stem}", "europepmc")
        out.append((source, [europepmc.from_result(r, source) for page in pages for r in page["resultList"]["result"]]))
    for path in sorted((root / "nice-next-web").glob("*.json")):
        source = _source(f"nice-{path.stem}", "nice")
        try:
            listing = nice._listing(Response(url="https://www.nice.org.uk/search", status=200,
                                             headers={"content-type": "application/json"}, body=path.read_bytes()))
        except Exception:  # noqa: BLE001 - a recorded failure answer ("failed": true) lists nothing
            continue
        items = []
        for document in listing.get("documents") or []:
            for item in nice._document(source, None, document, "https://www.nice.org.uk/search"):  # type: ignore[arg-type]
                if isinstance(item, Candidate):
                    items.append(item)
        out.append((source, items))
    for path in sorted((root / "feeds").iterdir()):
        source = _source(f"feed-{path.stem}", "feed")
        try:
            parsed = feed.parse(Response(url="https://recordings.invalid/feed", status=200, headers={"content-type": "application/xml"},
                                         body=path.read_bytes()))
        except Exception:  # noqa: BLE001 - a feed the harvester refuses gives no candidates
            continue
        items = []
        for entry in parsed.entries:
            link = feed.entry_link(entry)
            if link and feed.from_entry(source, entry, link).title:
                items.append(feed.from_entry(source, entry, link))
        out.append((source, items))
    return out


def _key(url: str) -> str:
    """A document's address as given: scheme-less, host lower-case, no trailing slash, fragment kept."""
    parts = urlsplit(url.strip())
    path = parts.path.rstrip("/") or "/"
    query = urlencode(sorted(parse_qsl(parts.query, keep_blank_values=True)))
    return urlunsplit(("", (parts.hostname or "").lower().removeprefix("www."), path, query, parts.fragment))


def distinct_documents(sources: list[tuple[Source, list[Candidate]]]) -> int:
    """Distinct documents given: distinct addresses (fragments kept), those sharing a DOI joined."""
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for _, items in sources:
        for c in items:
            key = _key(c.url)
            find(key)
            doi = (c.doi or "").strip().lower()
            if re.match(r"10\.\d{4,9}/", doi):
                parent[find(key)] = find("doi:" + doi)
    return len({find(k) for k in parent if not k.startswith("doi:")})


def run(db: str, sources: list[tuple[Source, list[Candidate]]], order: str = "forward") -> dict[str, Any]:
    engine = catalogue.connect(db)
    ordered = sources if order == "forward" else list(reversed(sources))
    passes = []
    for _ in range(2):
        shared = SharedIndex()
        totals = {"new": 0, "updated": 0, "unchanged": 0}
        for source, items in ordered:
            result = SourceResult(source_id=source.id)
            with Session(engine) as session:
                store(session, source, [Candidate(**vars(c)) for c in items], result, None, shared)
                session.commit()
            for name in totals:
                totals[name] += getattr(result, name)
        passes.append(totals)
    by_url: dict[str, set[tuple[str, str | None]]] = {}
    for _, items in sources:
        for c in items:
            by_url.setdefault(_key(c.url), set()).add((c.title.strip()[:MAX_TITLE_CHARS], c.published))
    with Session(engine) as session:
        records = list(session.exec(select(Record)).all())
        fields = {r.id: (r.title, r.published, r.url) for r in records}
    engine.dispose()
    wrong = [r for r in records if (r.title, r.published) not in by_url.get(_key(r.url), set())]
    return {"records": len(records), "first": passes[0], "second": passes[1], "wrong_fields": len(wrong),
            "wrong_examples": [(r.url, r.title[:60]) for r in wrong[:5]], "fields": fields}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", action="store_true", help="Also harvest the sources in reverse order and compare the fields.")
    args = parser.parse_args()
    if not REAL.is_dir():
        sys.exit(f"{REAL} is not available")
    sources = real_sources()
    given = sum(len(items) for _s, items in sources)
    distinct = distinct_documents(sources)
    with tempfile.TemporaryDirectory() as tmp:
        forward = run(str(Path(tmp) / "f.db"), sources)
        print(f"candidates given: {given} from {len(sources)} recordings; distinct documents: {distinct}")
        print(f"records stored: {forward['records']}; documents merged away: {max(0, distinct - forward['records'])}; "
              f"records beyond the distinct documents: {max(0, forward['records'] - distinct)}")
        print(f"first pass: {forward['first']}; second pass: {forward['second']}")
        print(f"records whose title/date is no document's at their URL: {forward['wrong_fields']} {forward['wrong_examples']}")
        if args.orders:
            backward = run(str(Path(tmp) / "b.db"), sources, "reverse")
            a = {v[2]: v[:2] for v in forward["fields"].values()}
            b = {v[2]: v[:2] for v in backward["fields"].values()}
            differ = sum(1 for url in set(a) | set(b) if a.get(url) != b.get(url))
            print(f"reverse order: records {backward['records']}; records whose URL, title or date differ from the forward order: {differ}")


if __name__ == "__main__":
    main()
