"""What `evidence screen` shows in a terminal: one record at a time, and the keys to decide on it.

The only screening module that talks to the user (through click); the decisions go through
ScreeningSession like the batch ones, so both write the same curation.yaml entries.
"""
from __future__ import annotations

import textwrap

import click

from evidence.screen.queue import QueueItem, QueueState, ScreeningSession

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
            key = click.getchar().lower()
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
