"""The genre of a record from its source's own metadata, before its text is read.

As extraction takes titles and dates from structured metadata first, the classifier takes the kind of
document from what the source says it is: GOV.UK's `document_type`, Europe PMC and PubMed publication
types, NICE product types, a trial registry's design fields, page metadata (JSON-LD `@type`, `og:type`,
`citation_*`), the source's `doc_type` and a news publisher. The metadata decides the genre (news, guidance,
a study of some design); the text decides the design within a study genre. `decided_by` says which field did.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

NEWS = "commentary_or_news"
GUIDANCE = "guidance"

# GOV.UK document types (https://docs.publishing.service.gov.uk/document-types/): the genre each states.
# "study": a report of research whose design the text decides; "statistics": observational data.
GOVUK_GENRES: dict[str, str] = {
    **dict.fromkeys(("news_story", "press_release", "speech", "oral_statement", "written_statement", "authored_article",
                     "news_article", "correspondence", "government_response", "world_news_story", "fatality_notice"), NEWS),
    **dict.fromkeys(("guidance", "statutory_guidance", "detailed_guide", "policy_paper", "regulation", "notice", "form",
                     "promotional", "open_consultation", "closed_consultation", "consultation_outcome", "impact_assessment",
                     "transparency", "foi_release", "corporate_report", "decision", "guide", "manual", "answer",
                     "call_for_evidence", "map", "international_treaty"), GUIDANCE),
    **dict.fromkeys(("research", "independent_report", "evaluation"), "study"),
    **dict.fromkeys(("official_statistics", "national_statistics", "statistical_data_set", "statistics_announcement",
                     "official_statistics_announcement", "national_statistics_announcement"), "statistics"),
}
# Publication types (PubMed, Europe PMC), strongest first. A narrative "Review" gives advice or a summary, not a
# systematic search (the conventions: non-systematic reviews are guidance).
PUB_TYPE_GENRES: list[tuple[frozenset[str], str]] = [
    (frozenset({"study protocol", "clinical trial protocol", "protocol"}), "protocol"),
    (frozenset({"systematic review", "meta-analysis", "systematic-review"}), "systematic_review"),
    (frozenset({"randomized controlled trial", "randomised controlled trial", "pragmatic clinical trial",
                "equivalence trial", "adaptive clinical trial"}), "rct"),
    (frozenset({"practice guideline", "guideline", "consensus development conference", "consensus development conference, nih"}), GUIDANCE),
    (frozenset({"news", "editorial", "comment", "letter", "newspaper article", "interview", "biography", "portrait"}), NEWS),
    (frozenset({"observational study", "twin study", "validation study"}), "pre_post_or_observational"),
    (frozenset({"case reports"}), "qualitative"),
    (frozenset({"review", "review-article", "scientific integrity review"}), "review"),
    (frozenset({"journal article", "research-article", "clinical trial", "comparative study", "evaluation study",
                "multicenter study", "research support, non-u.s. gov't"}), "study"),
]
# NICE product types: guidance of one kind or another (evidence summaries included: non-systematic summaries).
NICE_GUIDANCE_WORDS = ("guideline", "guidance", "quality standard", "advice", "evidence summar", "briefing", "pathway")
JSON_LD_GENRES: dict[str, str] = {
    **dict.fromkeys(("newsarticle", "reportagenewsarticle", "blogposting", "opinionnewsarticle", "analysisnewsarticle",
                     "backgroundnewsarticle", "liveblogposting", "socialmediaposting", "podcastepisode"), NEWS),
    **dict.fromkeys(("guideline", "medicalguideline", "medicalguidelinerecommendation", "howto", "governmentpermit"), GUIDANCE),
    **dict.fromkeys(("scholarlyarticle", "medicalscholarlyarticle", "report", "thesis"), "study"),
    **dict.fromkeys(("dataset",), "statistics"),
}
NEWS_DOC_TYPES = {"news", "blog", "press_release", "comment", "editorial", "letter", "interview", "speech", "podcast"}
GUIDANCE_DOC_TYPES = {"guideline", "guidance", "evidence_summary", "policy", "statutory_guidance", "quality_standard",
                      "consultation", "form", "promotional", "transparency", "foi_release"}
STUDY_DOC_TYPES = {"research_report", "journal_article", "evaluation", "thesis", "preprint"}
STATISTICS_DOC_TYPES = {"statistics", "dataset"}
NEWS_PUBLISHERS = {"cyp now", "community care", "the guardian", "sciencedaily", "bbc news", "the independent",
                   "children & young people now", "bbc", "sky news", "the times", "the telegraph", "inews", "the conversation"}
REGISTRY_ONGOING_STATUSES = {"not yet recruiting", "recruiting", "enrolling by invitation", "active, not recruiting",
                             "active not recruiting"}


@dataclass(frozen=True)
class Genre:
    """What the metadata says a record is: a design it fixes, or a genre whose design the text decides."""

    kind: str  # a design id, or "study", "statistics", "review", "protocol"
    field: str
    value: str
    ongoing: bool = False

    @property
    def design(self) -> str | None:
        """The design the metadata fixes (None: the text decides)."""
        return None if self.kind in ("study", "statistics", "review", "protocol") else self.kind

    def decided_by(self) -> dict[str, str]:
        """The record's `decided_by`: which metadata field, with which value, decided the genre."""
        return {"field": self.field, "value": self.value}


def _registry(meta: Mapping[str, Any]) -> Genre | None:
    """A trial registry's design fields (ClinicalTrials.gov: study type, allocation, intervention model)."""
    study_type = str(meta.get("study_type") or "").strip().lower()
    allocation = str(meta.get("allocation") or "").strip().lower()
    model = str(meta.get("intervention_model") or meta.get("observational_model") or "").strip().lower()
    if not (study_type or allocation):
        return None
    status = str(meta.get("overall_status") or "").strip().lower()
    has_results = meta.get("has_results")
    ongoing = bool(has_results is False or (has_results is None and status in REGISTRY_ONGOING_STATUSES))
    if allocation == "randomized":
        return Genre("rct", "allocation", str(meta.get("allocation")), ongoing)
    if allocation in ("non-randomized", "nonrandomized") and "parallel" in model:
        return Genre("quasi_experimental", "allocation", str(meta.get("allocation")), ongoing)
    if "single group" in model:
        return Genre("pre_post_or_observational", "intervention_model", str(meta.get("intervention_model")), ongoing)
    if study_type == "observational":
        return Genre("pre_post_or_observational", "study_type", str(meta.get("study_type")), ongoing)
    return Genre("protocol" if ongoing else "study", "study_type", str(meta.get("study_type") or meta.get("allocation")), ongoing)


def _listed(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, (list, tuple, set)):
        return [str(v) for v in value if v]
    return []


def genre_of(metadata: Mapping[str, Any] | None = None, *, doc_type: str | None = None, publisher: str | None = None,
             pub_types: list[str] | None = None) -> Genre | None:
    """The genre the metadata states, most specific source first; None when it states none."""
    meta: Mapping[str, Any] = metadata or {}
    registry = _registry(meta)
    if registry:
        return registry
    types = _listed(pub_types) or _listed(meta.get("pub_types"))
    if types:
        lowered = {t.strip().lower() for t in types}
        for names, kind in PUB_TYPE_GENRES:
            hit = sorted(lowered & names)
            if hit:
                value = next(t for t in types if t.strip().lower() == hit[0])
                return Genre(kind, "pub_types", value, kind == "protocol")
    nice = _listed(meta.get("nice_types"))
    for kind in nice:
        if any(word in kind.lower() for word in NICE_GUIDANCE_WORDS):
            return Genre(GUIDANCE, "nice_types", kind)
    govuk = str(meta.get("govuk_document_type") or "").strip().lower()
    if govuk in GOVUK_GENRES:
        return Genre(GOVUK_GENRES[govuk], "govuk_document_type", govuk)
    json_ld = str(meta.get("json_ld_type") or meta.get("jsonld_type") or "").strip()
    if json_ld.lower() in JSON_LD_GENRES:
        return Genre(JSON_LD_GENRES[json_ld.lower()], "json_ld_type", json_ld)
    if meta.get("citation_journal_title") or meta.get("citation_doi"):
        return Genre("study", "citation_journal_title", str(meta.get("citation_journal_title") or meta.get("citation_doi")))
    og_type = str(meta.get("og_type") or "").strip().lower()
    news_publisher = bool(publisher and publisher.strip().lower() in NEWS_PUBLISHERS)
    if og_type == "article" and news_publisher:
        return Genre(NEWS, "og_type", og_type)
    kind = (doc_type or "").strip().lower()
    if kind in NEWS_DOC_TYPES:
        return Genre(NEWS, "doc_type", kind)
    if kind in GUIDANCE_DOC_TYPES:
        return Genre(GUIDANCE, "doc_type", kind)
    if kind in STATISTICS_DOC_TYPES:
        return Genre("statistics", "doc_type", kind)
    if kind in STUDY_DOC_TYPES:
        return Genre("study", "doc_type", kind)
    if news_publisher and not kind:
        return Genre(NEWS, "publisher", str(publisher))
    return None
