"""The `evidence` command: a thin layer over the library. Each command reads its options and calls it."""
from __future__ import annotations

import functools
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from evidence import __version__

DEFAULT_DB = "catalogue.db"


def _fail(message: str, code: int = 2) -> None:
    click.echo(f"Error: {message}", err=True)
    sys.exit(code)


def library_errors(func: Callable[..., Any]) -> Callable[..., Any]:
    """Turn the library's one-line errors into a message and exit code 2, never a traceback."""
    from evidence.catalogue import CatalogueError
    from evidence.config import ConfigError

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except (ConfigError, CatalogueError) as exc:
            _fail(str(exc))
    return wrapper


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option("--db", envvar="EVIDENCE_DB", default=DEFAULT_DB, show_default=True, metavar="URL-OR-PATH",
              help="The catalogue: a SQLite file path or any SQLAlchemy URL (postgresql://...). Env: EVIDENCE_DB.")
@click.option("--taxonomy", envvar="EVIDENCE_TAXONOMY", default=None, metavar="FILE",
              help="A taxonomy file to use instead of the packaged one (copy evidence/classify/taxonomy.yaml and extend it; "
                   "then `evidence reclassify`). Env: EVIDENCE_TAXONOMY.")
@click.version_option(__version__, prog_name="evidence")
@click.pass_context
def cli(ctx: click.Context, db: str, taxonomy: str | None) -> None:
    """Harvest, classify and publish evidence on child sexual exploitation and children's social care.

    \b
    Typical use:
      evidence harvest              fetch every enabled source in ./sources.yaml
      evidence status               how each source did last time
      evidence demo                 the whole pipeline on bundled recorded sources, offline
    """
    ctx.obj = {"db": db}
    if taxonomy:
        os.environ["EVIDENCE_TAXONOMY"] = str(Path(taxonomy).expanduser().resolve())  # read by classify.taxonomy.taxonomy_path


def captures_dir(db: str, explicit: str | None) -> Path:
    """Where raw responses are kept: --captures, EVIDENCE_CAPTURES, or `captures/` beside a SQLite file."""
    if explicit:
        return Path(explicit)
    if os.environ.get("EVIDENCE_CAPTURES"):
        return Path(os.environ["EVIDENCE_CAPTURES"])
    if "://" not in db:
        return Path(db).expanduser().resolve().parent / "captures"
    return Path("captures")


@cli.command()
@click.option("--config", "config_path", default="sources.yaml", show_default=True, type=click.Path(dir_okay=False),
              help="The sources file to read.")
@click.option("--source", "source_ids", multiple=True, metavar="ID",
              help="Harvest only this source (repeat for several); names a disabled source too.")
@click.option("--offline", is_flag=True, help="No network: re-extract and re-classify from stored captures.")
@click.option("--captures", "captures", default=None, metavar="DIR",
              help="Capture store of raw responses [default: captures/ beside the catalogue; env EVIDENCE_CAPTURES].")
@click.option("--workers", type=click.IntRange(1, 32), default=None, help="Sources harvested at once [default: from sources.yaml, 4].")
@click.option("--quiet", "-q", is_flag=True, help="No progress bars; the summary table only.")
@click.pass_context
@library_errors
def harvest(ctx: click.Context, config_path: str, source_ids: tuple[str, ...], offline: bool, captures: str | None,
            workers: int | None, quiet: bool) -> None:
    """Fetch, extract, classify and store the sources of sources.yaml.

    Polite (robots.txt, rate limit per host, a User-Agent with your contact) and incremental
    (conditional requests; unchanged documents are not re-read). Each source is committed on its
    own: one failing source never loses the others. Exit code 0 when every source succeeded,
    1 when any failed, 2 for a mistake in the command or the sources file.

    \b
    Examples:
      evidence harvest
      evidence harvest --source dfe-research --source rees-centre
      evidence harvest --config other.yaml --offline
    """
    from evidence.config import load_config
    from evidence.runner import run_harvest

    config = load_config(config_path)
    sources = config.select(source_ids)
    ok = run_harvest(ctx.obj["db"], config, sources, captures_dir(ctx.obj["db"], captures), offline=offline,
                     workers=workers, quiet=quiet)
    sys.exit(0 if ok else 1)


@cli.command()
@click.option("--config", "config_path", default="sources.yaml", show_default=True, type=click.Path(dir_okay=False),
              help="The sources file, to list sources never harvested too.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.pass_context
@library_errors
def status(ctx: click.Context, config_path: str, fmt: str) -> None:
    """Each source: its last run, records held, new in the last run, errors."""
    from evidence.runner import print_status, status_rows

    rows = status_rows(ctx.obj["db"], config_path if Path(config_path).exists() else None)
    if fmt == "json":
        click.echo(json.dumps(rows, indent=2, default=str))
    else:
        print_status(rows)


@cli.command()
@click.option("--out", default="evidence-demo", show_default=True, type=click.Path(file_okay=False),
              help="Folder for the demo's catalogue, captures and site.")
@click.pass_context
@library_errors
def demo(ctx: click.Context, out: str) -> None:
    """Offline: harvest the bundled recorded sources, build the site, say where it is.

    Needs no network and no set-up beyond installing the package. The demo data are recorded-style
    answers of GOV.UK, NICE, a feed, a digest page and Europe PMC, built from public facts.
    """
    from evidence.runner import run_demo

    ok = run_demo(Path(out))
    sys.exit(0 if ok else 1)


@cli.command("classify")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--format", "fmt", type=click.Choice(["json", "text"]), default="json", show_default=True)
@library_errors
def classify_command(file: str, fmt: str) -> None:
    """Classify one .txt, .html or .pdf file, without a catalogue; JSON on stdout.

    Shows the interventions, outcomes and populations found, the study design, evidence level
    and direction of findings, and for each the phrases that produced it.

    \b
    Example:
      evidence classify report.pdf | jq .study_design
    """
    from evidence.classify.files import classify_file, describe

    result = classify_file(Path(file))
    click.echo(json.dumps(result.as_dict(), indent=2, ensure_ascii=False) if fmt == "json" else describe(result))


@cli.command()
@click.option("--curation", "curation_file", default=None, metavar="FILE",
              help="Curators' corrections [default: ./curation.yaml; env EVIDENCE_CURATION].")
@click.pass_context
@library_errors
def reclassify(ctx: click.Context, curation_file: str | None) -> None:
    """Re-run classification over the whole catalogue (after a taxonomy change), keeping curation."""
    from evidence.runner import run_reclassify

    run_reclassify(ctx.obj["db"], curation_file)


@cli.command()
@click.option("--limit", type=click.IntRange(1, 1000), default=20, show_default=True, help="How many records to list.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.pass_context
@library_errors
def review(ctx: click.Context, limit: int, fmt: str) -> None:
    """List the least confident records that no curator has checked yet, to correct with `evidence curate`."""
    from evidence.runner import print_review, review_rows

    rows = review_rows(ctx.obj["db"], limit)
    click.echo(json.dumps(rows, indent=2, default=str)) if fmt == "json" else print_review(rows)


@cli.command()
@click.argument("record_id")
@click.option("--set", "set_fields", multiple=True, metavar="FIELD=VALUE",
              help="study_design, evidence_level, direction, doc_type, publisher, published or title.")
@click.option("--add", "add_tags", multiple=True, metavar="KIND=ID", help="Add a tag: intervention=, outcome= or population=.")
@click.option("--remove", "remove_tags", multiple=True, metavar="KIND=ID", help="Remove a tag the classifier gave.")
@click.option("--note", default=None, help="Why: kept in curation.yaml and shown on the record page.")
@click.option("--curation", "curation_file", default=None, metavar="FILE",
              help="Curators' corrections [default: ./curation.yaml; env EVIDENCE_CURATION].")
@click.pass_context
@library_errors
def curate(ctx: click.Context, record_id: str, set_fields: tuple[str, ...], add_tags: tuple[str, ...],
           remove_tags: tuple[str, ...], note: str | None, curation_file: str | None) -> None:
    """Correct a record: the change goes into curation.yaml and survives every re-harvest.

    \b
    Example:
      evidence curate keeping-safe-an-analysis-1a2b3c4d --set study_design=rct \\
          --add intervention=foster-care --remove outcome=education --note "Trial in appendix B"
    """
    from evidence.runner import run_curate

    run_curate(ctx.obj["db"], record_id, _pairs(set_fields, "--set"), _pairs(add_tags, "--add"),
               _pairs(remove_tags, "--remove"), note, curation_file)


@cli.command()
@click.option("--out", default="site", show_default=True, type=click.Path(file_okay=False), help="Folder to build the site into.")
@click.option("--base-url", default=None, metavar="URL",
              help="Where the site will be served (https://example.org/evidence); used for the absolute URLs of feeds and the sitemap.")
@click.option("--no-search", is_flag=True, help="Skip the Pagefind search index (faster; the search page then finds nothing).")
@click.option("--jobs", "-j", type=click.IntRange(min=1), default=None, metavar="N",
              help="Processes rendering record pages and downloads on large sites [default: one per CPU core, at most 4].")
@click.pass_context
@library_errors
def build(ctx: click.Context, out: str, base_url: str | None, no_search: bool, jobs: int | None) -> None:
    """Build the static site: evidence map, intervention and record pages, search, feeds, downloads.

    Links are relative, so the folder works opened from disk or served under any path. A rebuild
    rewrites only the files whose content changed.

    \b
    Examples:
      evidence build
      evidence build --out public --base-url https://example.org/evidence
      evidence build --no-search --jobs 1      # quick look, one process
    """
    from evidence.runner import run_build

    run_build(ctx.obj["db"], Path(out), base_url, search=not no_search, jobs=jobs)


@cli.command("export")
@click.option("--format", "fmt", type=click.Choice(["csv", "json", "ris", "bibtex"]), required=True, help="Open data format.")
@click.option("-o", "--output", default="-", show_default=True, type=click.Path(dir_okay=False, allow_dash=True),
              help="File to write; - for standard output.")
@click.pass_context
@library_errors
def export_command(ctx: click.Context, fmt: str, output: str) -> None:
    """Write the catalogue as open data (the same files the site offers for download).

    \b
    Examples:
      evidence export --format csv -o catalogue.csv
      evidence export --format ris > catalogue.ris
    """
    from evidence.runner import run_export

    text = run_export(ctx.obj["db"], fmt)
    if output == "-":
        click.echo(text, nl=False)
    else:
        try:
            Path(output).write_text(text, encoding="utf-8")
        except OSError as exc:
            _fail(f"{output}: cannot write ({exc.strerror})")


@cli.command()
@click.option("--site", default="site", show_default=True, type=click.Path(file_okay=False, exists=True), help="The built site.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535), help="Port on 127.0.0.1 (0: any free port).")
def serve(site: str, port: int) -> None:
    """Preview the built site on http://127.0.0.1:PORT (Ctrl-C to stop)."""
    from evidence.runner import run_serve

    run_serve(Path(site), port)


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
