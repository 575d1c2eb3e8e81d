"""What the CLI's harvest, status and demo commands do, with progress bars and summary tables."""
from __future__ import annotations

import shutil
import threading
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy import func
from sqlmodel import Session, select

from evidence import catalogue
from evidence.capture import CaptureStore
from evidence.config import Config, ConfigError, Source, load_config
from evidence.curation import curation_path
from evidence.fetch import Fetcher
from evidence.models import Record
from evidence.pipeline import HarvestLocked, SourceResult, harvest_lock, harvest_sources


def _console() -> Console:
    return Console(stderr=False, highlight=False, soft_wrap=True)


def make_fetcher(config: Config, captures: Path, offline: bool) -> Fetcher:
    """A Fetcher with the politeness settings of a sources file."""
    return Fetcher(
        CaptureStore(captures),
        contact=config.contact,
        user_agent=config.user_agent,
        timeout=config.timeout,
        max_bytes=config.max_bytes,
        retries=config.retries,
        backoff=config.backoff,
        offline=offline,
    )


def classify_hook(console: Console | None = None, curation_file: str | None = None) -> catalogue.ClassifyHook:
    """The classifier's catalogue hook (tags every new or changed record, curation applied over it)."""
    from evidence.classify.apply import classify_record_hook
    from evidence.curation import load_curation

    curation = load_curation(curation_path(curation_file))
    for warning in curation.warnings:
        (console or _console()).print(f"warning: {warning}", markup=False, highlight=False)
    return classify_record_hook(curation)


def run_harvest(db: str, config: Config, sources: list[Source], captures: Path, *, offline: bool = False,
                workers: int | None = None, quiet: bool = False, fetcher: Fetcher | None = None) -> bool:
    """Harvest `sources` into the catalogue at `db`, showing progress and a summary; True if all succeeded."""
    from evidence.classify.taxonomy import load_taxonomy

    load_taxonomy()  # a broken taxonomy is a one-line error before anything is fetched or stored
    console = _console()
    engine = catalogue.connect(db)
    try:
        with harvest_lock(db):
            own_fetcher = fetcher is None
            fetcher = fetcher or make_fetcher(config, captures, offline)
            try:
                results = _with_progress(console, engine, sources, fetcher, workers or config.workers, quiet)
            finally:
                if own_fetcher:
                    fetcher.close()
    except HarvestLocked as exc:
        raise ConfigError(str(exc)) from None
    finally:
        engine.dispose()
    print_summary(console, results)
    return all(r.status == "ok" for r in results)


def _with_progress(console: Console, engine: Any, sources: list[Source], fetcher: Fetcher, workers: int,
                   quiet: bool) -> list[SourceResult]:
    progress = Progress(
        SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed} items"),
        TimeElapsedColumn(), console=console, disable=quiet or not console.is_terminal, transient=False,
    )
    tasks = {s.id: progress.add_task(s.id, total=None) for s in sources}
    lock = threading.Lock()

    def advance(source_id: str, count: int) -> None:
        with lock:
            progress.update(tasks[source_id], completed=count)

    def done(result: SourceResult) -> None:
        mark = "[green]done[/]" if result.status == "ok" else "[red]failed[/]"
        with lock:
            progress.update(tasks[result.source_id], total=max(result.fetched + result.errors, 1),
                            completed=max(result.fetched + result.errors, 1), description=f"{result.source_id} {mark}")

    with progress:
        return harvest_sources(engine, sources, fetcher, workers=workers, progress=advance, on_done=done,
                               classify_hook=classify_hook(console))


def print_summary(console: Console, results: list[SourceResult]) -> None:
    """The end-of-harvest table: one row per source, then each failure's reason."""
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
    console.print(table)
    for r in results:
        if r.message:
            console.print(f"[red]{r.source_id}[/]: {r.message}", markup=True, highlight=False)
        for line in r.item_errors[:5]:
            console.print(f"  {r.source_id}: {line}", markup=False, highlight=False)
        if len(r.item_errors) > 5:
            console.print(f"  {r.source_id}: ... and {len(r.item_errors) - 5} more item errors (evidence status --format json)")


def status_rows(db: str, config_path: str | None) -> list[dict[str, Any]]:
    """One row per source known to the catalogue or the sources file."""
    engine = catalogue.connect(db)
    try:
        with Session(engine) as session:
            runs = catalogue.last_runs(session)
            counts = catalogue.source_counts(session)
    finally:
        engine.dispose()
    ids: list[str] = []
    names: dict[str, str] = {}
    if config_path:
        for source in load_config(config_path).sources:
            ids.append(source.id)
            names[source.id] = source.name
    ids += sorted(set(runs) | set(counts) - set(ids))
    rows = []
    for source_id in dict.fromkeys(ids):
        run = runs.get(source_id)
        rows.append({
            "source": source_id,
            "name": names.get(source_id, source_id),
            "last_run": run.started_at.strftime("%Y-%m-%d %H:%M") if run else None,
            "status": ("interrupted" if run.status == "running" else run.status) if run else "never run",
            "records": counts.get(source_id, 0),
            "new": run.new if run else 0,
            "errors": run.errors if run else 0,
            "message": run.message if run else None,
            "item_errors": run.item_errors if run else [],
        })
    return rows


def print_status(rows: list[dict[str, Any]]) -> None:
    """The status table."""
    console = _console()
    table = Table(title="Sources")
    for name in ("source", "last run", "status", "records", "new", "errors"):
        table.add_column(name, justify="right" if name in ("records", "new", "errors") else "left")
    for row in rows:
        table.add_row(row["source"], row["last_run"] or "-", row["status"], str(row["records"]), str(row["new"]), str(row["errors"]))
    console.print(table)
    for row in rows:
        if row["message"]:
            console.print(f"{row['source']}: {row['message']}", markup=False, highlight=False)


DEMO_DIR = Path(__file__).parent / "demo"


def run_demo(out: Path) -> bool:
    """Harvest the bundled recorded sources offline into `out`, build the site there, print where it is."""
    from evidence.demo_data import load_demo_captures

    console = _console()
    out.mkdir(parents=True, exist_ok=True)
    db = str(out / "catalogue.db")
    captures = out / "captures"
    if captures.exists():
        shutil.rmtree(captures)
    load_demo_captures(CaptureStore(captures))
    config = load_config(DEMO_DIR / "sources.yaml")
    ok = run_harvest(db, config, config.select(), captures, offline=True, quiet=True)
    site = out / "site"
    run_build(db, site, None, search=True)
    console.print(f"Catalogue: {Path(db).resolve()}")
    console.print(f"Site: {(site / 'index.html').resolve()}  (preview: evidence serve --site {site})")
    return ok


def run_reclassify(db: str, curation_file: str | None) -> int:
    """Re-run the classifier over the catalogue with the current taxonomy and curation; returns the count."""
    from evidence.classify.apply import orphan_warnings, reclassify
    from evidence.classify.taxonomy import load_taxonomy
    from evidence.curation import load_curation

    load_taxonomy()  # a broken taxonomy is a one-line error before any record is touched
    console = _console()
    curation = load_curation(curation_path(curation_file))
    engine = catalogue.connect(db)
    done = 0
    try:
        with Session(engine) as session:
            total = session.exec(select(func.count()).select_from(Record)).one()
            with Progress(TextColumn("reclassify"), BarColumn(), TextColumn("{task.completed}/{task.total}"), console=console,
                          disable=not console.is_terminal) as progress:
                task = progress.add_task("reclassify", total=total)
                for done in reclassify(session, curation):
                    progress.update(task, completed=done)
            warnings = curation.warnings + orphan_warnings(session, curation)
    finally:
        engine.dispose()
    for warning in warnings:
        console.print(f"warning: {warning}", markup=False, highlight=False)
    console.print(f"Reclassified {done} records ({len(curation.corrections)} curated corrections applied where their record exists).")
    return done


def review_rows(db: str, limit: int) -> list[dict[str, Any]]:
    """The least confident uncurated records."""
    from evidence.classify.apply import review_queue

    engine = catalogue.connect(db)
    try:
        with Session(engine) as session:
            return review_queue(session, limit)
    finally:
        engine.dispose()


def print_review(rows: list[dict[str, Any]]) -> None:
    """The review queue as a table, with the command to correct each."""
    console = _console()
    if not rows:
        console.print("Nothing to review: every record is curated, or the catalogue is empty.")
        return
    table = Table(title="Least confident records (correct with: evidence curate ID --set field=value)")
    for name in ("id", "confidence", "design", "direction", "title"):
        table.add_column(name, overflow="fold")
    for row in rows:
        table.add_row(row["id"], f"{row['confidence']:.2f}", row["study_design"] or "-", row["direction"] or "-", row["title"][:80])
    console.print(table)


def run_curate(db: str, record_id: str, set_fields: list[tuple[str, str]], add: list[tuple[str, str]],
               remove: list[tuple[str, str]], note: str | None, curation_file: str | None) -> None:
    """Write a correction into curation.yaml and apply it to the record at once."""
    from evidence.classify.apply import apply_curation_only
    from evidence.classify.taxonomy import load_taxonomy
    from evidence.curation import SETTABLE, TAG_KINDS, load_curation, record_correction, save_curation, validate

    if not (set_fields or add or remove or note):
        raise ConfigError("nothing to change: give --set, --add, --remove or --note")
    for key, _ in set_fields:
        if key not in SETTABLE:
            raise ConfigError(f"cannot set `{key}` (settable: {', '.join(sorted(SETTABLE))})")
    for key, _ in add + remove:
        if key not in TAG_KINDS:
            raise ConfigError(f"unknown tag kind `{key}` (intervention, outcome or population)")
    path = curation_path(curation_file)
    curation = load_curation(path)
    engine = catalogue.connect(db)
    try:
        with Session(engine) as session:
            record = session.get(Record, record_id)
            if record is None:
                raise ConfigError(f"no record with id {record_id} in {db} (see `evidence review` or the site's record pages)")
            grouped_add: dict[str, list[str]] = {}
            grouped_remove: dict[str, list[str]] = {}
            for key, value in add:
                grouped_add.setdefault(key, []).append(value)
            for key, value in remove:
                grouped_remove.setdefault(key, []).append(value)
            correction = record_correction(curation, record.url, set_fields=dict(set_fields), add=grouped_add,
                                           remove=grouped_remove, note=note)
            problems = validate(correction, load_taxonomy(), path)
            if problems:
                raise ConfigError(problems[0])
            save_curation(curation)
            apply_curation_only(session, record, curation)
            session.commit()
            _console().print(f"Curated {record_id}: written to {path}; design {record.study_design}, direction {record.direction}.",
                             markup=False, highlight=False)
    finally:
        engine.dispose()


def run_build(db: str, out: Path, base_url: str | None, *, search: bool = True, jobs: int | None = None) -> None:
    """Build the site, then its search index; print what was written."""
    from evidence.publish.build import build_site
    from evidence.publish.search import SearchUnavailable, index_site

    console = _console()
    report = build_site(db, out, base_url, jobs)
    console.print(f"Built {report.pages} pages for {report.records} records into {out}: {report.written} files written, "
                  f"{report.unchanged} unchanged, {report.removed} removed; {len(report.added)} new records since the last build.")
    if search:
        try:
            pages = index_site(out)
            console.print(f"Search index: {pages} record pages indexed (Pagefind).")
        except SearchUnavailable as exc:
            console.print(f"warning: search index not built: {exc}", markup=False, highlight=False)


def run_export(db: str, fmt: str) -> str:
    """The catalogue in one open-data format."""
    from evidence.publish.build import export_rows, load
    from evidence.publish.exports import export

    data = load(db)
    return export(export_rows(data.rows), fmt, {"records": len(data.rows), "built_at": data.built_at})


def run_serve(site: Path, port: int) -> None:
    """Serve a built site on 127.0.0.1 until interrupted."""
    import functools
    import http.server

    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(site))
    with http.server.ThreadingHTTPServer(("127.0.0.1", port), handler) as httpd:
        real_port = httpd.server_address[1]
        _console().print(f"Serving {site} on http://127.0.0.1:{real_port}/ (Ctrl-C to stop)")
        try:
            httpd.serve_forever()
        except KeyboardInterrupt:
            pass
