"""The only code that talks to the network: polite, bounded, conditional, and recorded.

Polite: robots.txt honoured (RFC 9309 with Protego: `*` and `$` wildcards, longest-match precedence, Crawl-delay
and Request-rate as a per-host minimum spacing), a User-Agent with the maintainers' contact, a per-host rate limit.
Bounded: only http(s), at most 5 redirects, body size and total time capped.
Conditional: the ETag / Last-Modified of the last capture are sent back; a 304 reuses the capture.
Recorded: every body kept goes to the capture store, which also serves `--offline` runs.
"""
from __future__ import annotations

import email.utils
import http
import json
import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx
from bs4 import UnicodeDammit
from protego import Protego

from evidence.capture import CaptureStore

REDIRECT_CODES = {301, 302, 303, 307, 308}
MAX_RETRY_AFTER = 120.0  # seconds; a longer Retry-After fails the request instead of stalling the run
MAX_CRAWL_DELAY = 60.0  # seconds; a site asking for more between requests is not harvested (asked, not ignored)
MAX_ROBOTS_BYTES = 500_000  # RFC 9309 asks crawlers to read at least 500 KiB of a robots.txt

log = logging.getLogger(__name__)


class FetchError(Exception):
    """A URL that could not be fetched; str() is one line naming the URL and the reason."""

    def __init__(self, url: str, reason: str):
        super().__init__(f"{url}: {reason}")
        self.url = url
        self.reason = reason


class RobotsDisallowed(FetchError):
    """robots.txt asks us not to fetch this URL."""


@dataclass
class Response:
    """A fetched (or replayed) response with its body fully read."""

    url: str
    status: int
    headers: dict[str, str]
    body: bytes
    not_modified: bool = False  # the server answered 304; body is the stored capture
    from_capture: bool = False  # offline replay
    _text: str | None = field(default=None, repr=False)

    @property
    def content_type(self) -> str:
        """The media type without parameters, lower-cased."""
        return self.headers.get("content-type", "").split(";")[0].strip().lower()

    @property
    def charset(self) -> str | None:
        """The charset the server declared, if any."""
        for part in self.headers.get("content-type", "").split(";")[1:]:
            key, _, value = part.partition("=")
            if key.strip().lower() == "charset" and value.strip():
                return value.strip().strip('"').lower()
        return None

    @property
    def text(self) -> str:
        """The body as text: the declared charset if it decodes cleanly, else sniffed (UnicodeDammit)."""
        if self._text is None:
            declared = self.charset
            text: str | None = None
            if declared:
                try:
                    text = self.body.decode(declared)
                except (LookupError, UnicodeDecodeError):
                    text = None
            if text is None:
                dammit = UnicodeDammit(self.body, ["utf-8", "windows-1252"])
                text = dammit.unicode_markup or self.body.decode("utf-8", errors="replace")
            self._text = text
        return self._text

    def json(self) -> Any:
        """The body parsed as JSON; invalid JSON is a FetchError naming the URL."""
        try:
            return json.loads(self.text)
        except ValueError as exc:
            raise FetchError(self.url, f"invalid JSON ({exc})") from None


class _HostGate:
    """Spaces out request starts to one host: at most `rate` per second, and never closer than the host's
    robots.txt asks (Crawl-delay, Request-rate)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.next_start = 0.0
        self.min_interval = 0.0  # seconds, from robots.txt

    def wait(self, rate: float) -> None:
        interval = max(1.0 / rate if rate > 0 else 0.0, self.min_interval)
        if interval <= 0:
            return
        with self.lock:
            now = time.monotonic()
            if self.next_start > now:
                time.sleep(self.next_start - now)
                now = self.next_start
            self.next_start = now + interval


class Fetcher:
    """Fetch URLs politely; one instance is shared by all harvesters of a run (thread-safe)."""

    def __init__(
        self,
        store: CaptureStore | None,
        *,
        contact: str = "mailto:maintainers@example.org",
        user_agent: str = "evidence-harvester/0.1",
        timeout: float = 30.0,
        max_bytes: int = 50_000_000,
        retries: int = 3,
        backoff: float = 1.0,
        max_redirects: int = 5,
        offline: bool = False,
        respect_robots: bool = True,
        transport: httpx.BaseTransport | None = None,
    ):
        self.store = store
        self.user_agent = f"{user_agent} (+{contact})"
        self.robots_agent = user_agent.split("/")[0]
        self.timeout = timeout
        self.max_bytes = max_bytes
        self.retries = retries
        self.backoff = backoff
        self.max_redirects = max_redirects
        self.offline = offline
        self.respect_robots = respect_robots
        self._gates: dict[str, _HostGate] = {}
        self._robots: dict[str, Protego | FetchError] = {}
        self._lock = threading.Lock()
        self.requests = 0  # network requests made, for the summary and benchmarks
        self._client = httpx.Client(
            headers={"User-Agent": self.user_agent, "Accept-Encoding": "gzip, deflate"},
            timeout=httpx.Timeout(timeout),
            follow_redirects=False,
            transport=transport,
            limits=httpx.Limits(max_connections=32, max_keepalive_connections=16),
        )

    def close(self) -> None:
        """Close the connection pool."""
        self._client.close()

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- public -----------------------------------------------------------------------------------

    def get(
        self,
        url: str,
        *,
        params: dict[str, Any] | None = None,
        rate_limit: float = 1.0,
        conditional: bool = True,
    ) -> Response:
        """GET a URL (with query `params`) and return its body; FetchError on any failure."""
        full = str(httpx.URL(url, params=params)) if params else url
        _require_http(full)
        if self.offline:
            return self._replay(full)
        previous = self.store.latest(full) if (self.store and conditional) else None
        headers: dict[str, str] = {}
        if previous is not None and previous.status == 200:
            if previous.etag:
                headers["If-None-Match"] = previous.etag
            if previous.last_modified:
                headers["If-Modified-Since"] = previous.last_modified
        response = self._follow(full, headers, rate_limit)
        if response.status == 304:
            body = self.store.body(previous) if (self.store and previous) else None
            if body is None:  # validator known but the bytes are gone: ask again in full
                return self.get(url, params=params, rate_limit=rate_limit, conditional=False)
            response.body, response.not_modified, response.status = body, True, 200
            response.headers = {**previous.headers, **{k: v for k, v in response.headers.items() if k == "date"}} if previous else response.headers
            return response
        if self.store is not None:
            self.store.put(full, response.body, response.status, response.headers)
        return response

    # -- internals --------------------------------------------------------------------------------

    def _replay(self, url: str) -> Response:
        capture = self.store.latest(url) if self.store else None
        body = self.store.body(capture) if (self.store and capture) else None
        if capture is None or body is None:
            raise FetchError(url, "not in the capture store (offline run; harvest it online first)")
        if capture.status >= 400:  # a recorded failure replays as the failure it was
            raise FetchError(url, f"the server answered HTTP {capture.status} {_phrase(capture.status)} (recorded answer)")
        return Response(url=url, status=capture.status, headers=dict(capture.headers), body=body, from_capture=True)

    def _gate(self, host: str) -> _HostGate:
        with self._lock:
            return self._gates.setdefault(host, _HostGate())

    def _follow(self, url: str, headers: dict[str, str], rate_limit: float) -> Response:
        seen = {url}
        current = url
        for _ in range(self.max_redirects + 1):
            self._check_robots(current, rate_limit)
            response = self._request(current, headers, rate_limit)
            if response.status not in REDIRECT_CODES:
                if response.status >= 400:
                    raise FetchError(current, f"HTTP {response.status}")
                return response
            location = response.headers.get("location")
            if not location:
                raise FetchError(current, f"HTTP {response.status} redirect without a Location")
            target = urljoin(current, location.strip())
            _require_http(target)
            if target in seen:
                raise FetchError(url, f"redirect loop (back to {target})")
            seen.add(target)
            current = target
        raise FetchError(url, f"more than {self.max_redirects} redirects")

    def _request(self, url: str, headers: dict[str, str], rate_limit: float) -> Response:
        """One URL, with retries on 429, 5xx and transport failures; redirects are returned as-is."""
        host = urlsplit(url).netloc.lower()
        last_error = "no attempt made"
        for attempt in range(self.retries + 1):
            self._gate(host).wait(rate_limit)
            delay = self.backoff * (2**attempt)
            try:
                response = self._read(url, headers)
            except FetchError:
                raise
            except httpx.TimeoutException:
                last_error = f"timed out after {self.timeout:g}s"
            except httpx.TransportError as exc:
                last_error = f"connection failed ({type(exc).__name__}: {exc})".replace("\n", " ")
            else:
                if response.status == 429 or response.status >= 500:
                    last_error = f"HTTP {response.status}"
                    retry_after = _retry_after(response.headers.get("retry-after"))
                    if retry_after is not None:
                        if retry_after > MAX_RETRY_AFTER:
                            raise FetchError(url, f"HTTP {response.status}, Retry-After {retry_after:g}s is too long")
                        delay = max(retry_after, 0.0)
                else:
                    return response
            if attempt < self.retries:
                log.info("retrying %s in %gs after %s (attempt %d of %d)", url, delay, last_error, attempt + 2, self.retries + 1)
                time.sleep(delay)
        raise FetchError(url, f"{last_error} (after {self.retries + 1} attempts)")

    def _read(self, url: str, headers: dict[str, str]) -> Response:
        """Stream one response, enforcing the size and total-time caps."""
        deadline = time.monotonic() + self.timeout
        with self._lock:
            self.requests += 1
        with self._client.stream("GET", url, headers=headers) as stream:
            declared = stream.headers.get("content-length")
            if declared and declared.isdigit() and int(declared) > self.max_bytes:
                raise FetchError(url, f"body of {int(declared)} bytes is larger than the {self.max_bytes}-byte limit")
            chunks: list[bytes] = []
            size = 0
            for chunk in stream.iter_bytes():
                size += len(chunk)
                if size > self.max_bytes:
                    raise FetchError(url, f"body larger than the {self.max_bytes}-byte limit")
                if time.monotonic() > deadline:
                    raise FetchError(url, f"took longer than {self.timeout:g}s in all")
                chunks.append(chunk)
            return Response(
                url=url,
                status=stream.status_code,
                headers={k.lower(): v for k, v in stream.headers.items()},
                body=b"".join(chunks),
            )

    def _check_robots(self, url: str, rate_limit: float) -> None:
        if not self.respect_robots:
            return
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        with self._lock:
            rules = self._robots.get(origin)
        if rules is None:
            rules = self._load_robots(origin, rate_limit)
            with self._lock:
                self._robots[origin] = rules
        if isinstance(rules, FetchError):
            raise FetchError(url, f"robots.txt could not be read ({rules.reason})")
        if not rules.can_fetch(url, self.robots_agent):
            log.info("robots.txt of %s disallows %s for %s: skipped", origin, url, self.robots_agent)
            raise RobotsDisallowed(url, "disallowed by robots.txt")
        delay = self._gate(parts.netloc.lower()).min_interval
        if delay > MAX_CRAWL_DELAY:
            raise FetchError(url, f"robots.txt asks for {delay:g}s between requests, more than the {MAX_CRAWL_DELAY:g}s this harvester waits")

    def _load_robots(self, origin: str, rate_limit: float) -> Protego | FetchError:
        """RFC 9309: 4xx means no rules; 5xx or unreachable means stay out for this run; redirects are followed
        (at most `max_redirects`). Crawl-delay and Request-rate for our agent become the host's minimum spacing."""
        url = origin + "/robots.txt"
        try:
            for _ in range(self.max_redirects + 1):
                response = self._request(url, {}, rate_limit)
                location = response.headers.get("location")
                if response.status not in REDIRECT_CODES or not location:
                    break
                url = urljoin(url, location.strip())
                _require_http(url)
            else:
                raise FetchError(origin + "/robots.txt", f"more than {self.max_redirects} redirects")
        except FetchError as exc:
            log.info("robots.txt of %s could not be read (%s): its pages are not fetched in this run", origin, exc.reason)
            return exc
        if 400 <= response.status < 500 or response.status in REDIRECT_CODES:
            log.info("robots.txt of %s: HTTP %d, no rules (everything allowed)", origin, response.status)
            return Protego.parse("")
        rules = Protego.parse(response.body[:MAX_ROBOTS_BYTES].decode("utf-8", errors="replace"))
        interval = float(rules.crawl_delay(self.robots_agent) or 0.0)
        rate = rules.request_rate(self.robots_agent)
        if rate is not None and rate.requests:
            interval = max(interval, rate.seconds / rate.requests)
        if interval > 0:
            self._gate(urlsplit(origin).netloc.lower()).min_interval = interval
            log.info("robots.txt of %s asks for %gs between requests: honoured", origin, interval)
        else:
            log.debug("robots.txt of %s read", origin)
        return rules


def _phrase(status: int) -> str:
    """The reason phrase of an HTTP status ("Service Unavailable"), or "" for an unknown code."""
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return ""


def _require_http(url: str) -> None:
    scheme = urlsplit(url).scheme.lower()
    if scheme not in ("http", "https"):
        raise FetchError(url, f"only http(s) URLs are fetched, not {scheme or 'a relative URL'}")


def _retry_after(value: str | None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())
