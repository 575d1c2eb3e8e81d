"""Screening: each record against the inclusion criteria, the curators' decisions over them, and a queue that learns.

    rules.py      the scope's rules: included, excluded (with the reason) or to screen
    model.py      TF-IDF and logistic regression (scikit-learn), retrained from the curators' decisions
    queue.py      the records to screen, most likely relevant first; decisions written to curation.yaml
    simulate.py   replaying screening over labelled records: WSS@95, recall after 10% and 25%, a recall curve
    dataset.py    the benchmark: the project's labelled texts plus off-topic ones (from ../shared at run time)

`screen_record` is what harvest and reclassify call after classification: the rules' verdict is kept in
record.classification["screening"]["rules"], and a curator's decision, when there is one, always wins.
"""
from __future__ import annotations

from typing import Any

from evidence.config import Scope
from evidence.curation import Correction
from evidence.models import Record
from evidence.screen.rules import EXCLUDED, INCLUDED, TO_SCREEN, Verdict, screen_fields

__all__ = ["EXCLUDED", "INCLUDED", "TO_SCREEN", "Verdict", "screen_record"]


def screen_record(record: Record, scope: Scope | None, correction: Correction | None, previous: dict[str, Any] | None = None,
                  verdict: dict[str, Any] | None = None) -> None:
    """Set record.inclusion and inclusion_reason: the curators' decision if any, else the scope's rules.

    With no scope (a command that does not read sources.yaml, such as `evidence curate`), the rules'
    verdict from the last harvest or reclassify (`previous`) is kept; without one the default scope applies.
    `verdict` is the scope's verdict on these very fields when it is known already (screened ahead, classify/ahead.py).
    """
    rules = (previous or {}).get("rules") if scope is None else verdict
    if not isinstance(rules, dict) or "decision" not in rules:
        rules = screen_fields(scope or Scope(), record.title, record.summary, record.text, record.doc_type, record.published).as_dict()
    decision, why = correction.inclusion() if correction is not None else (None, "")
    curator = None
    if decision == "include":
        record.inclusion, record.inclusion_reason = INCLUDED, why
        curator = {"decision": decision, "reason": why}
    elif decision == "exclude":
        record.inclusion, record.inclusion_reason = EXCLUDED, why
        curator = {"decision": decision, "reason": why}
    elif decision == "conflict":
        record.inclusion, record.inclusion_reason = TO_SCREEN, why
        curator = {"decision": decision, "reason": why}
    else:
        record.inclusion, record.inclusion_reason = rules["decision"], rules["reason"]
    record.classification = {**(record.classification or {}), "screening": {"rules": rules, "curator": curator}}
