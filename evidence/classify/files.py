"""Classify a file from disk (.txt, .html, .pdf): what `evidence classify FILE` does."""
from __future__ import annotations

from pathlib import Path

from evidence.classify import Classification, classify
from evidence.config import ConfigError
from evidence.extract import PdfError, html_candidate, pdf_candidate, text_candidate

MAX_FILE_BYTES = 50_000_000


def classify_file(path: Path) -> Classification:
    """Read a file by its kind and classify its text; an unreadable file is a one-line ConfigError."""
    try:
        data = path.read_bytes()[: MAX_FILE_BYTES + 1]
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read ({exc.strerror})") from None
    if len(data) > MAX_FILE_BYTES:
        raise ConfigError(f"{path}: larger than {MAX_FILE_BYTES} bytes")
    suffix = path.suffix.lower()
    url = path.resolve().as_uri()
    try:
        if suffix == ".pdf" or data[:5] == b"%PDF-":
            candidate = pdf_candidate(data, url)
        elif suffix in (".html", ".htm", ".xhtml") or data.lstrip()[:1] == b"<":
            candidate = html_candidate(data, url)
        else:
            candidate = text_candidate(data.decode("utf-8", errors="replace"), url)
    except PdfError as exc:
        raise ConfigError(f"{path}: {exc}") from None
    result = classify(candidate.text or candidate.summary, title=candidate.title, doc_type=candidate.doc_type)
    if candidate.money:
        result.money = candidate.money
    if candidate.sample_size:
        result.sample_size = candidate.sample_size
    return result


def describe(result: Classification) -> str:
    """A plain-text account of a classification, for people rather than programs."""
    level = "off the scale" if result.evidence_level is None else f"level {result.evidence_level}"
    lines = [f"Study design: {result.study_design} ({level}), confidence {result.confidence:.2f}",
             f"  why: {', '.join(r['phrase'] for r in result.rationale) or '-'}",
             f"Direction of findings: {result.direction}" + (f" ({result.direction_reason})" if result.direction_reason else ""),
             f"  why: {', '.join(repr(r['phrase']) for r in result.direction_rationale) or '-'}"]
    if result.decided_by:
        lines.insert(1, f"  genre decided by metadata: {result.decided_by['field']} = {result.decided_by['value']}")
    if result.ongoing:
        lines.insert(1, "  ongoing: a protocol or registration without results (off the evidence scale)")
    if result.covers_design:
        lines.insert(1, f"  covers a study of design: {result.covers_design}")
    for kind in ("interventions", "outcomes", "populations"):
        tags = result.tags(kind)
        lines.append(f"{kind.capitalize()}: {len(tags) or 'none'}")
        for tag in tags:
            direction = f" [{tag.direction}]" if tag.direction else ""
            lines.append(f"  {tag.id}{direction} ({tag.confidence:.2f}): {', '.join(e['phrase'] for e in tag.evidence)}")
    lines.append(f"Pairs (intervention -> outcome): {len(result.pairs) or 'none'}")
    for pair in result.pairs:
        because = f"; because: {', '.join(repr(p) for p in pair.direction_evidence)}" if pair.direction_evidence else ""
        lines.append(f"  {pair.intervention} -> {pair.outcome}: {pair.direction} ({pair.basis}, {pair.confidence:.2f}){because}")
    return "\n".join(lines)
