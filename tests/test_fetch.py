"""The fetcher against a real loopback server: retries, Retry-After, timeouts, 304, robots, redirects, caps."""
from __future__ import annotations

import logging
import time

import pytest
from conftest import make_fetcher
from server import Answer, gzip_bytes

from evidence.capture import CaptureStore
from evidence.fetch import FetchError, RobotsDisallowed


def test_500_then_200_is_retried(server, fetcher):
    server.sequence("/flaky", [Answer(b"oops", 500), Answer(b"fine", 200)])
    response = fetcher.get(server.url("/flaky"), rate_limit=0)
    assert response.body == b"fine"
    assert server.hits("/flaky") == 2


def test_persistent_5xx_fails_with_one_line_naming_the_url(server, captures):
    server.add("/down", b"no", status=503)
    with make_fetcher(captures, retries=1) as fetcher:
        with pytest.raises(FetchError) as info:
            fetcher.get(server.url("/down"), rate_limit=0)
    message = str(info.value)
    assert server.url("/down") in message and "HTTP 503" in message and "\n" not in message
    assert server.hits("/down") == 2


def test_429_honours_retry_after(server, fetcher):
    server.sequence("/busy", [Answer(b"slow down", 429, {"Retry-After": "1"}), Answer(b"ok", 200)])
    started = time.monotonic()
    response = fetcher.get(server.url("/busy"), rate_limit=0)
    assert response.body == b"ok"
    assert time.monotonic() - started >= 0.9  # waited as told, not the 0.01 s backoff


def test_timeout_is_retried_then_reported(server, captures):
    server.add("/slow", b"late", delay=1.5)
    with make_fetcher(captures, timeout=0.3, retries=1) as fetcher:
        with pytest.raises(FetchError) as info:
            fetcher.get(server.url("/slow"), rate_limit=0)
    assert "timed out" in str(info.value)


def test_slow_drip_body_hits_the_total_time_cap(server, captures):
    server.add("/drip", b"x" * 200, drip=0.02)  # 4 s in all, each byte well within the read timeout
    with make_fetcher(captures, timeout=0.5, retries=0) as fetcher:
        with pytest.raises(FetchError) as info:
            fetcher.get(server.url("/drip"), rate_limit=0)
    assert "longer than" in str(info.value) or "timed out" in str(info.value)


def test_second_request_is_conditional_and_304_reuses_the_capture(server, fetcher):
    route = server.add("/feed", b"<rss/>", content_type="application/rss+xml", etag='"v1"')
    first = fetcher.get(server.url("/feed"), rate_limit=0)
    second = fetcher.get(server.url("/feed"), rate_limit=0)
    assert not first.not_modified and second.not_modified
    assert second.body == b"<rss/>"
    assert server.requests[-1][1].get("If-None-Match") == '"v1"'
    assert route.hits == 2


def test_last_modified_is_sent_back(server, fetcher):
    stamp = "Wed, 04 Jan 2017 10:00:00 GMT"
    server.add("/page", b"<html></html>", last_modified=stamp)
    fetcher.get(server.url("/page"), rate_limit=0)
    assert fetcher.get(server.url("/page"), rate_limit=0).not_modified
    assert server.requests[-1][1].get("If-Modified-Since") == stamp


def test_robots_disallow_is_honoured(server, fetcher):
    server.add("/robots.txt", "User-agent: *\nDisallow: /private/\n", content_type="text/plain")
    server.add("/private/report", b"secret")
    with pytest.raises(RobotsDisallowed) as info:
        fetcher.get(server.url("/private/report"), rate_limit=0)
    assert "robots.txt" in str(info.value)
    assert server.hits("/private/report") == 0


def test_robots_for_our_agent_only(server, fetcher):
    server.add("/robots.txt", "User-agent: evidence-harvester\nDisallow: /\n\nUser-agent: *\nAllow: /\n", content_type="text/plain")
    server.add("/page", b"hello")
    with pytest.raises(RobotsDisallowed):
        fetcher.get(server.url("/page"), rate_limit=0)


def test_redirects_followed_up_to_five_and_loops_refused(server, fetcher):
    for n in range(1, 4):
        server.add(f"/r{n}", b"", status=302, headers={"Location": f"/r{n + 1}"})
    server.add("/r4", b"arrived")
    assert fetcher.get(server.url("/r1"), rate_limit=0).body == b"arrived"
    server.add("/loop-a", b"", status=301, headers={"Location": "/loop-b"})
    server.add("/loop-b", b"", status=301, headers={"Location": "/loop-a"})
    with pytest.raises(FetchError) as info:
        fetcher.get(server.url("/loop-a"), rate_limit=0)
    assert "redirect loop" in str(info.value)
    for n in range(10):
        server.add(f"/chain{n}", b"", status=302, headers={"Location": f"/chain{n + 1}"})
    with pytest.raises(FetchError) as info:
        fetcher.get(server.url("/chain0"), rate_limit=0)
    assert "more than 5 redirects" in str(info.value)


def test_redirect_to_another_scheme_is_refused(server, fetcher):
    server.add("/to-file", b"", status=302, headers={"Location": "file:///etc/passwd"})
    with pytest.raises(FetchError) as info:
        fetcher.get(server.url("/to-file"), rate_limit=0)
    assert "only http(s)" in str(info.value)


def test_non_http_urls_are_refused(fetcher):
    for url in ("ftp://example.org/x", "javascript:alert(1)", "file:///etc/passwd"):
        with pytest.raises(FetchError):
            fetcher.get(url)


def test_oversized_body_is_refused(server, captures):
    server.add("/big", b"x" * 5000)
    with make_fetcher(captures, max_bytes=1000) as fetcher:
        with pytest.raises(FetchError) as info:
            fetcher.get(server.url("/big"), rate_limit=0)
    assert "1000-byte limit" in str(info.value)


def test_gzip_bomb_is_capped_after_decompression(server, captures):
    server.add("/bomb", gzip_bytes(b"\0" * 2_000_000), headers={"Content-Encoding": "gzip"})
    with make_fetcher(captures, max_bytes=100_000) as fetcher:
        with pytest.raises(FetchError) as info:
            fetcher.get(server.url("/bomb"), rate_limit=0)
    assert "limit" in str(info.value)


def test_wrong_charset_falls_back_to_what_decodes(server, fetcher):
    server.add("/latin", "Children’s homes £237,395 – café".encode("cp1252"), content_type="text/html; charset=utf-8")
    text = fetcher.get(server.url("/latin"), rate_limit=0).text
    assert "café" in text and "£237,395" in text


def test_invalid_json_names_the_url(server, fetcher):
    server.add("/api", b"{not json", content_type="application/json")
    with pytest.raises(FetchError) as info:
        fetcher.get(server.url("/api"), rate_limit=0).json()
    assert server.url("/api") in str(info.value) and "invalid JSON" in str(info.value)


def test_user_agent_names_the_contact(server, captures):
    server.add("/ua", b"ok")
    with make_fetcher(captures, contact="mailto:team@example.org") as fetcher:
        fetcher.get(server.url("/ua"), rate_limit=0)
    assert "mailto:team@example.org" in server.requests[-1][1]["User-Agent"]


def test_rate_limit_spaces_requests_to_one_host(server, fetcher):
    server.add("/a", b"a")
    fetcher.get(server.url("/a"), rate_limit=0)  # robots.txt fetched outside the timing
    started = time.monotonic()
    for _ in range(3):
        fetcher.get(server.url("/a"), rate_limit=10, conditional=False)
    assert time.monotonic() - started >= 0.19  # 3 starts at 10/s span at least 0.2 s


def test_offline_replays_captures_and_refuses_the_unknown(server, tmp_path):
    store = CaptureStore(tmp_path / "caps")
    server.add("/doc", b"recorded body")
    with make_fetcher(store) as online:
        online.get(server.url("/doc"), rate_limit=0)
    with make_fetcher(store, offline=True) as offline:
        replay = offline.get(server.url("/doc"))
        assert replay.body == b"recorded body" and replay.from_capture
        with pytest.raises(FetchError) as info:
            offline.get(server.url("/never"))
    assert "not in the capture store" in str(info.value)
    assert server.hits("/doc") == 1


@pytest.fixture
def fetch_log(caplog):
    """The fetcher's log records at INFO, caught on its own logger, so they are seen whatever an earlier test's
    logging set-up left on the `evidence` logger (propagation, levels)."""
    logger = logging.getLogger("evidence.fetch")
    level = logger.level
    logger.addHandler(caplog.handler)
    logger.setLevel(logging.INFO)
    yield caplog
    logger.removeHandler(caplog.handler)
    logger.setLevel(level)


def test_robots_wildcards_and_longest_match(server, fetcher):
    """RFC 9309 as Protego reads it: `*` and `$` wildcards, and the longest matching rule wins (the standard
    library's parser ignores both and would fetch /reports/a.pdf and refuse /private/open)."""
    server.add("/robots.txt", "User-agent: *\nDisallow: /*.pdf$\nDisallow: /private/\nAllow: /private/open\n", content_type="text/plain")
    for path in ("/reports/a.pdf", "/reports/a.pdf?download=1", "/private/open", "/private/closed"):
        server.add(path, b"body")
    with pytest.raises(RobotsDisallowed):
        fetcher.get(server.url("/reports/a.pdf"), rate_limit=0)
    assert fetcher.get(server.url("/reports/a.pdf?download=1"), rate_limit=0).body == b"body"  # `$`: the path must end there
    assert fetcher.get(server.url("/private/open"), rate_limit=0).body == b"body"  # the longer Allow beats Disallow: /private/
    with pytest.raises(RobotsDisallowed):
        fetcher.get(server.url("/private/closed"), rate_limit=0)
    assert server.hits("/reports/a.pdf") == 0 and server.hits("/private/closed") == 0


def test_crawl_delay_spaces_requests_even_with_the_rate_limit_off(server, fetcher, fetch_log):
    server.add("/robots.txt", "User-agent: *\nCrawl-delay: 0.3\n", content_type="text/plain")
    server.add("/a", b"a")
    fetcher.get(server.url("/a"), rate_limit=0)  # reads robots.txt
    started = time.monotonic()
    for _ in range(3):
        fetcher.get(server.url("/a"), rate_limit=0, conditional=False)
    assert time.monotonic() - started >= 0.55  # three starts at least 0.3 s apart (a lower bound: a politeness check, not a speed one)
    assert any("0.3s between requests: honoured" in r.getMessage() for r in fetch_log.records)


def test_request_rate_is_honoured_like_crawl_delay(server, fetcher):
    server.add("/robots.txt", "User-agent: evidence-harvester\nRequest-rate: 4/1\n", content_type="text/plain")
    server.add("/b", b"b")
    fetcher.get(server.url("/b"), rate_limit=0)
    started = time.monotonic()
    for _ in range(3):
        fetcher.get(server.url("/b"), rate_limit=0, conditional=False)
    assert time.monotonic() - started >= 0.45


def test_a_crawl_delay_too_long_to_honour_refuses_the_host_in_one_line(server, fetcher):
    server.add("/robots.txt", "User-agent: *\nCrawl-delay: 3600\n", content_type="text/plain")
    server.add("/slow-please", b"x")
    with pytest.raises(FetchError) as info:
        fetcher.get(server.url("/slow-please"), rate_limit=0)
    assert "3600s between requests" in str(info.value) and "\n" not in str(info.value)
    assert server.hits("/slow-please") == 0


def test_robots_redirect_is_followed(server, fetcher):
    server.add("/robots.txt", b"", status=301, headers={"Location": "/real-robots.txt"})
    server.add("/real-robots.txt", "User-agent: *\nDisallow: /hidden\n", content_type="text/plain")
    server.add("/hidden", b"x")
    with pytest.raises(RobotsDisallowed):
        fetcher.get(server.url("/hidden"), rate_limit=0)


def test_unreadable_robots_keeps_the_host_out_and_says_why(server, captures, fetch_log):
    server.add("/robots.txt", b"down", status=503)
    server.add("/page", b"x")
    with make_fetcher(captures, retries=0) as fetcher:
        with pytest.raises(FetchError) as info:
            fetcher.get(server.url("/page"), rate_limit=0)
    assert "robots.txt could not be read (HTTP 503" in str(info.value)
    assert server.hits("/page") == 0
    assert any("robots.txt of" in r.getMessage() and "not fetched" in r.getMessage() for r in fetch_log.records)


def test_retries_and_robots_refusals_are_logged_at_info(server, fetcher, fetch_log):
    server.add("/robots.txt", "User-agent: *\nDisallow: /private/\n", content_type="text/plain")
    server.sequence("/flaky", [Answer(b"oops", 503), Answer(b"fine", 200)])
    server.add("/private/x", b"x")
    fetcher.get(server.url("/flaky"), rate_limit=0)
    with pytest.raises(RobotsDisallowed):
        fetcher.get(server.url("/private/x"), rate_limit=0)
    messages = [r.getMessage() for r in fetch_log.records if r.levelno == logging.INFO]
    assert any(m.startswith("retrying " + server.url("/flaky")) and "HTTP 503" in m for m in messages), messages
    assert any("disallows " + server.url("/private/x") in m for m in messages), messages
