"""The `evidence` command: a thin layer over the library (evidence.api). Each command reads its options, calls the
library and renders what it returns (evidence.terminal). Every expected failure passes one error boundary
(`EvidenceGroup.invoke`) and becomes one line and exit code 2; `--debug` shows the traceback instead."""
from __future__ import annotations

import errno
import json
import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from evidence import __version__
from evidence.publish.exports import EXPORTERS

DEFAULT_DB = "catalogue.db"
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
_OS_REASONS = {errno.ENOSPC: "the disk is full", errno.EROFS: "the file system is read-only", errno.EACCES: "permission denied",
               errno.EPERM: "permission denied", errno.EDQUOT: "the disk quota is exceeded", errno.ENOENT: "no such file or folder",
               errno.ENOTDIR: "not a folder", errno.EISDIR: "is a folder", errno.EADDRINUSE: "the port is already in use"}
_OS_ADVICE = {errno.ENOSPC: "free some space and run again (what was already committed is kept)",
              errno.EDQUOT: "free some space and run again (what was already committed is kept)",
              errno.EROFS: "write somewhere else (--out, --captures or --db)"}


def one_line(exc: BaseException, db: str = DEFAULT_DB) -> str | None:
    """The one-line message for an expected failure, or None for a bug (which keeps its traceback)."""
    from sqlalchemy.exc import SQLAlchemyError

    from evidence.catalogue import CatalogueError, explain
    from evidence.config import ConfigError

    if isinstance(exc, (ConfigError, CatalogueError)):
        return str(exc)
    if isinstance(exc, OSError) and exc.errno in _OS_REASONS:
        where = exc.filename or ""
        reason = _OS_REASONS[exc.errno] + (f"; {_OS_ADVICE[exc.errno]}" if exc.errno in _OS_ADVICE else "")
        return f"{where}: {reason}" if where else reason
    if isinstance(exc, SQLAlchemyError):
        return explain(exc, db)
    return None


class EvidenceGroup(click.Group):
    """The command group, with the CLI's one error boundary around every command."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException):
            raise
        except KeyboardInterrupt:
            click.echo("Interrupted: what was already stored is kept.", err=True)
            sys.exit(130)
        except Exception as exc:  # noqa: BLE001 - the boundary: expected failures become one line, bugs keep their traceback
            message = one_line(exc, (ctx.obj or {}).get("db", DEFAULT_DB))
            if message is None or (ctx.obj or {}).get("debug"):
                raise
            _to_log_files(message)
            click.echo(f"Error: {message}", err=True)
            sys.exit(2)


def _to_log_files(message: str) -> None:
    """Record a failure in the --log-file (stderr has it already, as the one line)."""
    logger = logging.getLogger("evidence")
    record = logger.makeRecord(logger.name, logging.ERROR, __file__, 0, "%s", (message,), None)
    for handler in logger.handlers:
        if isinstance(handler, logging.FileHandler):
            handler.handle(record)


def configure_logging(verbose: int, log_file: str | None) -> None:
    """Log the library's decisions: to stderr (warnings; -v info, -vv debug) and, with --log-file, to a file (info or debug)."""
    logger = logging.getLogger("evidence")
    for handler in [h for h in logger.handlers if getattr(h, "_evidence", False)]:
        logger.removeHandler(handler)
        handler.close()
    level = logging.DEBUG if verbose >= 2 else logging.INFO if verbose == 1 else logging.WARNING
    stderr = logging.StreamHandler(sys.stderr)
    stderr.setLevel(level)
    handlers: list[logging.Handler] = [stderr]
    if log_file:
        try:
            to_file = logging.FileHandler(log_file, encoding="utf-8")
        except OSError as exc:
            raise click.BadParameter(f"cannot write {log_file} ({exc.strerror})", param_hint="--log-file") from None
        to_file.setLevel(logging.DEBUG if verbose >= 2 else logging.INFO)
        handlers.append(to_file)
    for handler in handlers:
        handler.setFormatter(logging.Formatter(LOG_FORMAT))
        handler._evidence = True  # type: ignore[attr-defined]
        logger.addHandler(handler)
    logger.setLevel(min(h.level for h in handlers))


# -- shared options (sqlite-utils style: one decorator per option used by several commands) -------------------------

def config_option(help_text: str = "The sources file to read.") -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """--config FILE (default ./sources.yaml)."""
    return click.option("--config", "config_path", default="sources.yaml", show_default=True, type=click.Path(dir_okay=False),
                        help=help_text)


def format_option(*choices: str, default: str | None = None) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """--format, one of `choices` (the first is the default unless `default` is given)."""
    return click.option("--format", "fmt", type=click.Choice(list(choices)), default=default or choices[0], show_default=True,
                        help="Output format.")


curation_option = click.option("--curation", "curation_file", default=None, metavar="FILE",
                               help="Curators' corrections [default: ./curation.yaml; env EVIDENCE_CURATION].")


def open_catalogue(ctx: click.Context, create: bool = False) -> Any:
    """The catalogue named by --db; only commands that may create one pass `create`."""
    from evidence.api import Catalogue

    return Catalogue(ctx.obj["db"], create=create)


@click.group(cls=EvidenceGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option("--db", envvar="EVIDENCE_DB", default=DEFAULT_DB, show_default=True, metavar="URL-OR-PATH",
              help="The catalogue: a SQLite file path or any SQLAlchemy URL (postgresql://...). Env: EVIDENCE_DB.")
@click.option("--taxonomy", envvar="EVIDENCE_TAXONOMY", default=None, metavar="FILE",
              help="A taxonomy file to use instead of the packaged one (copy evidence/classify/taxonomy.yaml and extend it; "
                   "then `evidence reclassify`). Env: EVIDENCE_TAXONOMY.")
@click.option("-v", "--verbose", count=True, help="Log the library's decisions to stderr (-v: info, -vv: debug).")
@click.option("--log-file", envvar="EVIDENCE_LOG_FILE", default=None, metavar="FILE",
              help="Also log to this file (info, or debug with -vv): retries, robots decisions, skipped items, merges. Env: EVIDENCE_LOG_FILE.")
@click.option("--debug", is_flag=True, help="Show the traceback of a failure instead of one line.")
@click.version_option(__version__, prog_name="evidence")
@click.pass_context
def cli(ctx: click.Context, db: str, taxonomy: str | None, verbose: int, log_file: str | None, debug: bool) -> None:
    """Harvest, classify and publish evidence on child sexual exploitation and children's social care.

    \b
    Typical use:
      evidence demo                 the whole pipeline on bundled recorded sources, offline
      evidence harvest              fetch every enabled source in ./sources.yaml
      evidence status               how each source did last time
      evidence review               the records a curator should check first
      evidence build                the static site, into ./site
    """
    ctx.obj = {"db": db, "debug": debug}
    configure_logging(verbose, log_file)
    if taxonomy:
        os.environ["EVIDENCE_TAXONOMY"] = str(Path(taxonomy).expanduser().resolve())  # read by classify.taxonomy.taxonomy_path


@cli.command()
@config_option()
@click.option("--source", "source_ids", multiple=True, metavar="ID",
              help="Harvest only this source (repeat for several); names a disabled source too.")
@click.option("--offline", is_flag=True, help="No network: re-extract and re-classify from stored captures.")
@click.option("--captures", "captures", default=None, envvar="EVIDENCE_CAPTURES", metavar="DIR",
              help="Capture store of raw responses [default: captures/ beside the catalogue; env EVIDENCE_CAPTURES].")
@click.option("--workers", type=click.IntRange(1, 32), default=None, help="Sources harvested at once [default: from sources.yaml, 4].")
@click.option("--quiet", "-q", is_flag=True, help="No progress bars; the summary table only.")
@curation_option
@click.pass_context
def harvest(ctx: click.Context, config_path: str, source_ids: tuple[str, ...], offline: bool, captures: str | None,
            workers: int | None, quiet: bool, curation_file: str | None) -> None:
    """Fetch, extract, classify and store the sources of sources.yaml.

    Polite (robots.txt, rate limit per host, a User-Agent with your contact) and incremental
    (conditional requests; unchanged documents are not re-read). Each source is committed on its
    own: one failing source never loses the others. Exit code 0 when every source succeeded,
    1 when any failed, 2 for a mistake in the command or the sources file.

    \b
    Examples:
      evidence harvest
      evidence harvest --source dfe-research --source rees-centre
      evidence --db team.db harvest --config other.yaml --offline
      evidence -v --log-file harvest.log harvest --quiet      # unattended, with a log
    """
    from evidence import terminal
    from evidence.config import load_config

    config = load_config(config_path)
    sources = config.select(source_ids)
    with open_catalogue(ctx, create=True) as cat, terminal.HarvestProgress([s.id for s in sources], quiet) as bars:
        report = cat.harvest(config, sources, captures=Path(captures) if captures else None, offline=offline, workers=workers,
                             curation_file=curation_file, progress=bars.advance, on_done=bars.done)
    for warning in report.warnings:
        terminal.warn(warning)
    terminal.harvest_summary(report.results)
    sys.exit(0 if report.ok else 1)


@cli.command()
@config_option("The sources file, to list sources never harvested too.")
@format_option("table", "json")
@click.pass_context
def status(ctx: click.Context, config_path: str, fmt: str) -> None:
    """Each source: its last run, records held, new in the last run, errors.

    \b
    Examples:
      evidence status
      evidence --db team.db status --format json | jq '.[] | select(.status != "ok")'
    """
    from evidence import terminal

    with open_catalogue(ctx) as cat:
        rows = cat.status(config_path if Path(config_path).exists() else None)
    click.echo(json.dumps(rows, indent=2, default=str)) if fmt == "json" else terminal.status_table(rows)


@cli.command()
@click.option("--out", default="evidence-demo", show_default=True, type=click.Path(file_okay=False),
              help="Folder for the demo's catalogue, captures, sources and curation files, and site.")
@click.pass_context
def demo(ctx: click.Context, out: str) -> None:
    """Offline: harvest the bundled recorded sources, build the site, say where it is.

    Needs no network and no set-up beyond installing the package. The demo data are recorded answers of
    all six source kinds (GOV.UK, NICE, Europe PMC, RSS and Atom feeds, HTML listing and digest pages,
    PDFs) about real publications, with one source recorded while its site was down: it fails on purpose
    and the demo still exits 0 (1 if any other source fails).

    \b
    Examples:
      evidence demo
      evidence demo --out /tmp/demo
    """
    from evidence import terminal
    from evidence.api import demo as run_demo

    given = ctx.parent is not None and ctx.parent.get_parameter_source("db") not in (None, click.core.ParameterSource.DEFAULT)
    db = ctx.obj["db"] if given else None  # --db or EVIDENCE_DB: the demo harvests into that catalogue
    report = run_demo(Path(out), db)
    terminal.harvest_summary(report.harvest.results)
    for source_id, why in report.planned_failures.items():
        terminal.say(f"{source_id} failed as planned: {why}.")
    site = report.site_report
    terminal.say(f"Built {site.build.pages} pages for {site.build.records} records; search index: "
                 f"{site.search_pages if site.search_pages is not None else 'not built'}.")
    terminal.say(f"Catalogue: {report.db}")
    terminal.say(f"Site: {(report.site / 'index.html').resolve()}")
    terminal.say("Next:")
    status = f"evidence --db {report.db} status" + (f" --config {report.sources}" if report.sources else "")
    for step in (f"evidence serve --site {report.site}", status,
                 f"evidence --db {report.db} review", f"evidence --db {report.db} curate ID --curation {report.curation} --set study_design=rct"):
        terminal.say(f"  {step}")
    sys.exit(0 if report.ok else 1)


@cli.command("classify")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@format_option("json", "text")
def classify_command(file: str, fmt: str) -> None:
    """Classify one .txt, .html or .pdf file, without a catalogue; JSON on stdout.

    Shows the interventions, outcomes and populations found, the study design, evidence level
    and direction of findings, and for each the phrases that produced it.

    \b
    Examples:
      evidence classify report.pdf | jq .study_design
      evidence classify page.html --format text
    """
    from evidence.classify.files import classify_file, describe

    result = classify_file(Path(file))
    click.echo(json.dumps(result.as_dict(), indent=2, ensure_ascii=False) if fmt == "json" else describe(result))


@cli.command()
@curation_option
@config_option("The sources file whose `scope` the records are screened against (absent: the default scope).")
@click.pass_context
def reclassify(ctx: click.Context, curation_file: str | None, config_path: str) -> None:
    """Re-run classification and screening over the whole catalogue (after a taxonomy or scope change), keeping curation.

    A --curation file named here must exist (a mistyped name would otherwise undo every correction).

    \b
    Examples:
      evidence reclassify
      evidence --taxonomy my-taxonomy.yaml reclassify --curation team/curation.yaml
    """
    from evidence import terminal
    from evidence.config import load_config

    scope = load_config(config_path).scope if Path(config_path).exists() else None
    with open_catalogue(ctx) as cat, terminal.counting("reclassify") as progress:
        report = cat.reclassify(curation_file, progress, scope=scope)
    for warning in report.warnings:
        terminal.warn(warning)
    terminal.say(report.model)
    terminal.say(f"Reclassified {report.records} records ({report.corrections} curated corrections applied where their record exists).")


@cli.command()
@click.option("--limit", type=click.IntRange(1, 1000), default=20, show_default=True, help="How many records to list.")
@click.option("--duplicates", is_flag=True,
              help="List instead the near-matches kept apart as different documents, and why (join with curate --same-as).")
@format_option("table", "json")
@click.pass_context
def review(ctx: click.Context, limit: int, duplicates: bool, fmt: str) -> None:
    """List the least confident records that no curator has checked yet, to correct with `evidence curate`.

    \b
    Examples:
      evidence review
      evidence review --limit 50 --format json
      evidence review --duplicates                 # near-matches kept apart, and why
    """
    from evidence import terminal

    if duplicates:
        with open_catalogue(ctx) as cat:
            pairs = cat.duplicates(limit)
        click.echo(json.dumps(pairs, indent=2, default=str)) if fmt == "json" else terminal.duplicates_table(pairs)
        return
    with open_catalogue(ctx) as cat:
        rows = cat.review(limit)
    click.echo(json.dumps(rows, indent=2, default=str)) if fmt == "json" else terminal.review_table(rows)


@cli.command()
@click.argument("record_id", metavar="ID")
@click.option("--set", "set_fields", multiple=True, metavar="FIELD=VALUE",
              help="study_design, evidence_level, direction, doc_type, publisher, published (YYYY[-MM[-DD]]), title, or inclusion "
                   "(include|exclude).")
@click.option("--unset", "unset_fields", multiple=True, metavar="FIELD",
              help="Drop one correction and restore the machine's value: a field, a tag kind, KIND=ID, inclusion or note.")
@click.option("--add", "add_tags", multiple=True, metavar="KIND=ID",
              help="Add a tag: intervention=, outcome=, population=, or pair=INTERVENTION:OUTCOME[:DIRECTION].")
@click.option("--remove", "remove_tags", multiple=True, metavar="KIND=ID", help="Remove a tag or pair the classifier gave.")
@click.option("--note", default=None, help="Why: kept in curation.yaml and shown on the record page instead of the machine's phrases.")
@click.option("--by", "by", default=None, metavar="NAME", help="Who is curating [default: git's user.name, else your user name].")
@click.option("--resolve", is_flag=True, help="The values given are the reconciled ones where two curators disagreed.")
@click.option("--drop", is_flag=True, help="Remove the record's whole entry from curation.yaml: every machine value comes back.")
@click.option("--not-same", "not_same", multiple=True, metavar="URL",
              help="This URL, where the record was also reached, is another document: split it off into its own record.")
@click.option("--same-as", "same_as", default=None, metavar="OTHER-ID", help="The record OTHER-ID is this same document: join it into this one.")
@curation_option
@click.pass_context
def curate(ctx: click.Context, record_id: str, set_fields: tuple[str, ...], unset_fields: tuple[str, ...], add_tags: tuple[str, ...],
           remove_tags: tuple[str, ...], note: str | None, by: str | None, resolve: bool, drop: bool, not_same: tuple[str, ...],
           same_as: str | None, curation_file: str | None) -> None:
    """Correct a record (by its id, the start of its id, or its URL): the change goes into curation.yaml and survives every re-harvest.

    \b
    Examples:
      evidence curate keeping-safe-an-analysis-1a2b3c4d --set study_design=rct \\
          --add intervention=foster-care --remove outcome=education --note "Trial in appendix B"
      evidence curate keeping-safe --add pair=foster-care:placement-stability:positive
      evidence curate keeping-safe --unset study_design          # the machine's design again
      evidence curate keeping-safe --resolve --set study_design=qualitative --by "A. Lead"
      evidence curate fostering-in-england --not-same https://example.org/fostering-2023   # a wrong merge, split
      evidence curate fostering-in-england --same-as fostering-in-england-copy             # one document, joined
    """
    from evidence import terminal
    from evidence.curation import Change, curator_name

    change = Change(by=curator_name(by), set=_pairs(set_fields, "--set"), add=_pairs(add_tags, "--add"), remove=_pairs(remove_tags, "--remove"),
                    unset=[u.strip() for u in unset_fields], note=note, resolve=resolve, drop=drop, not_same=list(not_same), same_as=same_as)
    with open_catalogue(ctx) as cat:
        done = cat.curate(record_id, change, curation_file)
    terminal.curated(done)


@cli.group(invoke_without_command=True)
@click.option("--include", "include", multiple=True, metavar="ID", help="Include this record (id, start of id, or URL; repeat for several).")
@click.option("--exclude", "exclude", multiple=True, metavar="ID", help="Exclude this record (repeat for several); needs --reason.")
@click.option("--reason", default=None, metavar="TEXT", help="Why: kept with the decisions in curation.yaml.")
@click.option("--by", "by", default=None, metavar="NAME", help="Who is screening [default: git's user.name, else your user name].")
@click.option("--resolve", is_flag=True, help="These decisions reconcile two curators who disagreed.")
@click.option("--dual", is_flag=True, help="Second screening: records others decided too, without showing their decisions.")
@click.option("--list", "list_only", is_flag=True, help="Print the queue, most likely relevant first, instead of screening one at a time.")
@click.option("--limit", type=click.IntRange(1, 10_000), default=20, show_default=True, help="How many records --list prints.")
@format_option("text", "json")
@curation_option
@click.pass_context
def screen(ctx: click.Context, include: tuple[str, ...], exclude: tuple[str, ...], reason: str | None, by: str | None, resolve: bool,
           dual: bool, list_only: bool, limit: int, fmt: str, curation_file: str | None) -> None:
    """Screen the records the inclusion rules left to a curator, most likely relevant first.

    One at a time in the terminal (keys: i include, e exclude with a reason, s skip, o open the link,
    q quit), or in batch with --include/--exclude. The order comes from a model retrained on the
    decisions so far (the rules' relevance until one include and one exclude exist); decisions go
    into curation.yaml with who made them and when, and survive every re-harvest.

    \b
    Examples:
      evidence screen
      evidence screen --list --limit 50
      evidence screen --include keeping-safe --exclude road-safety-1a2b --reason "adult services only"
      evidence screen --dual --by "Second Screener"
      evidence screen simulate --labels asreview-dataset.csv
    """
    if ctx.invoked_subcommand:
        return
    from evidence.curation import curator_name
    from evidence.screen import interactive

    curator = curator_name(by)
    with open_catalogue(ctx) as cat:
        if include or exclude:
            interactive.print_decisions(cat.screen(curator, list(include), list(exclude), reason, curation_file=curation_file, resolve=resolve))
            return
        with cat.screening(curator, curation_file, dual=dual) as session:
            if list_only or fmt == "json":
                state = session.state(limit)
                click.echo(json.dumps(state.as_dict(), indent=2)) if fmt == "json" else interactive.print_queue(state)
            else:
                interactive.run_interactive(session)


@screen.command("simulate")
@click.option("--labels", "labels", default=None, type=click.Path(dir_okay=False, exists=True),
              help="An ASReview dataset CSV: title, abstract, label_included (1/0); other columns are ignored.")
@click.option("--from-catalogue", is_flag=True, help="Replay the curators' own screening decisions in the catalogue instead.")
@click.option("--plot", default="screening-recall.png", show_default=True, type=click.Path(dir_okay=False), help="Where to draw the recall curve (PNG).")
@click.option("--no-plot", is_flag=True, help="Do not draw the recall curve.")
@config_option("The sources file whose `scope` gives the rules' relevance (absent: the default scope).")
@format_option("text", "json")
@curation_option
@click.pass_context
def screen_simulate(ctx: click.Context, labels: str | None, from_catalogue: bool, plot: str, no_plot: bool, config_path: str, fmt: str,
                    curation_file: str | None) -> None:
    """Replay screening over labelled records in the queue's order: WSS@95, recall after 10% and 25%, a recall curve.

    \b
    Examples:
      evidence screen simulate --labels dataset.csv          # last line: WSS@95 NN.N%
      evidence screen simulate --from-catalogue --format json
    """
    from evidence.config import load_config
    from evidence.screen import interactive
    from evidence.screen.simulate import plot_recall, read_labels, simulate

    if bool(labels) == from_catalogue:
        raise click.UsageError("give either --labels FILE or --from-catalogue")
    if labels:
        records = read_labels(Path(labels), load_config(config_path).scope if Path(config_path).exists() else None)
    else:
        with open_catalogue(ctx.find_root()) as cat:
            records = cat.screening_labels(curation_file)
    result = simulate(records)
    drawn = None if no_plot else plot_recall(result, Path(plot), Path(labels).name if labels else "curators' decisions")
    click.echo(json.dumps({**result.as_dict(), "plot": str(drawn) if drawn else None}, indent=2)) if fmt == "json" \
        else interactive.print_simulation(result, drawn)


@cli.command()
@format_option("text", "json")
@curation_option
@click.pass_context
def agreement(ctx: click.Context, fmt: str, curation_file: str | None) -> None:
    """Agreement between curators who screened or coded the same records: Cohen's kappa per field, and the conflicts.

    \b
    Examples:
      evidence agreement
      evidence agreement --format json | jq '.fields[] | select(.field == "study_design")'
    """
    from evidence.screen import interactive

    with open_catalogue(ctx) as cat:
        report = cat.agreement(curation_file)
    click.echo(json.dumps(report.as_dict(), indent=2, default=str)) if fmt == "json" else interactive.print_agreement(report)


@cli.command()
@click.option("--out", default="site", show_default=True, type=click.Path(file_okay=False), help="Folder to build the site into.")
@click.option("--base-url", default=None, metavar="URL",
              help="Where the site will be served (https://example.org/evidence); used for the absolute URLs of feeds and the sitemap.")
@click.option("--no-search", is_flag=True, help="Skip the Pagefind search index (faster; the search page then finds nothing).")
@click.option("--jobs", "-j", type=click.IntRange(min=1), default=None, metavar="N",
              help="Processes rendering record pages and downloads on large sites [default: one per CPU core, at most 4].")
@click.option("--force", is_flag=True, help="Build even when the catalogue is empty and the site in --out has records (it removes them).")
@click.option("--no-cache", is_flag=True, help="Reuse nothing of the last build (its cache in --out/.evidence-cache): make every page and download again.")
@click.option("--curation", "curation_file", default=None, metavar="FILE", type=click.Path(exists=True, dir_okay=False),
              help="Curators' decisions: the method page then shows their agreement (Cohen's kappa per field).")
@config_option("The sources file: the sources page names each source, its publisher, kind and query (skipped when the "
               "default file is absent).")
@click.pass_context
def build(ctx: click.Context, out: str, base_url: str | None, no_search: bool, jobs: int | None, force: bool,
          no_cache: bool, curation_file: str | None, config_path: str) -> None:
    """Build the static site: evidence map, intervention and record pages, search, feeds, downloads.

    Links are relative, so the folder works opened from disk or served under any path. A rebuild
    rewrites only the files whose content changed.

    \b
    Examples:
      evidence build
      evidence build --out public --base-url https://example.org/evidence
      evidence build --no-search --jobs 1      # quick look, one process
      evidence build --no-cache                # make everything again, reusing nothing of the last build
      evidence build --curation curation.yaml  # with the curators' agreement on the method page
      evidence build --config team/sources.yaml  # the sources page describes the sources of that file
    """
    from evidence import terminal
    from evidence.config import ConfigError
    from evidence.publish.feeds import is_absolute

    if base_url is not None and (not is_absolute(base_url) or any(c.isspace() or c in "?#" for c in base_url)):
        raise ConfigError(f"--base-url {base_url[:200]!r}: not an absolute http(s) URL; give where the site will be served, "
                          "e.g. https://example.org/evidence (or leave it out: links are relative)")
    from evidence.config import load_config

    given = ctx.get_parameter_source("config_path") is not click.core.ParameterSource.DEFAULT
    config = load_config(config_path) if given or Path(config_path).is_file() else None  # a named file must exist
    with open_catalogue(ctx) as cat:
        report = cat.build(Path(out), base_url, search=not no_search, jobs=jobs, force=force, curation_file=curation_file,
                           config=config, cache=not no_cache)
    b = report.build
    terminal.say(f"Built {b.pages} pages for {b.records} records into {out}: {b.written} files written, "
                 f"{b.unchanged} unchanged, {b.removed} removed; {len(b.added)} new records since the last build.")
    if report.search_pages is not None:
        terminal.say(f"Search index: {report.search_pages} record pages indexed (Pagefind).")
    elif report.search_warning:
        terminal.warn(f"search index not built: {report.search_warning}")


@cli.command()
@click.pass_context
def migrate(ctx: click.Context) -> None:
    """Upgrade the catalogue's schema to this version of evidence (Alembic migrations shipped in the package).

    A SQLite catalogue is upgraded by any command that opens it; a PostgreSQL one only by this command, so a
    team upgrades its shared database on purpose (after a backup: pg_dump). Nothing else changes.

    \b
    Examples:
      evidence migrate
      evidence --db postgresql://evidence@db.example.org/evidence migrate
    """
    from evidence import terminal

    with open_catalogue(ctx) as cat:
        before, after = cat.migrate()
    from evidence.catalogue import shown_url

    db = shown_url(ctx.obj["db"])
    terminal.say(f"Catalogue {db} is at schema {after} already." if before == after else
                 f"Upgraded catalogue {db} from schema {before} to {after}.")


@cli.command("export")
@click.option("--format", "fmt", type=click.Choice(list(EXPORTERS)), required=True, help="Open data format.")
@click.option("-o", "--output", default="-", show_default=True, type=click.Path(dir_okay=False, allow_dash=True),
              help="File to write; - for standard output.")
@click.pass_context
def export_command(ctx: click.Context, fmt: str, output: str) -> None:
    """Write the catalogue as open data (the same files the site offers for download).

    \b
    Examples:
      evidence export --format csv -o catalogue.csv
      evidence export --format ris > catalogue.ris
    """
    with open_catalogue(ctx) as cat:
        text = cat.export(fmt)
    if output == "-":
        click.echo(text, nl=False)
    else:
        Path(output).write_text(text, encoding="utf-8")


@cli.command()
@click.option("--site", default="site", show_default=True, type=click.Path(file_okay=False, exists=True), help="The built site.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535), help="Port on 127.0.0.1 (0: any free port).")
def serve(site: str, port: int) -> None:
    """Preview the built site on http://127.0.0.1:PORT (Ctrl-C to stop).

    \b
    Examples:
      evidence serve
      evidence serve --site evidence-demo/site --port 8080
    """
    import functools
    import http.server

    from evidence import terminal
    from evidence.config import ConfigError

    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(site))
    try:
        httpd = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
    except OSError as exc:
        raise ConfigError(f"cannot listen on 127.0.0.1:{port} ({exc.strerror}); choose another --port") from None
    with httpd:
        terminal.say(f"Serving {site} on http://127.0.0.1:{httpd.server_address[1]}/ (Ctrl-C to stop)")
        try:
            httpd.serve_forever()
        except KeyboardInterrupt:
            pass


def _pairs(values: tuple[str, ...], option: str) -> list[tuple[str, str]]:
    pairs = []
    for value in values:
        key, sep, rest = value.partition("=")
        if not sep or not key.strip() or not rest.strip():
            raise click.BadParameter(f"expected KEY=VALUE, got {value!r}", param_hint=option)
        pairs.append((key.strip(), rest.strip()))
    return pairs


def main() -> None:
    """Entry point of the `evidence` console script."""
    cli(prog_name="evidence")


if __name__ == "__main__":
    main()
