"""What `evidence screen` shows in a terminal: one record at a time, and the keys to decide on it.

The only screening module that talks to the user (through click); the decisions go through
ScreeningSession like the batch ones, so both write the same curation.yaml entries.
"""
from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import click

from evidence.agreement import AgreementReport
from evidence.config import ConfigError
from evidence.screen.queue import QueueItem, QueueState, ScreeningSession
from evidence.screen.simulate import SimulationResult

KEYS = "[i]nclude  [e]xclude  [s]kip  [o]pen the link  [q]uit"
SUMMARY_CHARS = 900


def describe_state(state: QueueState) -> str:
    """One line: how many are left, how the queue is ranked, and how many relevant records may remain."""
    ranked = f"ranked by the model ({state.model})" if state.ranked_by == "model" else \
        "ranked by the rules' relevance (the model starts after one include and one exclude)"
    if state.decisions:
        recent = (f"; of the last {state.recent[1]} decisions {state.recent[0]} were includes: at that rate about "
                  f"{state.estimated_left:.0f} relevant records may be left")
    else:
        recent = ""
    who = f" for {state.curator}" + (" (second screening: others' decisions hidden)" if state.dual else "")
    return f"{state.to_screen} records to screen{who}, {ranked}{recent}."


def describe_item(item: QueueItem, position: int, total: int) -> str:
    """A record as shown for a decision: title, publisher, date, summary, the suggestion and the words behind it."""
    lines = [f"[{position}/{total}] {item.title}", f"    {item.publisher or 'publisher unknown'} | {item.published or 'undated'} | {item.record_id}"]
    summary = " ".join(item.summary.split())
    if summary:
        cut = summary[:SUMMARY_CHARS] + ("..." if len(summary) > SUMMARY_CHARS else "")
        lines += textwrap.wrap(cut, width=100, initial_indent="    ", subsequent_indent="    ")
    words = ", ".join(item.words) if item.words else "no words stand out"
    lines.append(f"    suggestion: {item.suggestion} ({item.score:.2f}), because of: {words}")
    if item.rules_reason:
        lines.append(f"    rules: {item.rules_reason}")
    return "\n".join(lines)


def run_interactive(screening: ScreeningSession) -> int:
    """Screen records one at a time until the queue is empty or the curator quits; returns the number of decisions."""
    made = 0
    while True:
        state = screening.state(limit=1)
        click.echo(describe_state(state))
        if not state.items:
            click.echo("Nothing left to screen.")
            return made
        item = state.items[0]
        click.echo(describe_item(item, made + 1, made + state.to_screen))
        while True:
            click.echo(KEYS + ": ", nl=False)
            try:
                key = click.getchar().lower()
            except OSError:
                raise ConfigError("no terminal to screen in: use `evidence screen --list`, or --include/--exclude ID") from None
            click.echo(key)
            if key == "o":
                if item.url.startswith(("http://", "https://")):
                    click.launch(item.url)
                continue
            break
        if key == "q":
            return made
        if key == "s":
            screening.skip(item.record_id)
            continue
        if key in ("i", "e"):
            reason = None
            if key == "e":
                reason = click.prompt("Reason for excluding", default="", show_default=False).strip()
                if not reason:
                    click.echo("Not excluded: a reason is needed.")
                    continue
            screening.decide([item.record_id], "include" if key == "i" else "exclude", reason)
            made += 1
            click.echo(f"{'Included' if key == 'i' else 'Excluded'} {item.record_id}.\n")
        else:
            click.echo(f"Unknown key {key!r}.")


def print_queue(state: QueueState) -> None:
    """`evidence screen --list`: the queue's state, then each record: its score, the suggestion, its id and title."""
    click.echo(describe_state(state))
    for item in state.items:
        click.echo(item.record_id)
        words = f" ({', '.join(item.words[:4])})" if item.words else ""
        click.echo(f"    {item.score:.2f} {item.suggestion}{words}  {item.title[:90]}")


def print_decisions(records: list[Any]) -> None:
    """What batch decisions did, one record a line."""
    for record in records:
        click.echo(f"{record.id}: {record.inclusion} ({record.inclusion_reason})")


def print_simulation(result: SimulationResult, plot: Path | None) -> None:
    """`evidence screen simulate`: the figures, the plot's path, and last the line `WSS@95 NN.N%`."""
    click.echo(f"Simulated screening of {result.records} records ({result.relevant} relevant) in the queue's order: {result.model}; "
               "the rules' relevance orders it until the first include and exclude.")
    click.echo(f"Recall after 10% screened: {result.recall_10:.1%}")
    click.echo(f"Recall after 25% screened: {result.recall_25:.1%}")
    click.echo(f"95% recall after {result.screened_at_95} records ({result.screened_at_95 / result.records:.1%} screened)")
    for estimate in result.estimates[:: max(1, len(result.estimates) // 5)]:
        click.echo(f"  after {estimate['screened']:.0f} screened: estimated {estimate['estimated_left']:.0f} relevant left, "
                   f"truly {estimate['true_left']:.0f}")
    if plot is not None:
        click.echo(f"Recall curve: {plot}")
    click.echo(f"WSS@95 {result.wss95 * 100:.1f}%")


def print_agreement(report: AgreementReport) -> None:
    """`evidence agreement`: kappa per field and pair of curators, then the conflicts."""
    if not report.records:
        click.echo("No record has been screened or coded by two curators (use --by NAME; a second curator: evidence screen --dual).")
        return
    click.echo(f"{report.records} records judged by two curators or more ({', '.join(report.curators)}).")
    for figure in report.fields:
        k = "undefined (one category only)" if figure.kappa is None else f"{figure.kappa:.2f}"
        click.echo(f"  {figure.field:<14} {' vs '.join(figure.curators)}: {figure.items} items, {figure.share:.0%} agreed, kappa {k}")
    if report.conflicts:
        click.echo(f"Conflicts ({len(report.unresolved)} unresolved; resolve with: evidence curate ID --resolve --set FIELD=VALUE, "
                   "or --resolve --add/--remove KIND=ID):")
    for conflict in report.conflicts:
        votes = ", ".join(f"{name}: {value}" for name, value in conflict.values.items())
        state = f"resolved: {conflict.resolved}" if conflict.resolved is not None else "unresolved"
        click.echo(conflict.record_id)
        click.echo(f"    {conflict.field}: {votes} ({state})")
