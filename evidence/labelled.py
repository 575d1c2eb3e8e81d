"""The labelled set the classifier is measured on: real texts with labels given by others.

Read at run time from ../shared/corpus (never copied into the project):
- PubMed records (peer/pubmed): study design from the NLM indexers' publication types and MeSH
  design headings; records whose types say nothing about design ("Journal Article" only) are left out.
- ClinicalTrials.gov registrations (peer/pubmed/aact_clinicaltrials_xml): design from the
  registrants' allocation, intervention model and observational model fields.
- Europe PMC `core` results (samples/europepmc): design from their publication types.
- The seed documents (seeds/labels.yaml): every field, labelled by hand.
- UK children's social care publications (peer/uk_cse): design, direction, interventions and
  outcomes labelled by hand in tests/fixtures/labels/uk_cse.yaml, each field only where the text
  lets a reader tell (the texts stay in ../shared; full texts are read with pyarrow).
- Real GOV.UK content items, feed entries and PDFs (real/, samples/guardian-rss): labelled by hand in
  govuk_real.yaml, feeds_real.yaml and pdfs_real.yaml beside uk_cse.yaml, each text built by the
  project's own harvester code exactly as a harvest would present it (title, description, body).
Every hand label follows evidence/classify/CONVENTIONS.md.
A stable hash of each item's id splits the set: about 30% may be looked at while tuning the
rules, the rest is held out and only measured. Items labelled later for tuning (`split: tuning`)
are never held out, so the held-out part stays the one measured before.
"""
from __future__ import annotations

import gzip
import hashlib
import json
import re
import xml.etree.ElementTree as ET  # noqa: S405 - files of a fixed, trusted corpus
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import yaml


@dataclass
class LabelledText:
    """One text and what it should be classified as (None: not labelled for that field)."""

    id: str
    origin: str
    text: str
    title: str | None = None
    study_design: str | None = None
    direction: str | None = None
    interventions: set[str] | None = None
    outcomes: set[str] | None = None
    doc_type: str | None = None
    publisher: str | None = None
    extra: dict[str, str] = field(default_factory=dict)
    tuning_only: bool = False  # labelled later, for tuning: never in the held-out part
    covers_design: str | None = None  # news and commentary: the design of the study covered
    ongoing: bool | None = None  # a protocol, registration or planned study without results
    pairs: dict[tuple[str, str], str] | None = None  # (intervention, outcome) -> that pair's direction
    metadata: dict[str, Any] = field(default_factory=dict)  # what a harvester would hand the classifier (pub types, registry fields)

    @property
    def held_out(self) -> bool:
        """True for the part never used while tuning."""
        return not self.tuning_only and int(hashlib.sha1(self.id.encode()).hexdigest(), 16) % 10 >= 3


# Publication types (and MeSH headings) that state a design, strongest first.
PUBTYPE_DESIGN = [
    ({"systematic review", "meta-analysis"}, "systematic_review"),
    ({"randomized controlled trial", "randomized controlled trial, veterinary"}, "rct"),
    ({"controlled clinical trial", "non-randomized controlled trials as topic"}, "quasi_experimental"),
    ({"observational study", "cohort studies", "case-control studies", "cross-sectional studies", "prospective studies",
      "retrospective studies", "longitudinal studies", "comparative study", "twin study", "validation study"}, "pre_post_or_observational"),
    ({"qualitative research", "case reports", "interview", "focus groups"}, "qualitative"),
    ({"practice guideline", "guideline", "consensus development conference", "review"}, "guidance"),
    ({"news", "editorial", "comment", "letter", "newspaper article"}, "commentary_or_news"),
]


def design_from_types(types: set[str]) -> str | None:
    """The design a set of publication types states, or None."""
    lowered = {t.lower() for t in types}
    for names, design in PUBTYPE_DESIGN:
        if lowered & names:
            return design
    return None


def _pubmed_articles(path: Path) -> Iterator[ET.Element]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as handle:
        data = handle.read()
    try:
        root = ET.fromstring(data)  # noqa: S314
    except ET.ParseError:
        return
    yield from root.iter("PubmedArticle")


def pubmed(corpus: Path) -> Iterator[LabelledText]:
    """PubMed records with an abstract and a design-stating publication type or MeSH heading."""
    root = corpus / "peer" / "pubmed"
    seen: set[str] = set()
    for path in sorted(root.rglob("*.xml")) + sorted(root.rglob("*.xml.gz")):
        if "aact" in path.parts[-2]:
            continue
        for article in _pubmed_articles(path):
            pmid = (article.findtext(".//PMID") or "").strip()
            title_element = article.find(".//ArticleTitle")
            title = " ".join("".join(title_element.itertext()).split()) if title_element is not None else ""
            abstract = " ".join(" ".join("".join(a.itertext()).split()) for a in article.iter("AbstractText"))
            if not pmid or pmid in seen or len(abstract) < 200:
                continue
            pub_types = sorted({(t.text or "").strip() for t in article.iter("PublicationType")} - {""})
            types = set(pub_types) | {(d.text or "").strip() for d in article.iter("DescriptorName")}
            design = design_from_types(types)
            if design is None:
                continue
            seen.add(pmid)
            yield LabelledText(id=f"pmid:{pmid}", origin="pubmed", text=f"{title}\n\n{abstract}", title=title, study_design=design,
                               extra={"types": "; ".join(sorted(t for t in types if t))[:300]}, metadata={"pub_types": pub_types})


def clinical_trials(corpus: Path) -> Iterator[LabelledText]:
    """ClinicalTrials.gov registrations, with the design the registrant declared."""
    folder = corpus / "peer" / "pubmed" / "aact_clinicaltrials_xml"
    labels_path = folder / "design_labels.json"
    if not labels_path.exists():
        return
    for label in json.loads(labels_path.read_text(encoding="utf-8")):
        path = folder / label["file"]
        if not path.exists():
            continue
        try:
            root = ET.fromstring(path.read_bytes())  # noqa: S314
        except ET.ParseError:
            continue
        title = " ".join((root.findtext("brief_title") or "").split())
        summary = " ".join((root.findtext("brief_summary/textblock") or "").split())
        detail = " ".join((root.findtext("detailed_description/textblock") or "").split())
        design = None
        if label["study_type"] == "Interventional":
            if label["allocation"] == "Randomized":
                design = "rct"
            elif label["allocation"] == "Non-Randomized" and "Parallel" in label["intervention_model"]:
                design = "quasi_experimental"
            elif label["intervention_model"] == "Single Group Assignment":
                design = "pre_post_or_observational"
        elif label["study_type"] == "Observational" and label["observational_model"]:
            design = "pre_post_or_observational"
        if design and len(summary) >= 100:
            yield LabelledText(id=label["nct_id"], origin="clinicaltrials.gov", text=f"{title}\n\n{summary}\n\n{detail}"[:6000],
                               title=title, study_design=design,
                               extra={"allocation": label["allocation"], "model": label["intervention_model"] or label["observational_model"]},
                               metadata={"study_type": label["study_type"], "allocation": label["allocation"],
                                         "intervention_model": label["intervention_model"], "observational_model": label["observational_model"],
                                         "overall_status": root.findtext("overall_status") or "",
                                         "has_results": root.find("clinical_results") is not None})


def europepmc(corpus: Path) -> Iterator[LabelledText]:
    """Europe PMC core results with an abstract and design-stating publication types."""
    path = corpus / "samples" / "europepmc" / "search_cancer_core.json"
    if not path.exists():
        return
    for result in json.loads(path.read_text(encoding="utf-8"))["resultList"]["result"]:
        abstract = re.sub(r"<[^>]+>", " ", result.get("abstractText") or "")
        types = set((result.get("pubTypeList") or {}).get("pubType") or [])
        types = {"Review" if t == "review-article" else t for t in types}
        design = design_from_types(types)
        if design and len(abstract) >= 200:
            title = result.get("title") or ""
            yield LabelledText(id=f"epmc:{result.get('id')}", origin="europepmc", text=f"{title}\n\n{' '.join(abstract.split())}",
                               title=title, study_design=design, extra={"types": "; ".join(sorted(types))},
                               metadata={"pub_types": sorted((result.get("pubTypeList") or {}).get("pubType") or [])})


def seeds(corpus: Path) -> Iterator[LabelledText]:
    """The seed documents' items, labelled by hand in seeds/labels.yaml (the development set)."""
    labels_path = corpus / "seeds" / "labels.yaml"
    if not labels_path.exists():
        return
    for entry in yaml.safe_load(labels_path.read_text(encoding="utf-8")):
        text = (corpus / "seeds" / entry["file"]).read_text(encoding="utf-8")
        if len(entry["items"]) > 1:
            continue  # the digest page is measured through the harvester, item by item (tests/test_seeds.py)
        item = entry["items"][0]
        yield LabelledText(id=f"seed:{entry['file']}", origin="seed", text=text, title=item["title"], study_design=item["study_design"],
                           direction=item["direction"], interventions=set(item["interventions"]), outcomes=set(item["outcomes"]),
                           doc_type="news" if item.get("doc_type") == "news" else None, publisher=item.get("publisher"))


UK_CSE = Path("peer") / "uk_cse" / "csc_map_of_the_world" / "docs" / "data"
FULL_TEXT_CHARS = 5000


def _uk_cse_full_texts(folder: Path, wanted: set[str]) -> dict[str, str]:
    """doc_id -> the document's text, chunks joined with their overlaps removed."""
    import pyarrow.parquet as pq  # only the labelled set needs it (a test dependency)

    state = json.loads((folder / "csc_artifacts" / "state.json").read_text(encoding="utf-8"))
    overlap = int(state.get("chunk_overlap", 0))
    rows = pq.read_table(folder / "csc_artifacts" / "motw_chunks.parquet", columns=["doc_id", "chunk_id", "text"]).to_pylist()
    chunks: dict[str, list[tuple[int, str]]] = {}
    for row in rows:
        if row["doc_id"] in wanted:
            chunks.setdefault(row["doc_id"], []).append((row["chunk_id"], row["text"] or ""))
    texts = {}
    for doc_id, parts in chunks.items():
        parts.sort()
        texts[doc_id] = parts[0][1] + "".join(text[overlap:] for _, text in parts[1:])
    return texts


def _uk_cse_title(name: str) -> str:
    """The index's name without the other project's folder prefix ("Category  Title")."""
    return " ".join(name.split("  ")[-1].replace("-", " ").split())


def uk_cse(corpus: Path, labels_path: Path) -> Iterator[LabelledText]:
    """Real UK children's social care publications with hand labels (tests/fixtures/labels/uk_cse.yaml)."""
    folder = corpus / UK_CSE
    if not folder.exists() or not labels_path.exists():
        return
    labels = yaml.safe_load(labels_path.read_text(encoding="utf-8"))
    index = {entry["doc_id"]: entry for entry in json.loads((folder / "search_index.json").read_text(encoding="utf-8"))}
    full = _uk_cse_full_texts(folder, {label["id"] for label in labels if label["text"] == "full"})
    for label in labels:
        entry = index[label["id"]]
        title = _uk_cse_title(entry["name"])
        body = full[label["id"]][:FULL_TEXT_CHARS] if label["text"] == "full" else entry["excerpt"]
        yield LabelledText(id=f"uk_cse:{label['id']}", origin="uk_cse", text=f"{title}\n\n{' '.join(body.split())}", title=title,
                           **hand_fields(label))


def hand_fields(label: dict[str, Any]) -> dict[str, Any]:
    """The hand-labelled fields of one label entry as LabelledText arguments (None: not labelled)."""
    tags = {key: set(label[key]) if key in label else None for key in ("interventions", "outcomes")}
    pairs = {(pair["intervention"], pair["outcome"]): pair["direction"] for pair in label["pairs"]} if "pairs" in label else None
    ongoing = bool(label["ongoing"]) if "ongoing" in label else (False if "study_design" in label else None)
    return {"study_design": label.get("study_design"), "direction": label.get("direction"), "covers_design": label.get("covers_design"),
            "ongoing": ongoing, "interventions": tags["interventions"], "outcomes": tags["outcomes"], "pairs": pairs,
            "extra": {"note": str(label.get("note", ""))}, "tuning_only": label.get("split") == "tuning"}


def _hand_labels(labels_path: Path) -> list[dict[str, Any]]:
    return yaml.safe_load(labels_path.read_text(encoding="utf-8")) or []


def _checked_title(labels_path: Path, label: dict[str, Any], title: str) -> None:
    """A label names its text's title, so a changed recording or harvester cannot silently relabel another text."""
    if " ".join(str(label.get("title", "")).split()) != " ".join(title.split()):
        raise ValueError(f"{labels_path.name}: {label['file']}: the text's title is {title!r}, the label says {label.get('title')!r}")


def govuk_real(corpus: Path, labels_path: Path) -> Iterator[LabelledText]:
    """Real GOV.UK content items (real/govuk-content*), each as the GOV.UK harvester presents it."""
    from evidence.harvesters.govuk import from_content

    for label in _hand_labels(labels_path):
        path = corpus / label["file"]
        if not path.exists():
            continue
        candidate = from_content(json.loads(path.read_text(encoding="utf-8")))
        _checked_title(labels_path, label, candidate.title)
        extra = {"govuk_document_type": str(candidate.extra.get("govuk_document_type", ""))}
        fields = hand_fields(label)
        fields["extra"] = {**extra, **fields["extra"]}
        yield LabelledText(id=f"govuk:{'/'.join(Path(label['file']).parts[-2:])}", origin="govuk", text=candidate.text,
                           title=candidate.title, doc_type=candidate.doc_type, publisher=candidate.publisher,
                           metadata=dict(candidate.extra), **fields)


def feeds_real(corpus: Path, labels_path: Path) -> Iterator[LabelledText]:
    """Real feed entries (real/feeds, samples/guardian-rss), each as the feed harvester presents it; keyed by file and title."""
    from evidence.config import Source
    from evidence.fetch import Fetcher, Response
    from evidence.harvesters import feed
    from evidence.models import Candidate

    by_file: dict[str, list[Candidate]] = {}
    for label in _hand_labels(labels_path):
        path = corpus / label["file"]
        if not path.exists():
            continue
        if label["file"] not in by_file:
            url = f"https://feeds.invalid/{path.name}"
            source = Source(id="labelled", name=path.name, kind="feed", url=url, detail=False)
            response = Response(url=url, status=200, headers={"content-type": "application/xml"}, body=path.read_bytes())
            # detail=False: the harvester reads each entry from the feed itself and never fetches
            by_file[label["file"]] = [c for c in feed.entries(source, cast(Fetcher, None), response) if isinstance(c, Candidate)]
        wanted = " ".join(str(label.get("title", "")).split())
        found = [c for c in by_file[label["file"]] if " ".join(c.title.split()) == wanted]
        if len(found) != 1:
            raise ValueError(f"{labels_path.name}: {label['file']}: {len(found)} entries titled {wanted!r}")
        candidate = found[0]
        yield LabelledText(id=f"feed:{path.name}#{candidate.url}", origin="feed", text=candidate.text, title=candidate.title,
                           doc_type=candidate.doc_type, publisher=candidate.publisher, metadata=dict(candidate.extra), **hand_fields(label))


def pdfs_real(corpus: Path, labels_path: Path) -> Iterator[LabelledText]:
    """Real PDFs (real/pdfs), each as the PDF harvester presents it."""
    from evidence.extract import pdf_candidate

    for label in _hand_labels(labels_path):
        path = corpus / label["file"]
        if not path.exists():
            continue
        candidate = pdf_candidate(path.read_bytes(), f"https://pdfs.invalid/{path.name}")
        _checked_title(labels_path, label, candidate.title)
        yield LabelledText(id=f"pdf:{path.name}", origin="pdf", text=candidate.text, title=candidate.title,
                           doc_type=candidate.doc_type, publisher=candidate.publisher, metadata=dict(candidate.extra), **hand_fields(label))


# Hand label files read from the folder of uk_cse.yaml, and the loader of each.
HAND_LABEL_FILES = {"govuk_real.yaml": govuk_real, "feeds_real.yaml": feeds_real, "pdfs_real.yaml": pdfs_real}


def hand_labelled(corpus: Path, folder: Path) -> Iterator[LabelledText]:
    """The texts of every hand label file in `folder` besides uk_cse.yaml (none when ../shared is absent)."""
    for name, loader in HAND_LABEL_FILES.items():
        if (folder / name).exists():
            yield from loader(corpus, folder / name)


def labelled_set(corpus: Path, uk_cse_labels: Path | None = None) -> list[LabelledText]:
    """Every labelled text available under `corpus` (../shared/corpus); hand label files are read beside `uk_cse_labels`."""
    hand = [*uk_cse(corpus, uk_cse_labels), *hand_labelled(corpus, uk_cse_labels.parent)] if uk_cse_labels else []
    return [*seeds(corpus), *hand, *pubmed(corpus), *clinical_trials(corpus), *europepmc(corpus)]


def classify_item(item: LabelledText, *, metadata: bool = True, learned: bool = True) -> Any:
    """Classify a labelled text as a harvest would: its doc_type, publisher and (with `metadata`) the source's metadata."""
    from evidence.classify import classify

    return classify(item.text, title=item.title, doc_type=item.doc_type if metadata else None,
                    publisher=item.publisher if metadata else None, metadata=item.metadata if metadata else None, learned=learned)
