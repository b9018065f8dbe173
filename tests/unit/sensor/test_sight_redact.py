"""Redaction at the node: credential shapes, headers, cut-off secrets, user patterns."""
from __future__ import annotations

import pytest

from weft.sensor.sight.redact import MARK, Redactor

R = Redactor()


@pytest.mark.parametrize("secret", [
    "sk-proj-abcdefghijklmnopqrstuvwxyz0123456789",
    "sk-ant-api03-AAAABBBBCCCCDDDD",
    "AKIAIOSFODNN7EXAMPLE",
    "ASIAY34FZKBOKMUTVV7A",
    "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl",
    "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl",
    "basic dXNlcjpwYXNz",
])
def test_credential_shapes_are_removed_from_text(secret):
    text = R.text(f'{{"note": "use {secret} please"}}')
    assert secret not in text and MARK in text
    assert secret[4:14] not in text   # no recognisable piece of it either


def test_secret_valued_json_fields_are_removed_whatever_the_value_looks_like():
    text = R.text('{"api_key": "hunter2", "password":"p4ss", "model": "gpt-4o"}')
    assert "hunter2" not in text and "p4ss" not in text and '"model": "gpt-4o"' in text


def test_a_secret_cut_by_the_excerpt_limit_leaves_nothing_behind():
    body = '{"messages": [{"content": "key sk-abcdefghijklmnopqrstuvwx"}]}'
    for limit in range(1, len(body)):
        assert "sk-abc" not in R.excerpt(body, limit)
    assert R.excerpt(body[:38], 100).count("sk-") == 0   # the capture itself cut inside the key


def test_headers_keep_only_the_allow_list():
    kept = R.headers([("host", "api.openai.com"), ("authorization", "Bearer sk-x"),
                      ("cookie", "session=1"), ("x-api-key", "k"), ("api-key", "azure"),
                      ("mcp-session-id", "abc"), ("content-type", "application/json")])
    assert kept == {"host": "api.openai.com", "mcp-session-id": "abc", "content-type": "application/json"}


def test_configured_patterns_are_removed_and_a_bad_one_is_refused_by_name():
    r = Redactor(("ACME-[0-9]{6}",))
    assert r.text("ticket ACME-123456 open") == f"ticket {MARK} open"
    with pytest.raises(ValueError, match=r"redaction pattern '\(' does not compile"):
        Redactor(("(",))


def test_excerpts_off_means_empty():
    assert R.excerpt("anything", 0) == ""


@pytest.mark.parametrize("text", [
    '{"paſſword": "hunter2"}', '{"authorİzation": "hunter2"}', "x-apı-key: hunter2", '{"to\u212aen": "hunter2"}',
    '{"API_KEY": "hunter2"}', "COOKIE: hunter2", "BEARER hunter2",
])
def test_letters_ignorecase_matches_with_ascii_ones_do_not_hide_a_secret_from_the_first_test(text):
    assert "hunter2" not in R.text(text)


def test_every_literal_tested_first_is_in_every_match_of_its_pattern():
    """The literals only decide whether a pattern runs: a sample of what each
    pattern matches must hold one of them (as is, or lower-cased)."""
    import re
    from weft.sensor.sight.redact import BUILTIN
    samples = ["sk-abc", "AKIA1234", "ASIAABCD", "Bearer x.y", "basic dXNl", "eyJhbGc.eyJ.sig",
               '"api_key": "v"', '"ApiKey":"v"', '"passwd": "v"', '"client-secret": "v"', '"refresh_token":"v"',
               '"Authorization": "v"', "X-Api-Key: v", "api-key: v", "Set-Cookie: v", "authorization: v"]
    for exact, folded, pattern in BUILTIN:
        for sample in samples:
            for m in re.finditer(pattern, sample):
                found = m.group(0)
                assert any(x in found for x in exact) or any(x in found.lower() for x in folded), (pattern, found)


def test_kept_header_values_are_scrubbed_each_alone_when_any_holds_a_secret():
    kept = R.headers([("host", "api.openai.com"), ("user-agent", "agent/1 sk-abcdefghijkl"),
                      ("x-request-id", "Bearer abc.def"), ("accept", "*/*")])
    assert kept == {"host": "api.openai.com", "user-agent": f"agent/1 {MARK}", "x-request-id": MARK,
                    "accept": "*/*"}
    assert Redactor(("internal-[0-9]+",)).headers([("host", "internal-42")]) == {"host": MARK}
