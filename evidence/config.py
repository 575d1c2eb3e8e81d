"""Load and validate `sources.yaml`: one typed schema, every error names the file and line."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from evidence.harvesters import HARVESTERS

KINDS = tuple(HARVESTERS)  # the harvester registry is the one list of source kinds


class ConfigError(Exception):
    """A maintainer's mistake in a configuration file, phrased as one line that says what to fix."""


@dataclass(frozen=True)
class Setting:
    """One documented key of sources.yaml: its default and what it is for."""

    default: Any
    help: str


# Top-level keys of sources.yaml. Precedence: these defaults < the file < environment < CLI flag.
TOP_LEVEL: dict[str, Setting] = {
    "contact": Setting("mailto:maintainers@example.org", "Contact put into the User-Agent so site owners can reach us."),
    "user_agent": Setting("evidence-harvester/0.1", "Product token at the start of the User-Agent."),
    "timeout": Setting(30.0, "Seconds one request may take in all, including reading the body."),
    "max_bytes": Setting(50_000_000, "Largest response body accepted, in bytes (after decompression)."),
    "retries": Setting(3, "Retries on 429, 5xx and timeouts, with exponential backoff."),
    "backoff": Setting(1.0, "Seconds before the first retry; doubled at each further one (Retry-After wins)."),
    "workers": Setting(4, "Sources harvested at once (each host keeps its own rate limit)."),
    "scope": Setting({}, "Inclusion criteria every record is screened against (see the scope keys); defaults for this field."),
    "sources": Setting([], "The list of sources (see the source keys)."),
}

# Keys of one source entry.
SOURCE_KEYS: dict[str, Setting] = {
    "id": Setting(None, "Unique slug naming the source (letters, digits, hyphens)."),
    "name": Setting(None, "Human name shown in status and on the site."),
    "publisher": Setting(None, "Publisher given to records that do not name their own."),
    "kind": Setting(None, "Harvester: " + " | ".join(KINDS) + "."),
    "url": Setting(None, "Where harvesting starts: the feed, API endpoint, listing page or PDF."),
    "params": Setting({}, "Query parameters sent with `url` (search APIs)."),
    "content_api": Setting("https://www.gov.uk/api/content", "govuk: base of the GOV.UK content API."),
    "rate_limit": Setting(1.0, "Requests per second to this source's host; 0 turns the limit off."),
    "enabled": Setting(True, "false keeps the source listed but skips it."),
    "max_items": Setting(500, "Most candidates taken from the source in one run."),
    "max_pages": Setting(20, "Most listing or API pages followed in one run."),
    "item": Setting(None, "html: CSS selector of one item on the listing page."),
    "link": Setting(None, "html/pdf: CSS selector (inside an item) of the link to its detail page or PDF."),
    "title": Setting(None, "html: CSS selector (inside an item) of its title."),
    "date": Setting(None, "html: CSS selector (inside an item) of its date."),
    "summary": Setting(None, "html: CSS selector (inside an item) of its summary."),
    "next": Setting(None, "html: CSS selector of the link to the next listing page."),
    "detail": Setting(True, "html/feed: fetch each item's own page for its fields (false: the listing holds them)."),
    "doc_type": Setting(None, "Document type given to records that do not state one (e.g. news, research_report)."),
}

# Keys of `scope`: the inclusion criteria (screen/rules.py applies them). Phrases are matched case-insensitively as
# whole words; a space also matches a hyphen, an apostrophe is optional and a final `*` stands for any word ending.
SCOPE_KEYS: dict[str, Setting] = {
    "topic": Setting([
        "child sexual exploitation", "CSE", "sexual exploitation", "sexually exploited", "child sexual abuse", "sexual abuse",
        "sexually abused", "child abuse", "child maltreatment", "maltreat*", "grooming", "groomed", "online abuse",
        "indecent images", "child abuse images", "harmful sexual behaviour*", "trafficked", "child trafficking",
        "modern slavery", "county lines", "criminal exploitation", "child exploitation", "exploitation of children",
        "contextual safeguarding", "child protection", "safeguarding children", "safeguard children", "child safeguarding",
        "children's social care", "children's services", "children's social work*", "social work with children",
        "looked after children", "looked-after child*", "children looked after", "children in care", "child in care",
        "care leaver*", "leaving care", "care experienced", "foster care", "foster carer*", "fostering", "foster placement*",
        "adopters", "adoptive", "adopted child*", "adoption support", "adoption agenc*", "special guardian*", "kinship care",
        "kinship carer*", "children's home*", "residential care for children", "secure accommodation", "missing from home",
        "missing from care", "runaway children", "children in need", "child in need", "multi-agency safeguarding",
        "serious case review*", "child safeguarding practice review*", "care proceedings", "family justice",
        "early help", "family help", "corporate parent*",
    ], "Phrases that name the subject: one in the title, or two different ones in the text, put a record in scope."),
    "related": Setting([
        "safeguarding", "abuse", "abused", "exploitation", "exploited", "neglect", "domestic abuse", "domestic violence",
        "violence against women and girls", "sexual violence", "sexual assault", "rape", "youth violence", "youth justice",
        "gang*", "vulnerable children", "vulnerable young people", "social work*", "social care", "adoption",
        "family support", "parenting", "school exclusion*", "pupil exclusion*", "going missing", "homeless*", "self-harm",
        "at risk of harm", "care system", "entering care", "children's commissioner*",
    ], "Phrases near the subject: with no topic phrase, they put a record up for screening by a curator (never include)."),
    "population": Setting([
        "child", "children", "childhood", "young people", "young person", "youth", "youths", "adolescen*", "teenage*",
        "teen", "teens", "girls", "boys", "minors", "juvenile*", "pupils", "infant*", "babies", "baby", "newborn*",
        "under 18*", "young women", "young men", "kids", "care leaver*", "looked after",
    ], "Phrases that name children and young people: a record is in scope only if one occurs."),
    "exclude": Setting([
        "road safety", "adult social care", "older people", "adults at risk", "adults with care and support needs",
    ], "Phrases of subjects outside the scope: with no topic phrase, they exclude a record even when related phrases occur."),
    "exclude_doc_types": Setting(["form", "foi_release", "transparency", "promotional"],
                                 "Document kinds outside the scope (doc_type values): such records are excluded."),
    "from_year": Setting(1990, "Records published before this year are excluded (undated records are kept)."),
    "to_year": Setting(None, "Records published after this year are excluded (none: no upper bound)."),
}


@dataclass(frozen=True)
class Scope:
    """The inclusion criteria of sources.yaml's `scope`, with this field's defaults."""

    topic: tuple[str, ...] = tuple(SCOPE_KEYS["topic"].default)
    related: tuple[str, ...] = tuple(SCOPE_KEYS["related"].default)
    population: tuple[str, ...] = tuple(SCOPE_KEYS["population"].default)
    exclude: tuple[str, ...] = tuple(SCOPE_KEYS["exclude"].default)
    exclude_doc_types: tuple[str, ...] = tuple(SCOPE_KEYS["exclude_doc_types"].default)
    from_year: int | None = SCOPE_KEYS["from_year"].default
    to_year: int | None = SCOPE_KEYS["to_year"].default


_ID_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")


def _default(schema: dict[str, Setting], key: str) -> Any:
    return schema[key].default


@dataclass
class Source:
    """One entry of sources.yaml, validated. Every default comes from SOURCE_KEYS."""

    id: str
    name: str
    kind: str
    url: str
    publisher: str | None = _default(SOURCE_KEYS, "publisher")
    params: dict[str, Any] = field(default_factory=dict)
    content_api: str = _default(SOURCE_KEYS, "content_api")
    rate_limit: float = _default(SOURCE_KEYS, "rate_limit")
    enabled: bool = _default(SOURCE_KEYS, "enabled")
    max_items: int = _default(SOURCE_KEYS, "max_items")
    max_pages: int = _default(SOURCE_KEYS, "max_pages")
    item: str | None = _default(SOURCE_KEYS, "item")
    link: str | None = _default(SOURCE_KEYS, "link")
    title: str | None = _default(SOURCE_KEYS, "title")
    date: str | None = _default(SOURCE_KEYS, "date")
    summary: str | None = _default(SOURCE_KEYS, "summary")
    next: str | None = _default(SOURCE_KEYS, "next")
    detail: bool = _default(SOURCE_KEYS, "detail")
    doc_type: str | None = _default(SOURCE_KEYS, "doc_type")
    line: int = 0  # where the entry starts in its file, for messages


@dataclass
class Config:
    """The whole sources file: fetch settings and the sources. Every default comes from TOP_LEVEL."""

    path: Path
    contact: str = _default(TOP_LEVEL, "contact")
    user_agent: str = _default(TOP_LEVEL, "user_agent")
    timeout: float = _default(TOP_LEVEL, "timeout")
    max_bytes: int = _default(TOP_LEVEL, "max_bytes")
    retries: int = _default(TOP_LEVEL, "retries")
    backoff: float = _default(TOP_LEVEL, "backoff")
    workers: int = _default(TOP_LEVEL, "workers")
    scope: Scope = field(default_factory=Scope)
    sources: list[Source] = field(default_factory=list)

    def select(self, ids: tuple[str, ...] | list[str] = ()) -> list[Source]:
        """The enabled sources, or exactly those named (enabled or not); an unknown id is an error."""
        if not ids:
            return [s for s in self.sources if s.enabled]
        known = {s.id: s for s in self.sources}
        missing = [i for i in ids if i not in known]
        if missing:
            raise ConfigError(f"{self.path}: no source with id {', '.join(missing)} (known: {', '.join(known)})")
        return [known[i] for i in ids]


class _LineLoader(yaml.SafeLoader):
    """A safe loader that remembers the line of every mapping as the key `__line__`."""


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> dict[str, Any]:
    mapping: dict[str, Any] = {str(key): value for key, value in loader.construct_mapping(node, deep=True).items()}
    mapping["__line__"] = node.start_mark.line + 1
    mapping["__lines__"] = {str(key.value): key.start_mark.line + 1 for key, _ in node.value}  # each key's own line
    return mapping


BOOKKEEPING = ("__line__", "__lines__")


def line_of(mapping: dict[str, Any], key: str) -> int:
    """The line a key of a parsed mapping stands on (the mapping's first line if unknown)."""
    return int(mapping.get("__lines__", {}).get(key) or mapping.get("__line__", 0))


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def read_yaml_with_lines(path: Path) -> Any:
    """Parse a YAML file safely; mappings carry `__line__`. A syntax error becomes a ConfigError."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from None
    try:
        return yaml.load(text, Loader=_LineLoader)  # noqa: S506 - SafeLoader subclass
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f":{mark.line + 1}" if mark else ""
        raise ConfigError(f"{path}{where}: invalid YAML: {exc.problem}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: invalid YAML: {exc}") from None


def strip_lines(value: Any) -> Any:
    """The same data without the `__line__` bookkeeping keys."""
    if isinstance(value, dict):
        return {k: strip_lines(v) for k, v in value.items() if k not in BOOKKEEPING}
    if isinstance(value, list):
        return [strip_lines(v) for v in value]
    return value


def _check_type(path: Path, line: int, who: str, key: str, value: Any, expected: Any) -> Any:
    """Coerce or reject one value against the dataclass default's type."""
    if expected is None:
        if value is not None and not isinstance(value, str):
            raise ConfigError(f"{path}:{line}: {who}: `{key}` must be text")
        return value
    if isinstance(expected, bool):
        if not isinstance(value, bool):
            raise ConfigError(f"{path}:{line}: {who}: `{key}` must be true or false")
        return value
    if isinstance(expected, (int, float)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            raise ConfigError(f"{path}:{line}: {who}: `{key}` must be a number >= 0")
        return type(expected)(value)
    if isinstance(expected, dict):
        if not isinstance(value, dict):
            raise ConfigError(f"{path}:{line}: {who}: `{key}` must be a mapping")
        return strip_lines(value)
    if isinstance(expected, str):
        if not isinstance(value, str):
            raise ConfigError(f"{path}:{line}: {who}: `{key}` must be text")
        return value
    return value


def load_config(path: str | Path) -> Config:
    """Read and validate a sources file; the first problem found is raised as a one-line ConfigError."""
    path = Path(path)
    data = read_yaml_with_lines(path)
    if not isinstance(data, dict):
        raise ConfigError(f"{path}:1: expected a mapping with `contact` and `sources`")
    top_line = data.get("__line__", 1)
    unknown = [k for k in data if k not in BOOKKEEPING and k not in TOP_LEVEL]
    if unknown:
        raise ConfigError(f"{path}:{line_of(data, unknown[0])}: unknown key `{unknown[0]}` (allowed: {', '.join(TOP_LEVEL)})")
    config = Config(path=path)
    for key, setting in TOP_LEVEL.items():
        if key in ("sources", "scope") or key not in data:
            continue
        setattr(config, key, _check_type(path, line_of(data, key), "top level", key, data[key], setting.default))
    if "scope" in data:
        config.scope = load_scope(path, data["scope"], line_of(data, "scope"))
    raw_sources = data.get("sources") or []
    if not isinstance(raw_sources, list):
        raise ConfigError(f"{path}:{top_line}: `sources` must be a list")
    seen: dict[str, int] = {}
    for index, raw in enumerate(raw_sources):
        if not isinstance(raw, dict):
            raise ConfigError(f"{path}: source #{index + 1} must be a mapping of keys")
        config.sources.append(_load_source(path, raw, index, seen))
    return config


def load_scope(path: Path, raw: Any, line: int) -> Scope:
    """Validate the `scope` mapping; a key left out keeps its default."""
    if raw is None:
        return Scope()
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}:{line}: `scope` must be a mapping (keys: {', '.join(SCOPE_KEYS)})")
    unknown = [k for k in raw if k not in BOOKKEEPING and k not in SCOPE_KEYS]
    if unknown:
        raise ConfigError(f"{path}:{line_of(raw, unknown[0])}: scope: unknown key `{unknown[0]}` (allowed: {', '.join(SCOPE_KEYS)})")
    values: dict[str, Any] = {}
    for key, value in raw.items():
        if key in BOOKKEEPING:
            continue
        where = f"{path}:{line_of(raw, key)}: scope"
        if key in ("from_year", "to_year"):
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or not 1000 <= value <= 9999):
                raise ConfigError(f"{where}: `{key}` must be a year such as 2000, or null")
            values[key] = value
            continue
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            raise ConfigError(f"{where}: `{key}` must be a list of phrases (text)")
        values[key] = tuple(v.strip() for v in value)
    scope = Scope(**values)
    if scope.from_year and scope.to_year and scope.from_year > scope.to_year:
        raise ConfigError(f"{path}:{line}: scope: `from_year` {scope.from_year} is after `to_year` {scope.to_year}")
    return scope


def _load_source(path: Path, raw: dict[str, Any], index: int, seen: dict[str, int]) -> Source:
    line = int(raw.get("__line__", 0))
    who = f"source '{raw.get('id', '#' + str(index + 1))}'"
    unknown = [k for k in raw if k not in BOOKKEEPING and k not in SOURCE_KEYS]
    if unknown:
        raise ConfigError(f"{path}:{line_of(raw, unknown[0])}: {who}: unknown key `{unknown[0]}` (allowed: {', '.join(SOURCE_KEYS)})")
    for required in ("id", "kind", "url"):
        if not raw.get(required):
            raise ConfigError(f"{path}:{line}: {who}: missing `{required}`")
    source_id = raw["id"]
    if not isinstance(source_id, str) or not _ID_RE.match(source_id):
        raise ConfigError(f"{path}:{line_of(raw, 'id')}: {who}: `id` must be a slug of lower-case letters, digits and hyphens")
    if source_id in seen:
        raise ConfigError(f"{path}:{line}: {who}: duplicate id (first used at line {seen[source_id]})")
    seen[source_id] = line
    if raw["kind"] not in KINDS:
        raise ConfigError(f"{path}:{line_of(raw, 'kind')}: {who}: unknown kind `{raw['kind']}` (one of: {', '.join(KINDS)})")
    url = raw["url"]
    if not isinstance(url, str) or not re.match(r"^https?://[^\s/]+", url):
        raise ConfigError(f"{path}:{line_of(raw, 'url')}: {who}: `url` must be an http(s) URL")
    values: dict[str, Any] = {"line": line}
    for key, value in raw.items():
        if key in BOOKKEEPING:
            continue
        expected = SOURCE_KEYS[key].default
        if key in ("id", "kind", "url"):
            values[key] = value
            continue
        values[key] = _check_type(path, line_of(raw, key), who, key, value, expected)
    values.setdefault("name", source_id)
    return Source(**values)
