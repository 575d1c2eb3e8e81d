"""Maintainers' mistakes (issue 5, point 8): a broken sources.yaml, curation.yaml or taxonomy file, an
unreachable database, an unwritable output folder. Each is one line naming the file (or URL) and what
to fix, exit code 2, and nothing in the catalogue or the site changes."""
from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import write_sources

from evidence.classify.taxonomy import TAXONOMY_PATH
from evidence.cli import cli


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else "absent"


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    result = CliRunner().invoke(cli, ["demo", "--out", str(out)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return out


def _taxonomy(tmp_path: Path, broken: str) -> Path:
    text = TAXONOMY_PATH.read_text(encoding="utf-8")
    path = tmp_path / "taxonomy.yaml"
    path.write_text({"yaml": text + "\n  oops: [\n",
                     "regex": text.replace('patterns: ["outreach"', 'patterns: ["(outreach"', 1),
                     "shape": "version: 1\ninterventions: []\n",
                     "label": text.replace("    label: Outreach and detached youth work\n", "", 1)}[broken], encoding="utf-8")
    return path


@pytest.mark.parametrize("broken, expected", [
    ("yaml", "invalid YAML"), ("regex", "bad pattern"), ("shape", "needs mappings"), ("label", "outreach: needs `label`"),
])
@pytest.mark.parametrize("command", ["harvest", "reclassify", "build"])
def test_a_broken_taxonomy_stops_every_command_before_it_changes_anything(demo, tmp_path, broken, expected, command):
    db = demo / "catalogue.db"
    site = demo / "site"
    before = (_digest(db), _digest(site / "map.html"))
    taxonomy = _taxonomy(tmp_path, broken)
    args = {"harvest": ["harvest", "--config", str(write_sources(tmp_path, [{"id": "x", "kind": "feed", "url": "http://127.0.0.1:9/f"}])),
                        "--captures", str(tmp_path / "caps")],
            "reclassify": ["reclassify"], "build": ["build", "--out", str(site), "--no-search"]}[command]
    result = CliRunner().invoke(cli, ["--db", str(db), "--taxonomy", str(taxonomy), *args], catch_exceptions=False,
                                env={"EVIDENCE_TAXONOMY": None})
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert result.exit_code == 2, result.output
    assert len(lines) == 1 and str(taxonomy) in lines[0] and expected in lines[0], result.output
    assert (_digest(db), _digest(site / "map.html")) == before


def test_a_missing_taxonomy_file_is_named(tmp_path):
    result = CliRunner().invoke(cli, ["--taxonomy", str(tmp_path / "nope.yaml"), "classify", str(TAXONOMY_PATH)], env={"EVIDENCE_TAXONOMY": None})
    assert result.exit_code == 2 and "nope.yaml: cannot read the taxonomy" in result.output


def test_a_broken_curation_file_changes_nothing(demo, tmp_path):
    db = demo / "catalogue.db"
    before = _digest(db)
    curation = tmp_path / "curation.yaml"
    curation.write_text("https://example.org/a:\n  set: {study_design: rct\n", encoding="utf-8")
    for args in (["reclassify"], ["curate", "anything", "--set", "direction=positive"]):
        result = CliRunner().invoke(cli, ["--db", str(db), *args], env={"EVIDENCE_CURATION": str(curation)}, catch_exceptions=False)
        assert result.exit_code == 2 and "curation.yaml" in result.output and len(result.output.strip().splitlines()) == 1, result.output
    assert _digest(db) == before


def test_a_broken_sources_file_changes_nothing(demo, tmp_path):
    db = demo / "catalogue.db"
    before = _digest(db)
    config = tmp_path / "sources.yaml"
    config.write_text("sources:\n  - id: a\n    kind: feed\n    url: https://example.org/feed\n    colour: blue\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["--db", str(db), "harvest", "--config", str(config)], catch_exceptions=False)
    assert result.exit_code == 2 and f"{config}:5" in result.output and "colour" in result.output
    assert _digest(db) == before


def test_an_unwritable_output_folder_is_named(demo, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    result = CliRunner().invoke(cli, ["--db", str(demo / "catalogue.db"), "build", "--out", str(blocker / "site"), "--no-search"],
                                catch_exceptions=False)
    assert result.exit_code == 2 and "cannot write the site" in result.output and str(blocker) in result.output


# -- curation mistakes (issue 15): one line naming the argument or the file and line, exit 2, nothing changed -----------

RESIDENTIAL = "alternatives-to-high-cost-and-secure"


@pytest.mark.parametrize("args, expected", [
    (["--set", "evidence_level=7"], "--set evidence_level=7: evidence_level `7` is not on the scale (valid: 0, 1, 2, 3, 4, 5, none)"),
    (["--set", "evidence_level=abc"], "evidence_level `abc` is not on the scale"),
    (["--set", "published=last-year"], "--set published=last-year: published `last-year` is not an ISO date"),
    (["--set", "published=2019-13"], "published `2019-13` is not a real date"),
    (["--set", "study_design=RTC"], "unknown study_design `RTC` (did you mean `rct`? valid: systematic_review, rct,"),
    (["--set", "direction=up"], "unknown direction `up` (valid: positive,"),
    (["--set", "colour=blue"], "cannot set `colour` (settable: study_design,"),
    (["--set", "evidence_level=4"], "evidence_level 4 contradicts study_design `qualitative` (level 1); to correct the design: --set study_design=rct"),
    (["--set", "study_design=qualitative", "--set", "evidence_level=4"], "evidence_level 4 contradicts study_design `qualitative`"),
    (["--add", "intervention=foster-cares"], "unknown intervention `foster-cares` (not in the taxonomy; did you mean `foster-care`?"),
    (["--add", "colour=blue"], "unknown tag kind `colour` (valid: intervention, outcome, population, pair)"),
    (["--add", "pair=foster-care"], "pair `foster-care` must be INTERVENTION:OUTCOME"),
    (["--add", "pair=foster-care:placement-stability:upward"], "unknown direction `upward`"),
    (["--unset", "title"], "--unset title: "),
    (["--unset", "colour"], "--unset colour: unknown field"),
    (["--drop"], "--drop: "),
    (["--set", "inclusion=maybe"], "unknown screening decision `maybe` (valid: include, exclude)"),
])
def test_every_curation_mistake_is_one_line_and_changes_nothing(demo, tmp_path, args, expected):
    db = demo / "catalogue.db"
    curation = tmp_path / "curation.yaml"
    curation.write_text("# kept as it is\n{}\n", encoding="utf-8")
    before = (_digest(db), _digest(curation))
    result = CliRunner().invoke(cli, ["--db", str(db), "curate", RESIDENTIAL, *args], env={"EVIDENCE_CURATION": str(curation)},
                                catch_exceptions=False)
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert result.exit_code == 2 and len(lines) == 1 and expected in lines[0], result.output
    assert (_digest(db), _digest(curation)) == before


@pytest.mark.parametrize("ref, expected", [
    ("no-such-record", "no record with id, id prefix or URL `no-such-record`"),
    ("child-sexual", "is the start of several record ids"),
    ("https://example.org/not-here", "no record at https://example.org/not-here"),
])
def test_a_record_that_cannot_be_found_is_one_line(demo, tmp_path, ref, expected):
    db = demo / "catalogue.db"
    before = _digest(db)
    result = CliRunner().invoke(cli, ["--db", str(db), "curate", ref, "--set", "direction=mixed"],
                                env={"EVIDENCE_CURATION": str(tmp_path / "curation.yaml")}, catch_exceptions=False)
    assert result.exit_code == 2 and expected in result.output and len(result.output.strip().splitlines()) == 1, result.output
    assert _digest(db) == before and not (tmp_path / "curation.yaml").exists()


@pytest.mark.parametrize("entry, line, expected", [
    ("  set:\n    evidence_level: 7\n", 3, "evidence_level `7` is not on the scale"),
    ("  set:\n    published: last year\n", 3, "published `last year` is not an ISO date"),
    ("  set:\n    study_design: qualitative\n    evidence_level: 4\n", 4, "contradicts study_design `qualitative`"),
    ("  add:\n    outcome: [education, not-a-tag]\n", 3, "unknown outcome `not-a-tag`"),
    ("  colour: blue\n", 2, "unknown key `colour`"),
    ("  screen: {decision: perhaps}\n", 2, "unknown screening decision `perhaps`"),
    ("  note: x\n  note: y\n", 3, "duplicate key"),
])
def test_a_hand_edited_curation_mistake_names_the_file_and_line(demo, tmp_path, entry, line, expected):
    db = demo / "catalogue.db"
    curation = tmp_path / "curation.yaml"
    curation.write_text(f"https://www.example.org/a-record:\n{entry}", encoding="utf-8")
    before = _digest(db)
    for args in (["reclassify"], ["curate", RESIDENTIAL, "--set", "direction=mixed"], ["screen", "--list"], ["agreement"]):
        result = CliRunner().invoke(cli, ["--db", str(db), *args], env={"EVIDENCE_CURATION": str(curation)}, catch_exceptions=False)
        lines = [text for text in result.output.splitlines() if text.strip()]
        assert result.exit_code == 2 and len(lines) == 1 and f"curation.yaml:{line}:" in lines[0] and expected in lines[0], (args, result.output)
    assert _digest(db) == before


def test_a_missing_curation_file_named_on_the_command_line_is_an_error(demo, tmp_path):
    db = demo / "catalogue.db"
    before = _digest(db)
    for args in (["reclassify", "--curation", str(tmp_path / "nope.yaml")], ["agreement", "--curation", str(tmp_path / "nope.yaml")]):
        result = CliRunner().invoke(cli, ["--db", str(db), *args], catch_exceptions=False)
        assert result.exit_code == 2 and "nope.yaml: curation file not found" in result.output, result.output
    assert _digest(db) == before
