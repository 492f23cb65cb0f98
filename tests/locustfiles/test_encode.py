"""``encode``: the bytes the lean client sends for an endpoint (method, headers, JSON body)."""

from __future__ import annotations

from locustfiles.http11 import encode
from locustfiles.protocol import LoadSettings, RequestSpec


def test_a_get_is_a_bare_request_line_and_host() -> None:
    assert encode(RequestSpec("hello", "/hello?x=1"), "127.0.0.1", 8000) == (
        b"GET /hello?x=1 HTTP/1.1\r\nHost: 127.0.0.1:8000\r\n\r\n"
    )


def test_a_post_carries_its_headers_json_type_and_length() -> None:
    spec = RequestSpec(
        "create", "/items", "POST", headers=(("Authorization", "Bearer t"),), body='{"a":"é"}'
    )
    head, _, body = encode(spec, "h", 1).partition(b"\r\n\r\n")
    assert body == '{"a":"é"}'.encode()
    assert head.split(b"\r\n") == [
        b"POST /items HTTP/1.1",
        b"Host: h:1",
        b"Authorization: Bearer t",
        b"Content-Type: application/json",
        b"Content-Length: 10",  # bytes, not characters
    ]


def test_a_content_type_given_is_kept() -> None:
    spec = RequestSpec("x", "/x", "PUT", headers=(("content-type", "text/plain"),), body='"x"')
    assert encode(spec, "h", 1).count(b"ontent-") == 2  # its own type and the length


def test_expected_statuses() -> None:
    assert RequestSpec("x", "/").expects(204) and not RequestSpec("x", "/").expects(301)
    spec = RequestSpec("x", "/", expect_status=(404,))
    assert spec.expects(404) and not spec.expects(200)


def test_settings_round_trip_through_the_environment() -> None:
    settings = LoadSettings(
        requests=(
            RequestSpec("a", "/a", weight=9),
            RequestSpec("b", "/b", "POST", (("X", "1"),), '{"k":1}', (201,), 1),
        ),
        warmup_s=1.5,
    )
    assert LoadSettings.from_env(settings.to_env()) == settings
