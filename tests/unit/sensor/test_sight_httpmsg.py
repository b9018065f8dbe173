"""HTTP heads from captures: header values read on demand, responses read for their
status line only, captures cut inside the head."""
from __future__ import annotations

from weft.sensor.sight import httpmsg

REQUEST = (b"POST /v1/chat/completions?stream=0 HTTP/1.1\r\nHost: api.openai.com\r\n"
           b"Content-Length: 12\r\nMcp-Session-Id: s-1\r\nAuthorization: Bearer x\r\n\r\n{\"model\":1}")


def test_a_request_head_gives_method_path_headers_and_what_followed():
    head = httpmsg.request(REQUEST)
    assert (head.method, head.target, head.path) == ("POST", "/v1/chat/completions?stream=0", "/v1/chat/completions")
    assert (head.header("host"), head.header("mcp-session-id"), head.header("x-absent")) == (
        "api.openai.com", "s-1", "")
    assert head.content_length == 12 and head.body == b'{"model":1}'
    assert head.headers[0] == ("host", "api.openai.com") and len(head.headers) == 4


def test_content_length_is_unknown_when_chunked_or_absent():
    chunked = b"POST /x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
    assert httpmsg.request(chunked).content_length == -1


def test_a_capture_cut_inside_the_head_keeps_its_complete_lines():
    head = httpmsg.request(REQUEST[:75])   # inside Content-Length
    assert (head.path, head.header("host"), head.body) == ("/v1/chat/completions", "api.openai.com", b"")


def test_a_response_gives_its_status_and_body_start():
    assert httpmsg.response(b"HTTP/1.1 429 Too Many Requests\r\nRetry-After: 1\r\n\r\n{\"error\":{}}") == (
        429, b'{"error":{}}')
    assert httpmsg.response(b"HTTP/1.1 204 No Content\r\nDate: x\r\n") == (204, b"")   # cut inside the head


def test_what_is_not_http_is_none():
    assert httpmsg.request(b"GET \x00\x01garbage\r\n\r\n") is None
    for line in (b"no colon here", b"Host: a\nAuthorization: x", b"Host : a"):   # llhttp checks every line
        assert httpmsg.request(b"GET / HTTP/1.1\r\n" + line + b"\r\n\r\n") is None
    assert httpmsg.response(b"HTTP/1.1 200 OK") is None   # not one whole line
    assert httpmsg.response(b"HTTP/1.1 2000 OK\r\n\r\n") is None


def test_header_lookups_match_whole_names_at_line_starts_in_any_case():
    head = httpmsg.request(b"GET / HTTP/1.1\r\nX-Note: host: evil\r\nX-Host: no\r\nHOST:  h:1 \r\n"
                         b"content-length:7\r\n\r\n")
    assert (head.header("host"), head.content_length, head.header("note")) == ("h:1", 7, "")
    assert head.headers == (("x-note", "host: evil"), ("x-host", "no"), ("host", "h:1"), ("content-length", "7"))


def test_a_head_without_headers_has_none():
    head = httpmsg.request(b"GET /x HTTP/1.1\r\n\r\n")
    assert (head.path, head.headers, head.header("host"), head.content_length) == ("/x", (), "", -1)

