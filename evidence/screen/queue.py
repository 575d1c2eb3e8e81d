"""The screening queue: records to screen, most likely relevant first, and the curators' decisions on them.

`ScreeningSession` holds the pool (every record's title and opening), the decisions in curation.yaml and
the model; each decision is written to curation.yaml (who and when) and applied to the record at once, and
the model is retrained before the next record is chosen. With `dual`, a second curator screens records
another curator has decided, without seeing that decision: the model then learns from their own only.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func
from sqlalchemy import select as core_select
from sqlmodel import Session, col, select

from evidence.classify.taxonomy import Taxonomy, load_taxonomy
from evidence.config import ConfigError
from evidence.curation import Change, Curation, apply_change, find_record, save_curation
from evidence.models import Record
from evidence.screen.model import ModelSettings, RelevanceModel, estimate_left, model_text, recent_window, tie_key
from evidence.screen.rules import TO_SCREEN

log = logging.getLogger(__name__)


@dataclass
class QueueItem:
    """One record to screen, with what the model (or the rules) suggest and the words behind it."""

    record_id: str
    url: str
    title: str
    publisher: str | None
    published: str | None
    summary: str
    score: float  # the model's probability of relevance, or the rules' relevance before the model exists
    suggestion: str  # include | exclude | unsure
    words: list[str]
    rules_reason: str | None

    def as_dict(self) -> dict[str, Any]:
        """The JSON of `evidence screen --list --format json`."""
        return {"id": self.record_id, "url": self.url, "title": self.title, "publisher": self.publisher, "published": self.published,
                "score": round(self.score, 4), "suggestion": self.suggestion, "words": self.words, "rules_reason": self.rules_reason}


@dataclass
class QueueState:
    """The queue as it stands: its records in order, how it is ranked, and how many relevant ones may be left."""

    items: list[QueueItem]
    to_screen: int
    decisions: int
    includes: int
    ranked_by: str  # model | rules
    model: str
    estimated_left: float
    recent: tuple[int, int]  # includes among the latest decisions, how many decisions that is
    curator: str
    dual: bool = False

    def as_dict(self) -> dict[str, Any]:
        """The JSON of `evidence screen --list --format json`."""
        return {"to_screen": self.to_screen, "decisions": self.decisions, "includes": self.includes, "ranked_by": self.ranked_by,
                "model": self.model, "estimated_relevant_left": self.estimated_left, "recent": list(self.recent),
                "curator": self.curator, "dual": self.dual, "items": [i.as_dict() for i in self.items]}


@dataclass
class _Pooled:
    id: str
    url: str
    title: str
    publisher: str | None
    published: str | None
    summary: str
    inclusion: str | None
    rules: dict[str, Any] = field(default_factory=dict)


class ScreeningSession:
    """One curator's screening over a catalogue session and a curation file."""

    def __init__(self, session: Session, curation: Curation, curator: str, *, dual: bool = False,
                 settings: ModelSettings | None = None, taxonomy: Taxonomy | None = None):
        self.session, self.curation, self.curator, self.dual = session, curation, curator, dual
        self.settings = settings or ModelSettings()
        self.taxonomy = taxonomy or load_taxonomy()
        columns = (col(Record.id), col(Record.url), col(Record.title), col(Record.publisher), col(Record.published),
                   col(Record.summary), func.substr(col(Record.text), 1, 3000), col(Record.inclusion), col(Record.classification))
        rows = session.connection().execute(core_select(*columns).order_by(col(Record.id))).all()
        self.pool = [_Pooled(rid, url, title, publisher, published, summary or "", inclusion,
                             ((classification or {}).get("screening") or {}).get("rules") or {})
                     for rid, url, title, publisher, published, summary, _text, inclusion, classification in rows]
        texts = [model_text(r[2], r[5] or r[6]) for r in rows]
        self.ties = [tie_key(t) for t in texts]
        self.index = {p.url: i for i, p in enumerate(self.pool)}
        self.model = RelevanceModel(texts, self.settings)
        self.skipped: set[str] = set()

    # -- decisions -------------------------------------------------------------------------------------------------------

    def _decisions(self) -> list[tuple[int, int, str]]:
        """(pool index, 1 include / 0 exclude, when) of the decisions the model learns from."""
        out = []
        for url, correction in self.curation.corrections.items():
            if url not in self.index:
                continue
            if self.dual:
                mine = [d for d in correction.screen if d.by == self.curator]
                if mine:
                    out.append((self.index[url], int(mine[-1].decision == "include"), mine[-1].at or ""))
                continue
            decision, _ = correction.inclusion()
            if decision in ("include", "exclude"):
                when = max((d.at or "" for d in correction.screen), default=(correction.resolved.get("inclusion") or {}).get("at", ""))
                out.append((self.index[url], int(decision == "include"), when))
        return out

    def _in_queue(self, position: int, decided: set[int]) -> bool:
        pooled = self.pool[position]
        if position in decided or pooled.id in self.skipped:
            return False
        if self.dual:  # what the rules left to screen or another curator decided, and this curator has not
            correction = self.curation.for_url(pooled.url)
            return pooled.rules.get("decision") == TO_SCREEN or bool(correction and correction.screen)
        return pooled.inclusion == TO_SCREEN

    def state(self, limit: int | None = None) -> QueueState:
        """The queue now: the model retrained on the decisions so far (or the rules' relevance until there are enough)."""
        decisions = self._decisions()
        decided = {i for i, _, _ in decisions}
        positions = [i for i in range(len(self.pool)) if self._in_queue(i, decided)]
        trained = self.model.fit([i for i, _, _ in decisions], [label for _, label, _ in decisions])
        if trained:
            probabilities = self.model.probabilities()
            scores = {i: float(probabilities[i]) for i in positions}
        else:
            scores = {i: float(self.pool[i].rules.get("score") or 0.0) for i in positions}
        positions.sort(key=lambda i: (-scores[i], self.ties[i]))
        recent_labels = [label for _, label, _ in sorted(decisions, key=lambda d: d[2])][-recent_window(len(decisions)):]
        items = [self._item(i, scores[i], trained) for i in positions[: limit if limit is not None else len(positions)]]
        return QueueState(items=items, to_screen=len(positions), decisions=len(decisions), includes=sum(label for _, label, _ in decisions),
                          ranked_by="model" if trained else "rules", model=self.settings.describe(),
                          estimated_left=estimate_left(recent_labels, len(positions)) if decisions else float(len(positions)),
                          recent=(sum(recent_labels), len(recent_labels)), curator=self.curator, dual=self.dual)

    def _item(self, position: int, score: float, trained: bool) -> QueueItem:
        pooled = self.pool[position]
        if trained:
            suggestion = "include" if score >= 0.5 else "exclude"
            words = self.model.words(position, suggestion == "include")
        else:
            decision = pooled.rules.get("decision")
            suggestion = {"included": "include", "excluded": "exclude"}.get(str(decision), "unsure")
            phrases = pooled.rules.get("phrases") or {}
            words = [*phrases.get("topic", []), *phrases.get("related", []), *phrases.get("exclude", [])][:6]
        return QueueItem(record_id=pooled.id, url=pooled.url, title=pooled.title, publisher=pooled.publisher, published=pooled.published,
                         summary=pooled.summary, score=score, suggestion=suggestion, words=words, rules_reason=pooled.rules.get("reason"))

    def decide(self, refs: list[str], decision: str, reason: str | None = None, *, resolve: bool = False) -> list[Record]:
        """Record one decision on each record (by id, id prefix or URL)."""
        return self.decide_all([(ref, decision) for ref in refs], reason, resolve=resolve)

    def decide_all(self, decisions: list[tuple[str, str]], reason: str | None = None, *, resolve: bool = False) -> list[Record]:
        """Record (reference, include|exclude) decisions: every one is checked before any is written, then all in one save."""
        from evidence.curate import reapply

        if any(decision == "exclude" for _, decision in decisions) and not (reason and reason.strip()) and not resolve:
            raise ConfigError("--exclude needs --reason TEXT (why the record is outside the scope)")
        records = [find_record(self.session, ref) for ref, _ in decisions]
        for record, (_, decision) in zip(records, decisions, strict=True):
            apply_change(self.curation, record.url, Change(by=self.curator, screen=decision, reason=reason, resolve=resolve), self.taxonomy)
        save_curation(self.curation)
        for record in records:
            reapply(self.session, record, self.curation)
            if record.url in self.index:
                self.pool[self.index[record.url]].inclusion = record.inclusion
        self.session.commit()
        log.info("screened %d records by %s", len(records), self.curator)
        return records

    def skip(self, record_id: str) -> None:
        """Leave a record for later in this session."""
        self.skipped.add(record_id)



def catalogue_labels(session: Session, curation: Curation) -> list[Any]:
    """The curators' decisions as labelled records (the rules' relevance as their prior), for `screen simulate --from-catalogue`."""
    from evidence.screen.simulate import LabelledRecord

    decided = {}
    for url, correction in curation.corrections.items():
        decision, _ = correction.inclusion()
        if decision in ("include", "exclude"):
            decided[url] = int(decision == "include")
    out = []
    if decided:
        for record in session.exec(select(Record).where(col(Record.url).in_(list(decided))).order_by(col(Record.id))).all():
            rules = ((record.classification or {}).get("screening") or {}).get("rules") or {}
            out.append(LabelledRecord(record.title, record.summary or (record.text or "")[:3000], decided[record.url],
                                      float(rules.get("score") or 0.0)))
    return out
