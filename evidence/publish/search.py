"""The search index: Pagefind (the `pagefind` package from the Python index, with its binary), run over the
built site. Only record pages carry `data-pagefind-body`, so only their main content is indexed, with
filters for intervention, outcome, evidence level, publisher, year and document type."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

TIMEOUT_SECONDS = 600


class SearchUnavailable(Exception):
    """Pagefind is not installed or failed; the site still works without search."""


def index_site(site: Path) -> int:
    """Index a built site in place (writes site/pagefind/); returns the number of pages indexed."""
    command = [sys.executable, "-m", "pagefind", "--site", str(site), "--glob", "records/*.html", "--force-language", "en", "--quiet"]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT_SECONDS, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise SearchUnavailable(f"pagefind could not run ({exc})") from None
    if done.returncode != 0:
        reason = (done.stderr or done.stdout).strip().splitlines()
        hint = " (install it: python3 -m pip install 'pagefind[bin]')" if "No module named" in done.stderr else ""
        raise SearchUnavailable(f"pagefind failed: {reason[-1] if reason else done.returncode}{hint}")
    entry = site / "pagefind" / "pagefind-entry.json"
    try:
        languages = json.loads(entry.read_text(encoding="utf-8")).get("languages", {})
        return sum(int(lang.get("page_count", 0)) for lang in languages.values())
    except (OSError, ValueError):
        return 0
