"""The learned layer: a calibrated linear model over the rules' cues, kept as JSON, retrained from curation."""
from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from evidence.classify import classify
from evidence.classify import train as training
from evidence.classify.model import MODEL_PATH, Calibration, DesignModel, load_model, may_overrule
from evidence.cli import cli


def _example(i: int, design: str, words: str) -> training.Example:
    """A text the rules guessed to be guidance (as they do for texts naming no method); its words tell the truth."""
    return training.Example(f"x:{design}:{i}", ["rule=guidance", "rule_conf>=0.3", *(f"w:{w}" for w in words.split())], "guidance", design)


GUIDANCE, REPORT = "should must statutory", "findings report research"


def _synthetic(n: int = 60) -> list[training.Example]:
    """Texts whose words tell the design, so a fitted model must learn it."""
    return [_example(i, "guidance", GUIDANCE) if i % 2 else _example(i, "unclear", REPORT) for i in range(n)]


def test_the_packaged_model_is_plain_json_with_its_calibration_and_threshold():
    data = json.loads(MODEL_PATH.read_text(encoding="utf-8"))
    assert data["format"] == "evidence-design-model/1" and data["classes"] and data["features"]
    model = load_model(MODEL_PATH)
    assert model is not None and 0.5 <= model.review_threshold <= 1.0
    assert model.calibration.y == sorted(model.calibration.y)  # isotonic: a higher score is never less likely right
    assert model.meta["trained_on"]["labelled"] > 100 and "command" in model.meta


def test_every_classification_carries_calibrated_confidences_a_review_flag_and_the_models_reasons():
    result = classify("A randomised controlled trial of 200 young people in foster care: placement moves fell significantly.")
    data = result.as_dict()
    assert {"needs_review", "design_confidence", "direction_confidence", "decided_by", "ongoing", "pairs", "model"} <= set(data)
    assert isinstance(data["needs_review"], bool) and 0 <= data["design_confidence"] <= 1
    assert data["model"]["features"] and all(isinstance(w, float) for _, w in data["model"]["features"])
    assert abs(sum(data["model"]["design_probabilities"].values()) - 1) < 0.01
    assert data["needs_review"] == (data["design_confidence"] < load_model().review_threshold)


def test_a_design_the_metadata_states_is_never_overruled_by_the_model():
    result = classify("Notes on mentoring.", metadata={"pub_types": ["Randomized Controlled Trial"]})
    assert result.study_design == "rct" and result.decided_by == {"field": "pub_types", "value": "Randomized Controlled Trial"}
    assert not may_overrule(result.features)


def test_a_fitted_model_learns_the_words_and_survives_its_json_round_trip(tmp_path):
    model = training.fit(_synthetic())
    probe = ["rule=guidance", "rule_conf>=0.3", "w:findings", "w:research"]  # the rules say guidance, the words a report
    assert model.predict(probe, "guidance").probabilities["unclear"] > 0.5
    path = tmp_path / "model.json"
    model.save(path)
    again = DesignModel.from_json(json.loads(path.read_text(encoding="utf-8")))
    assert again.predict(probe, "guidance") == model.predict(probe, "guidance")


def test_calibration_interpolates_between_its_knots_and_clips_outside():
    calibration = Calibration([0.2, 0.8], [0.1, 0.9])
    assert calibration(0.5) == pytest.approx(0.5) and calibration(0.0) == 0.1 and calibration(1.0) == 0.9
    assert training.expected_calibration_error([(0.9, True), (0.9, False)]) == pytest.approx(0.4)


def test_retraining_without_the_labelled_set_and_few_curated_records_keeps_the_model_and_says_why(tmp_path):
    outcome = training.retrain(_synthetic(8), load_model(), tmp_path / "model.json", corpus=tmp_path / "no-shared")
    assert not outcome.replaced and "kept the model in use" in outcome.reason and "no labelled set" in outcome.reason
    assert not (tmp_path / "model.json").exists()


def test_retraining_replaces_the_model_only_when_it_does_at_least_as_well_on_the_frozen_set(tmp_path):
    backwards = training.fit([_example(i, "guidance", REPORT) for i in range(30)] + [_example(i + 30, "unclear", GUIDANCE) for i in range(30)])
    outcome = training.retrain(_synthetic(120), backwards, tmp_path / "model.json", corpus=tmp_path / "no-shared")
    assert outcome.replaced and outcome.new and outcome.old and outcome.new.accuracy > outcome.old.accuracy
    assert "replaced" in outcome.reason and "design accuracy" in outcome.reason and (tmp_path / "model.json").exists()
    good = load_model(tmp_path / "model.json")
    # curators' records whose training part was mislabelled (the frozen fifth is right): the new model is worse there
    noisy = [e if e.frozen else training.Example(e.id, e.features, e.rules_design, "unclear" if e.design == "guidance" else "guidance")
             for e in _synthetic(120)]
    kept = training.retrain(noisy, good, tmp_path / "again.json", corpus=tmp_path / "no-shared")
    assert not kept.replaced and "kept the model in use" in kept.reason and not (tmp_path / "again.json").exists()


def test_classify_json_shows_the_review_flag(tmp_path):
    path = tmp_path / "note.txt"
    path.write_text("Statutory guidance for local authorities on foster care: what carers should do.", encoding="utf-8")
    result = CliRunner().invoke(cli, ["classify", str(path)], catch_exceptions=False)
    data = json.loads(result.output)
    assert result.exit_code == 0 and isinstance(data["needs_review"], bool) and data["study_design"] == "guidance"
