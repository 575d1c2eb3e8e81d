"""The hand-labelled set the classifier is measured on: labels are valid, texts are found, figures hold."""
from __future__ import annotations

import json

import pytest
import yaml
from conftest import ROOT, SHARED

from evidence.classify import classify
from evidence.classify.design import DIRECTIONS, EVIDENCE_LEVELS
from evidence.classify.taxonomy import load_taxonomy
from evidence.labelled import UK_CSE, labelled_set

LABELS = ROOT / "tests" / "fixtures" / "labels" / "uk_cse.yaml"
pytestmark = pytest.mark.skipif(not (SHARED / UK_CSE).exists(),
                                reason=f"{SHARED / UK_CSE} is missing (../shared/corpus is beside the checkout in CI)")


def test_every_label_names_a_real_document_and_known_ids():
    taxonomy = load_taxonomy()
    index = {e["doc_id"] for e in json.loads((SHARED / UK_CSE / "search_index.json").read_text(encoding="utf-8"))}
    labels = yaml.safe_load(LABELS.read_text(encoding="utf-8"))
    assert len(labels) >= 40
    assert len({label["id"] for label in labels}) == len(labels), "a document is labelled twice"
    for label in labels:
        assert label["id"] in index, label["id"]
        assert label["text"] in ("full", "excerpt")
        assert label.get("split", "hash") in ("hash", "tuning")
        assert label.get("study_design", "unclear") in EVIDENCE_LEVELS
        assert label.get("direction", "unclear") in DIRECTIONS
        for key, kind in (("interventions", "interventions"), ("outcomes", "outcomes")):
            assert set(label.get(key, [])) <= set(taxonomy.ids(kind)), (label["id"], key)


@pytest.fixture(scope="module")
def uk_cse_items():
    items = [i for i in labelled_set(SHARED, LABELS) if i.origin == "uk_cse"]
    assert len(items) == len(yaml.safe_load(LABELS.read_text(encoding="utf-8")))
    return items


def test_full_texts_are_read_from_the_shared_parquet_without_chunk_overlaps(uk_cse_items):
    transitions = next(i for i in uk_cse_items if i.id == "uk_cse:07eef5fbf069ed5d")
    assert transitions.text.startswith("Ca1989 Transitions Guidance\n\n1 The Children Act 1989 guidance and regulations Volume 3")
    assert 4000 < len(transitions.text) <= 5100
    assert transitions.text.count("Supported lodgings 69") <= 1  # the 150-character chunk overlaps are removed


def test_labels_marked_for_tuning_are_never_held_out(uk_cse_items):
    tuning = {label["id"] for label in yaml.safe_load(LABELS.read_text(encoding="utf-8")) if label.get("split") == "tuning"}
    assert len(tuning) >= 30
    assert all(not i.held_out for i in uk_cse_items if i.id.removeprefix("uk_cse:") in tuning)
    assert sum(i.held_out for i in uk_cse_items) >= 46  # the 46 measured in sessions 2 and 3, and the hash-split labels added since


def test_held_out_figures_do_not_fall_below_what_was_reported(uk_cse_items):
    """A regression guard on the held-out hand labels (bench/accuracy.py reports the full figures)."""
    held = [i for i in uk_cse_items if i.held_out]
    designs = directions = interventions_tp = interventions_all = 0
    n_design = n_direction = 0
    for item in held:
        result = classify(item.text, title=item.title)
        if item.study_design:
            n_design += 1
            designs += result.study_design == item.study_design
        if item.direction:
            n_direction += 1
            directions += result.direction == item.direction
        if item.interventions is not None:
            found = {t.id for t in result.interventions}
            interventions_tp += len(found & item.interventions)
            interventions_all += len(found) + len(item.interventions)
    assert designs / n_design >= 0.80  # 0.83 reported in session 3
    assert directions / n_direction >= 0.85
    assert 2 * interventions_tp / interventions_all >= 0.65  # micro-F1
