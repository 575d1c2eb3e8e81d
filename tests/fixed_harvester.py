"""A harvester kind for tests (registered with monkeypatch.setitem(HARVESTERS, "fixed", "fixed_harvester")): it yields
the candidates put in CANDIDATES[source.id], as any harvester yields what it read."""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from evidence.models import Candidate

CANDIDATES: dict[str, list[Candidate]] = {}


def harvest(source: Any, fetcher: Any) -> Iterator[Candidate]:
    """The candidates given for this source, in order."""
    yield from CANDIDATES.get(source.id, [])
