"""The screening benchmark set: the project's labelled texts plus off-topic ones, with inclusion labels given by hand.

Read at run time from ../shared/corpus (never copied into the project); only ids and labels live in
tests/fixtures/screening/inclusion.yaml. Texts, by origin:
- `seed`, `uk_cse`: the labelled set's seed documents and UK children's social care publications (evidence.labelled);
- `pubmed`: every PubMed record with an abstract of 200 characters or more (peer/pubmed);
- `clinicaltrials.gov`: registrations with a summary (peer/pubmed/aact_clinicaltrials_xml);
- `europepmc`: Europe PMC core results with an abstract (samples/europepmc);
- `nice`: titles in NICE's recorded guidance listings (real/nice-next-web, samples/nice);
- `govuk`: GOV.UK content items, title, description and the start of the body (real/govuk-content*, samples/govuk-content-api);
- `feed`: entries of real RSS and Atom feeds (real/feeds, samples/guardian-rss, samples/wordpress-feeds).
Texts seen twice (the same GOV.UK example in several folders, the same title in two listings) are kept once.
"""
from __future__ import annotations

import csv
import gzip
import json
import re
import xml.etree.ElementTree as ET  # noqa: S405 - files of a fixed, trusted corpus
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import yaml

from evidence import labelled

ABSTRACT_CHARS = 3000  # an abstract's length: longer texts are cut, as a screener reads the opening


@dataclass
class ScreeningText:
    """One text to screen: an id naming where it came from, its title and its abstract."""

    id: str
    origin: str
    title: str
    abstract: str


def _plain(markup: str) -> str:
    from bs4 import BeautifulSoup

    if "<" not in markup and "&" not in markup:
        return " ".join(markup.split())
    return " ".join(BeautifulSoup(markup, "lxml").get_text(" ").split())


def _pubmed(corpus: Path) -> Iterator[ScreeningText]:
    root = corpus / "peer" / "pubmed"
    for path in sorted(root.rglob("*.xml")) + sorted(root.rglob("*.xml.gz")):
        if "aact" in path.parts[-2]:
            continue
        data = (gzip.open if path.suffix == ".gz" else open)(path, "rb").read()
        try:
            tree = ET.fromstring(data)  # noqa: S314
        except ET.ParseError:
            continue
        for article in tree.iter("PubmedArticle"):
            pmid = (article.findtext(".//PMID") or "").strip()
            title_element = article.find(".//ArticleTitle")
            title = " ".join("".join(title_element.itertext()).split()) if title_element is not None else ""
            abstract = " ".join(" ".join("".join(a.itertext()).split()) for a in article.iter("AbstractText"))
            if pmid and len(abstract) >= 200:
                yield ScreeningText(f"pmid:{pmid}", "pubmed", title, abstract)


def _trials(corpus: Path) -> Iterator[ScreeningText]:
    for path in sorted((corpus / "peer" / "pubmed" / "aact_clinicaltrials_xml").glob("NCT*.xml")):
        try:
            root = ET.fromstring(path.read_bytes())  # noqa: S314
        except ET.ParseError:
            continue
        summary = " ".join((root.findtext("brief_summary/textblock") or "").split())
        if len(summary) >= 100:
            yield ScreeningText(path.stem, "clinicaltrials.gov", " ".join((root.findtext("brief_title") or "").split()), summary)


def _europepmc(corpus: Path) -> Iterator[ScreeningText]:
    path = corpus / "samples" / "europepmc" / "search_cancer_core.json"
    if path.exists():
        for result in json.loads(path.read_text(encoding="utf-8"))["resultList"]["result"]:
            abstract = _plain(result.get("abstractText") or "")
            if len(abstract) >= 200:
                yield ScreeningText(f"epmc:{result.get('id')}", "europepmc", _plain(result.get("title") or ""), abstract)


NICE_LISTINGS = ("guidance.json", "guidance-published.json", "guidance-inconsultation.json", "guidance-indevelopment.json",
                 "guidance-proposed.json", "indicators.json", "researchrecs-published.json")


def _nice(corpus: Path) -> Iterator[ScreeningText]:
    paths = [corpus / "real" / "nice-next-web" / name for name in NICE_LISTINGS]
    paths += sorted((corpus / "samples" / "nice").glob("sse_search__*.json"))
    for path in paths:
        if not path.exists():
            continue
        for document in json.loads(path.read_text(encoding="utf-8")).get("documents") or []:
            title = _plain(document.get("title") or "")
            if len(title.split()) >= 3:  # the listings' test products ("Test HTE", "DG11") are no documents
                yield ScreeningText(f"nice:{document.get('id')}", "nice", title, _plain(document.get("metaDescription") or ""))


def _govuk(corpus: Path) -> Iterator[ScreeningText]:
    folders = [corpus / "real" / "govuk-content", corpus / "real" / "govuk-content-pre2026", corpus / "samples" / "govuk-content-api"]
    for folder in folders:
        for path in sorted(folder.glob("*.json")):
            try:
                item = json.loads(path.read_text(encoding="utf-8"))
            except ValueError:
                continue
            if not isinstance(item, dict) or not item.get("title"):
                continue
            body = (item.get("details") or {}).get("body") or ""
            body = body if isinstance(body, str) else ""
            abstract = f"{item.get('description') or ''} {_plain(body)[:1500]}".strip()
            yield ScreeningText(f"govuk:{path.name}", "govuk", _plain(item["title"]), abstract)


def _feeds(corpus: Path) -> Iterator[ScreeningText]:
    import feedparser

    paths = sorted((corpus / "real" / "feeds").iterdir()) if (corpus / "real" / "feeds").exists() else []
    paths += sorted((corpus / "samples" / "guardian-rss").glob("*.rss")) + sorted((corpus / "samples" / "wordpress-feeds").glob("*.*"))
    for path in paths:
        if path.suffix == ".txt":
            continue
        for index, entry in enumerate(feedparser.parse(path.read_bytes()).entries):
            title, summary = _plain(entry.get("title") or ""), _plain(entry.get("summary") or "")
            if title or summary:
                yield ScreeningText(f"feed:{path.name}#{index}", "feed", title, summary)


def screening_texts(corpus: Path, uk_cse_labels: Path) -> list[ScreeningText]:
    """Every text of the screening set found under `corpus`, each title kept once."""
    texts = [ScreeningText(t.id, t.origin, t.title or "", t.text.split("\n\n", 1)[-1])
             for t in [*labelled.seeds(corpus), *labelled.uk_cse(corpus, uk_cse_labels)]]
    texts += [*_pubmed(corpus), *_trials(corpus), *_europepmc(corpus), *_nice(corpus), *_govuk(corpus), *_feeds(corpus)]
    seen_ids: set[str] = set()
    seen_titles: set[str] = set()
    kept = []
    for text in texts:
        key = re.sub(r"\W+", " ", text.title.lower()).strip()
        if text.id in seen_ids or (key and key in seen_titles):
            continue
        seen_ids.add(text.id)
        seen_titles.add(key)
        text.abstract = text.abstract[:ABSTRACT_CHARS]
        kept.append(text)
    return kept


def load_inclusion_labels(path: Path) -> dict[str, int]:
    """The hand labels: `included` ids are 1, every other text of the set 0 (see the file's header)."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    labels = {str(i): 1 for i in data["included"]}
    labels.update({str(i): 0 for i in data.get("excluded", [])})
    return labels


def labelled_screening_set(corpus: Path, uk_cse_labels: Path, inclusion_labels: Path) -> list[tuple[ScreeningText, int]]:
    """Each text of the set with its inclusion label (1 relevant, 0 not)."""
    labels = load_inclusion_labels(inclusion_labels)
    return [(text, labels.get(text.id, 0)) for text in screening_texts(corpus, uk_cse_labels)]


def write_asreview_csv(rows: list[tuple[ScreeningText, int]], path: Path) -> Path:
    """Write the set as an ASReview dataset CSV (record_id, title, abstract, label_included, origin)."""
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["record_id", "title", "abstract", "label_included", "origin"])
        for text, label in rows:
            writer.writerow([text.id, text.title, text.abstract, label, text.origin])
    return path
