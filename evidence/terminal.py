"""What the CLI shows: progress bars while work runs, and tables of the results the library returns."""
from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from evidence.pipeline import SourceResult


def console() -> Console:
    """The console results are printed to (stdout; no markup from harvested text)."""
    return Console(stderr=False, highlight=False, soft_wrap=True)


def say(text: str) -> None:
    """Print one line as it is (never read as rich markup: it may hold harvested text)."""
    console().print(text, markup=False, highlight=False)


def warn(text: str) -> None:
    """Print a warning line."""
    say(f"warning: {text}")


class HarvestProgress:
    """One progress bar per source; its callbacks are what `Catalogue.harvest` reports to."""

    def __init__(self, source_ids: list[str], quiet: bool = False) -> None:
        out = console()
        self.progress = Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed} items"),
                                 TimeElapsedColumn(), console=out, disable=quiet or not out.is_terminal, transient=False)
        self.tasks = {source_id: self.progress.add_task(source_id, total=None) for source_id in source_ids}
        self.lock = threading.Lock()

    def advance(self, source_id: str, count: int) -> None:
        """A source has yielded `count` items so far."""
        with self.lock:
            self.progress.update(self.tasks[source_id], completed=count)

    def done(self, result: SourceResult) -> None:
        """A source has been stored."""
        mark = "[green]done[/]" if result.status == "ok" else "[red]failed[/]"
        size = max(result.fetched + result.errors, 1)
        with self.lock:
            self.progress.update(self.tasks[result.source_id], total=size, completed=size, description=f"{result.source_id} {mark}")

    def __enter__(self) -> HarvestProgress:
        self.progress.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.progress.__exit__(*exc)


@contextmanager
def counting(label: str) -> Iterator[Callable[[int, int], None]]:
    """A progress bar for work counted as (done, total)."""
    out = console()
    with Progress(TextColumn(label), BarColumn(), TextColumn("{task.completed}/{task.total}"), console=out,
                  disable=not out.is_terminal) as progress:
        task = progress.add_task(label, total=None)

        def update(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        yield update


def harvest_summary(results: list[SourceResult]) -> None:
    """The end-of-harvest table: one row per source, then each failure's reason."""
    out = console()
    table = Table(title="Harvest summary", show_lines=False)
    for name in ("source", "status", "fetched", "new", "updated", "unchanged", "errors"):
        table.add_column(name, justify="left" if name in ("source", "status") else "right")
    totals = SourceResult(source_id="total")
    for r in results:
        table.add_row(r.source_id, r.status, str(r.fetched), str(r.new), str(r.updated), str(r.unchanged), str(r.errors))
        for name in ("fetched", "new", "updated", "unchanged", "errors"):
            setattr(totals, name, getattr(totals, name) + getattr(r, name))
    table.add_row("total", f"{sum(r.status == 'ok' for r in results)}/{len(results)} ok", str(totals.fetched), str(totals.new),
                  str(totals.updated), str(totals.unchanged), str(totals.errors), style="bold")
    out.print(table)
    for r in results:
        if r.message:
            out.print(f"[red]{r.source_id}[/]: ", end="", markup=True, highlight=False)
            out.print(r.message, markup=False, highlight=False)
        for line in r.item_errors[:5]:
            out.print(f"  {r.source_id}: {line}", markup=False, highlight=False)
        if len(r.item_errors) > 5:
            out.print(f"  {r.source_id}: ... and {len(r.item_errors) - 5} more item errors (evidence status --format json)", markup=False)


def status_table(rows: list[dict[str, Any]]) -> None:
    """The status table, then each source's last failure."""
    out = console()
    table = Table(title="Sources")
    for name in ("source", "last run", "status", "records", "new", "errors"):
        table.add_column(name, justify="right" if name in ("records", "new", "errors") else "left")
    for row in rows:
        table.add_row(row["source"], row["last_run"] or "-", row["status"], str(row["records"]), str(row["new"]), str(row["errors"]))
    out.print(table)
    for row in rows:
        if row["message"]:
            out.print(f"{row['source']}: {row['message']}", markup=False, highlight=False)


def review_table(rows: list[dict[str, Any]]) -> None:
    """The review queue: each id alone on its line (to copy whole), then its confidence, design, direction and title."""
    if not rows:
        say("Nothing to review: every record is curated, or the catalogue is empty.")
        return
    say("Least confident records (correct with: evidence curate ID --set field=value; the start of an id is enough)")
    for row in rows:
        say(row["id"])
        say(f"    {row['confidence']:.2f}  {row['study_design'] or '-'}  {row['direction'] or '-'}  {row['title'][:90]}")


def duplicates_table(pairs: list[dict[str, Any]]) -> None:
    """Near-matches kept apart: both ids and titles, how similar, and why they were kept apart."""
    if not pairs:
        say("No near-matches: no two records' titles are within one word of each other.")
        return
    say("Near-matches kept apart as different documents (if one is the other: evidence curate ID --same-as OTHER-ID)")
    for pair in pairs:
        say(f"{pair['record']}  {pair['other']}")
        say(f"    {pair['similarity']:.0f}%  {pair['reason']}")
        say(f"    {pair['title'][:90]}")
        say(f"    {pair['other_title'][:90]}")


def curated(result: Any) -> None:
    """What a curation changed (evidence.curate.CurateResult)."""
    what = "entry dropped, the machine's values are back" if result.dropped else "written"
    level = result.evidence_level if result.evidence_level is not None else "none"
    say(f"Curated {result.record_id} ({what}: {result.path}); design {result.study_design}, level {level}, direction {result.direction}, "
        f"{result.inclusion or 'not screened'}.")
    for url, holder in getattr(result, "split", {}).items():
        say(f"Split off {url}: it is record {holder} now.")
    for other in getattr(result, "joined", []):
        say(f"Joined record {other} into {result.record_id}.")
