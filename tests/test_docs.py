"""The README covers everything a user meets: commands, sources.yaml keys, evidence levels, the set-up commands."""
from __future__ import annotations

import re

from conftest import ROOT

from evidence.classify.design import DIRECTIONS, EVIDENCE_LEVELS
from evidence.cli import cli
from evidence.config import SCOPE_KEYS, SOURCE_KEYS, TOP_LEVEL

README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_every_cli_command_is_documented():
    for name in cli.commands:
        assert f"evidence {name}" in README, name


def test_every_sources_key_is_documented():
    for key in list(TOP_LEVEL) + list(SOURCE_KEYS) + list(SCOPE_KEYS):
        assert f"`{key}`" in README, key


def test_every_evidence_level_and_direction_is_documented():
    for design, level in EVIDENCE_LEVELS.items():
        assert re.search(rf"`{design}` \| {level if level is not None else 'none'} \|", README), design
    for direction in DIRECTIONS:
        assert f"`{direction}`" in README, direction


def test_readme_opens_with_the_two_setup_commands_and_ci_runs_the_test_one():
    block = README.split("```sh", 1)[1].split("```", 1)[0].strip().splitlines()
    assert len(block) == 2 and "evidence demo" in block[0] and "pytest" in block[1]
    test_command = block[1].split("&&", 1)[1].split("#", 1)[0].strip()
    assert test_command in (ROOT / ".ci" / "run").read_text(encoding="utf-8")
