"""The library's facade: one catalogue, the pipeline's stages as methods. Nothing here prints.

    cat = Catalogue("catalogue.db", create=True)
    report = cat.harvest(load_config("sources.yaml"))     # -> HarvestReport
    cat.reclassify()                                      # -> ReclassifyReport
    cat.build("site", base_url="https://example.org/evidence")   # -> SiteReport
    text = cat.export("json")

Each method returns a result object; `evidence.cli` renders them (tables, progress bars, one-line errors).
Progress is reported through optional callbacks, so a caller that wants none passes none.
"""
from __future__ import annotations

import logging
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from evidence import catalogue
from evidence.capture import CaptureStore
from evidence.config import Config, ConfigError, Scope, Source, load_config
from evidence.curate import CurateResult
from evidence.curation import Change, curation_path
from evidence.fetch import Fetcher
from evidence.models import Record, utcnow
from evidence.pipeline import HarvestLocked, ProgressHook, SourceResult, harvest_lock, harvest_running, harvest_sources

log = logging.getLogger(__name__)

DEMO_DIR = Path(__file__).parent / "demo"


@dataclass
class HarvestReport:
    """What a harvest did: one result per source, and warnings met on the way (curation entries that cannot apply)."""

    results: list[SourceResult]
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when every source succeeded."""
        return all(r.status == "ok" for r in self.results)


@dataclass
class ReclassifyReport:
    """How many records were classified again, how many corrections applied, and the warnings."""

    records: int
    corrections: int
    warnings: list[str] = field(default_factory=list)
    model: str = ""  # what retraining the learned layer decided, with its figures


@dataclass
class SiteReport:
    """A site build: the build's own report, and the search index's outcome."""

    build: Any  # evidence.publish.build.BuildReport
    search_pages: int | None = None  # None: no index was asked for, or it could not be built
    search_warning: str | None = None


@dataclass
class DemoReport:
    """Where the demo put its catalogue and site, and how its harvest went."""

    db: str
    site: Path
    curation: Path
    harvest: HarvestReport
    site_report: SiteReport
    planned_failures: dict[str, str] = field(default_factory=dict)  # source id -> why the demo records it failing
    sources: Path | None = None  # the copy of the demo's sources.yaml in its folder

    @property
    def ok(self) -> bool:
        """True when every source succeeded except the ones the demo means to fail, and those failed."""
        return all((r.status != "ok") == (r.source_id in self.planned_failures) for r in self.harvest.results)


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


def default_captures(db: str) -> Path:
    """Where raw responses are kept by default: `captures/` beside a SQLite file, else ./captures."""
    if "://" not in db:
        return Path(db).expanduser().resolve().parent / "captures"
    return Path("captures")


class Catalogue:
    """One catalogue (a SQLite file or a SQLAlchemy URL) and what the pipeline does to it.

    Only `create=True` (harvest, demo) may create a catalogue; otherwise a missing one is a one-line
    CatalogueError, so a mistyped --db never makes an empty catalogue (or prunes a site down to nothing).
    """

    def __init__(self, db: str, *, create: bool = False) -> None:
        self.db = db
        self.create = create
        self._engine: Engine | None = None
        if not create:
            catalogue.require_existing(db)

    @property
    def engine(self) -> Engine:
        """The database engine, opened on first use."""
        if self._engine is None:
            self._engine = catalogue.connect(self.db, create=self.create)
        return self._engine

    def close(self) -> None:
        """Release the database connections."""
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None

    def __enter__(self) -> Catalogue:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- harvest ---------------------------------------------------------------------------------

    def harvest(self, config: Config, sources: list[Source] | None = None, *, captures: Path | None = None,
                offline: bool = False, workers: int | None = None, fetcher: Fetcher | None = None,
                curation_file: str | None = None, progress: ProgressHook | None = None,
                on_done: Callable[[SourceResult], None] | None = None) -> HarvestReport:
        """Fetch, extract, classify and store `sources` (default: the enabled ones); each source committed on its own."""
        from evidence.classify.apply import classify_record_hook
        from evidence.classify.taxonomy import load_taxonomy
        from evidence.curation import identity_rules, load_curation

        load_taxonomy()  # a broken taxonomy is a one-line error before anything is fetched or stored
        curation = load_curation(curation_path(curation_file), must_exist=curation_file is not None)  # and a broken curation file
        rules = identity_rules(curation)
        catalogue.set_identity_rules(self.engine, rules)  # every match of this harvest obeys the curators' splits and joins
        sources = config.select() if sources is None else sources
        try:
            with harvest_lock(self.db):
                catalogue.close_stale_runs(self.engine)  # runs left "running" by a killed harvest: none is running now
                own_fetcher = fetcher is None
                fetcher = fetcher or make_fetcher(config, captures or default_captures(self.db), offline)
                try:
                    log.info("harvest of %d sources into %s (%s)", len(sources), self.db, "offline" if offline else "online")
                    hook = classify_record_hook(curation, config.scope)
                    self._apply_identity(rules, hook)
                    results = harvest_sources(self.engine, sources, fetcher, workers=workers or config.workers, progress=progress,
                                              on_done=on_done, classify_hook=hook)
                    self._apply_identity(rules, hook)
                finally:
                    if own_fetcher:
                        fetcher.close()
        except HarvestLocked as exc:
            raise ConfigError(str(exc)) from None
        for result in results:
            log.info("source %s: %s, %d fetched, %d new, %d updated, %d unchanged, %d errors%s", result.source_id, result.status,
                     result.fetched, result.new, result.updated, result.unchanged, result.errors,
                     f" ({result.message})" if result.message else "")
        return HarvestReport(results, list(curation.warnings))

    def _apply_identity(self, rules: catalogue.IdentityRules, hook: catalogue.ClassifyHook) -> None:
        """Split and join records as curation.yaml says (before a harvest, and after it for records it just made)."""
        if not rules.apart and not rules.same:
            return
        with Session(self.engine) as session:
            changed = catalogue.apply_identity(session, rules, utcnow())
            tags = {}
            for rid in changed:
                record = session.get(Record, rid)
                if record is not None:
                    tags[rid] = hook(session, record)
            catalogue.replace_tags(session, tags)
            session.commit()

    def status(self, config_path: str | None = None) -> list[dict[str, Any]]:
        """One row per source known to the catalogue or the sources file: last run, records, new, errors."""
        with Session(self.engine) as session:
            runs = catalogue.last_runs(session)
            counts = catalogue.source_counts(session)
        running = any(run.status == "running" for run in runs.values()) and harvest_running(self.db)
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
                "status": catalogue.shown_status(run.status, running) if run else "never run",
                "records": counts.get(source_id, 0),
                "new": run.new if run else 0,
                "errors": run.errors if run else 0,
                "message": run.message if run else None,
                "item_errors": run.item_errors if run else [],
            })
        return rows

    # -- classification and curation ------------------------------------------------------------

    def reclassify(self, curation_file: str | None = None, progress: Callable[[int, int], None] | None = None, *,
                   scope: Scope | None = None) -> ReclassifyReport:
        """Retrain the learned layer from curation, then classify and screen every record again (current taxonomy and
        `scope`), laying curation over it; progress(done, total).

        A `curation_file` named must exist: a mistyped name would otherwise undo every correction."""
        from evidence.classify.apply import orphan_warnings, reclassify, retrain_from_curation
        from evidence.classify.taxonomy import load_taxonomy
        from evidence.curation import load_curation

        load_taxonomy()  # a broken taxonomy is a one-line error before any record is touched
        curation = load_curation(curation_path(curation_file), must_exist=curation_file is not None)
        done = 0
        with Session(self.engine) as session:
            total = session.exec(select(func.count()).select_from(Record)).one()
            retraining = retrain_from_curation(session, curation)
            for done in reclassify(session, curation, scope=scope or Scope()):
                if progress:
                    progress(done, total)
            warnings = curation.warnings + orphan_warnings(session, curation)
        log.info("reclassified %d records, %d corrections", done, len(curation.corrections))
        return ReclassifyReport(done, len(curation.corrections), warnings, f"model {retraining.reason}")

    def review(self, limit: int = 20) -> list[dict[str, Any]]:
        """The records a curator should check first (least confident, not yet checked)."""
        from evidence.classify.apply import review_queue

        with Session(self.engine) as session:
            return review_queue(session, limit)

    def duplicates(self, limit: int = 50) -> list[dict[str, Any]]:
        """Near-matches kept apart as different documents, most similar first, with why (for a curator to confirm)."""
        with Session(self.engine) as session:
            return catalogue.near_matches(session, limit)

    def curate(self, ref: str, change: Change, curation_file: str | None = None) -> CurateResult:
        """Write a curator's change (checked first) into curation.yaml and apply it to the record at once.

        `ref` is a record id, a unique prefix of one, or a URL the record was reached at."""
        from evidence.curate import curate

        with Session(self.engine) as session:
            return curate(session, ref, change, curation_file, catalogue.shown_url(self.db))

    # -- screening and agreement ------------------------------------------------------------------

    @contextmanager
    def screening(self, curator: str, curation_file: str | None = None, *, dual: bool = False) -> Iterator[Any]:
        """A screening session (evidence.screen.queue.ScreeningSession): the queue, and decisions written to curation.yaml.

        A `curation_file` named must exist; with `dual`, `curator` screens records others decided, without their decisions."""
        from evidence.classify.taxonomy import load_taxonomy
        from evidence.curation import load_curation
        from evidence.screen.queue import ScreeningSession

        taxonomy = load_taxonomy()
        curation = load_curation(curation_path(curation_file), taxonomy, must_exist=curation_file is not None)
        with Session(self.engine) as session:
            yield ScreeningSession(session, curation, curator, dual=dual, taxonomy=taxonomy)

    def screen(self, curator: str, include: list[str], exclude: list[str], reason: str | None = None, *,
               curation_file: str | None = None, resolve: bool = False) -> list[Record]:
        """Batch decisions: every record named (id, id prefix or URL) is checked before any decision is written."""
        overlap = set(include) & set(exclude)
        if overlap:
            raise ConfigError(f"--include and --exclude both name {', '.join(sorted(overlap))}")
        with self.screening(curator, curation_file) as session:
            done = session.decide_all([(ref, "include") for ref in include] + [(ref, "exclude") for ref in exclude], reason, resolve=resolve)
            for record in done:
                session.session.refresh(record)
            session.session.expunge_all()
            return done

    def screening_labels(self, curation_file: str | None = None) -> list[Any]:
        """The curators' screening decisions as labelled records, for a simulation (`screen simulate --from-catalogue`)."""
        from evidence.curation import load_curation
        from evidence.screen.queue import catalogue_labels

        curation = load_curation(curation_path(curation_file), must_exist=curation_file is not None)
        with Session(self.engine) as session:
            return catalogue_labels(session, curation)

    def agreement(self, curation_file: str | None = None) -> Any:
        """Cohen's kappa per field between curators who judged the same records, and the conflicts (evidence.agreement)."""
        from evidence.agreement import agreement
        from evidence.curation import load_curation

        curation = load_curation(curation_path(curation_file), must_exist=curation_file is not None)
        with Session(self.engine) as session:
            return agreement(session, curation)

    # -- publish -----------------------------------------------------------------------------------

    def build(self, out: str | Path, base_url: str | None = None, *, search: bool = True, jobs: int | None = None,
              force: bool = False, curation_file: str | Path | None = None, config: Config | None = None,
              cache: bool = True) -> SiteReport:
        """Build the static site into `out`, then its search index (Pagefind) unless `search` is False.

        A site that has records is never pruned down to none (an empty catalogue is more often a wrong --db than
        the truth) unless `force` is given. `cache` False: reuse nothing of the last build (the same files, made again)."""
        from evidence.publish.build import STATE_FILE, build_site
        from evidence.publish.search import SearchUnavailable, index_site

        with Session(self.engine) as session:  # (opening the engine checks the catalogue exists and has this schema)
            total = session.exec(select(func.count()).select_from(Record)).one()
        published = _published_records(Path(out) / STATE_FILE)
        if total == 0 and published and not force:
            raise ConfigError(f"{out}: the site shows {published} records but catalogue {catalogue.shown_url(self.db)} has none, "
                              "so building would remove every record page; check --db (or EVIDENCE_DB), or pass --force")
        report = SiteReport(build_site(self.db, Path(out), base_url, jobs, curation_file=curation_file, config=config,
                                            cache=cache))
        if search:
            try:
                report.search_pages = index_site(Path(out))
            except SearchUnavailable as exc:
                report.search_warning = str(exc)
                log.warning("search index not built: %s", exc)
        return report

    def migrate(self) -> tuple[str | None, str]:
        """Upgrade the catalogue's schema to this version's (Alembic); returns (revision before, revision after)."""
        self.close()
        return catalogue.migrate(self.db)

    def export(self, fmt: str) -> str:
        """The catalogue in one open-data format (the same text as the site's download)."""
        from evidence.publish.build import catalogue_export, load

        return catalogue_export(load(self.db), fmt)


def _published_records(state_file: Path) -> int:
    """How many records the site in a folder was last built with (0 when there is no site there)."""
    import json

    try:
        return len(json.loads(state_file.read_text(encoding="utf-8")).get("records", []))
    except (OSError, ValueError, AttributeError):
        return 0


def demo(out: Path, db: str | None = None, progress: ProgressHook | None = None) -> DemoReport:
    """Harvest the bundled recorded sources offline into `out` (or into `db`), build the site there."""
    from evidence.demo_data import load_demo_captures, planned_failures

    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"{out}: cannot create the demo folder ({exc.strerror}); choose another --out") from None
    db = db or str(out / "catalogue.db")
    captures = out / "captures"
    if captures.exists():
        shutil.rmtree(captures)
    load_demo_captures(CaptureStore(captures))
    curation = out / "curation.yaml"  # the demo's own corrections, so a curator can try `evidence curate` on it
    if not curation.exists():
        bundled = DEMO_DIR / "curation.yaml"
        curation.write_text(bundled.read_text(encoding="utf-8") if bundled.exists() else "{}\n", encoding="utf-8")
    sources = out / "sources.yaml"  # a copy, so `evidence status --config` lists the demo's sources beside their runs
    if not sources.exists():
        sources.write_text((DEMO_DIR / "sources.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    config = load_config(DEMO_DIR / "sources.yaml")
    with Catalogue(db, create=True) as cat:
        harvest = cat.harvest(config, captures=captures, offline=True, curation_file=str(curation), progress=progress)
        site = out / "site"
        site_report = cat.build(site, config=config)
    return DemoReport(db, site, curation, harvest, site_report, planned_failures(), sources)
