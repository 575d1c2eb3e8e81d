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
