"""Vulnerability reports read by content into findings: every format's fixture gives exactly
its (vulnerability, package) pairs; a broken record is skipped with an error at its JSON
pointer while the rest loads; anything else is refused naming the file and what was expected."""
from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from cyclonedx_schema import errors as bom_errors
from cyclonedx_schema import validator as bom_validator

from weft.posture.core.vex.findings import package
from weft.posture.core.vex.reports import ReportError, detect, load_bytes, load_file

DATA = Path(__file__).resolve().parent / "data" / "vex"
IMAGE = ("pkg:oci/support-agent@sha256:7d2f1a9c4e8b3a6f5d0c2e1b9a8f7e6d5c4b3a29180f7e6d5c4b3a2918f7e6d5"
         "?repository_url=ghcr.io/acme/support-agent&tag=1.4.2")
LIBSSL = "pkg:deb/debian/libssl3@3.0.11-1~deb12u1?arch=amd64&distro=debian-12&upstream=openssl"
ZLIB = "pkg:deb/debian/zlib1g@1:1.2.13.dfsg-1?arch=amd64&distro=debian-12&upstream=zlib"

EXPECTED = {
    "cyclonedx": ("cyclonedx", IMAGE, {
        ("CVE-2018-18074", "pkg:pypi/requests@2.19.1"), ("CVE-2023-29483", "pkg:pypi/dnspython@2.3.0"),
        ("CVE-2023-45133", "pkg:npm/%40babel/traverse@7.22.5"), ("CVE-2021-23337", "pkg:npm/lodash@4.17.20"),
        ("CVE-2023-5678", LIBSSL),
        ("CVE-2023-5678", "pkg:deb/debian/openssl@3.0.11-1~deb12u1?arch=amd64&distro=debian-12"),
        ("CVE-2024-45490", "pkg:deb/debian/libexpat1@2.5.0-1?arch=amd64&distro=debian-12&upstream=expat"),
        ("CVE-2023-45853", ZLIB)}),
    "grype": ("grype", IMAGE, {
        ("GHSA-x84v-xcm2-53pg", "pkg:pypi/requests@2.19.1"), ("GHSA-8q59-q68h-6hv4", "pkg:pypi/pyyaml@5.3.1"),
        ("GHSA-462w-v97r-4m45", "pkg:pypi/jinja2@2.10"), ("GHSA-35jh-r3h4-6jhm", "pkg:npm/lodash@4.17.20"),
        ("GHSA-wf5p-g6vw-rhxx", "pkg:npm/axios@1.5.1"), ("CVE-2023-40217", "pkg:generic/python@3.11.4"),
        ("CVE-2023-45853", ZLIB)}),
    "pip-audit": ("pip-audit", "", {
        ("PYSEC-2019-179", "pkg:pypi/flask@0.12.2"), ("PYSEC-2018-66", "pkg:pypi/flask@0.12.2"),
        ("PYSEC-2019-217", "pkg:pypi/jinja2@2.10"), ("PYSEC-2021-142", "pkg:pypi/pyyaml@5.3.1"),
        ("PYSEC-2018-28", "pkg:pypi/requests@2.19.1"), ("PYSEC-2023-74", "pkg:pypi/requests@2.19.1"),
        ("PYSEC-2019-133", "pkg:pypi/urllib3@1.24.1")}),
    "osv": ("osv", "", {
        ("PYSEC-2018-28", "pkg:pypi/requests"), ("PYSEC-2021-142", "pkg:pypi/pyyaml"),
        ("PYSEC-2019-179", "pkg:pypi/flask"), ("GHSA-35jh-r3h4-6jhm", "pkg:npm/lodash")}),
    "osv-scanner": ("osv-scanner", "", {
        ("GHSA-x84v-xcm2-53pg", "pkg:pypi/requests@2.19.1"), ("PYSEC-2018-28", "pkg:pypi/requests@2.19.1"),
        ("GHSA-462w-v97r-4m45", "pkg:pypi/jinja2@2.10"), ("PYSEC-2019-217", "pkg:pypi/jinja2@2.10"),
        ("GHSA-35jh-r3h4-6jhm", "pkg:npm/lodash@4.17.20"), ("GHSA-wf5p-g6vw-rhxx", "pkg:npm/axios@1.5.1")}),
}


def _doc(case: str):
    return json.loads((DATA / f"{case}.json").read_text())


def _load(doc, name: str = "report.json"):
    return load_bytes(json.dumps(doc).encode(), name)


@pytest.mark.parametrize("case", sorted(EXPECTED))
def test_each_format_is_recognised_and_read_whole(case):
    fmt, product, pairs = EXPECTED[case]
    report = load_file(DATA / f"{case}.json")
    assert (report.format, report.product, report.errors) == (fmt, product, [])
    assert {(f.vulnerability, f.package.purl) for f in report.findings} == pairs
    assert len(report.findings) == len(pairs)
    assert all(f.where.startswith(f"{DATA / case}.json#/") for f in report.findings)


def test_the_cyclonedx_fixture_is_a_valid_cyclonedx_1_6_bom():
    assert bom_errors(bom_validator(), _doc("cyclonedx")) == []


def test_cyclonedx_locations_aliases_fixes_and_bom_links():
    by = {(f.vulnerability, f.package.name): f for f in load_file(DATA / "cyclonedx.json").findings}
    requests = by["CVE-2018-18074", "requests"]
    assert (requests.aliases, requests.fix_versions) == (("GHSA-x84v-xcm2-53pg",), ("2.20.0",))
    assert by["CVE-2023-29483", "dnspython"].package.locations == (
        "/usr/local/lib/python3.11/site-packages/dns/__init__.py",
        "/usr/local/lib/python3.11/site-packages/dnspython-2.3.0.dist-info/METADATA")
    assert by["CVE-2023-45133", "@babel/traverse"].advice == "Upgrade @babel/traverse to 7.23.2 or later."
    libssl = by["CVE-2023-5678", "libssl3"].package          # occurrences and syft's location properties
    assert (libssl.ecosystem, libssl.version) == ("deb", "3.0.11-1~deb12u1")
    assert libssl.locations == ("/usr/lib/x86_64-linux-gnu/libcrypto.so.3", "/usr/lib/x86_64-linux-gnu/libssl.so.3",
                                "/var/lib/dpkg/status")


def test_grype_artifacts_keep_their_locations_and_related_ids():
    by = {f.package.name: f for f in load_file(DATA / "grype.json").findings}
    assert by["PyYAML"].package.purl == "pkg:pypi/pyyaml@5.3.1" and by["PyYAML"].aliases == ("CVE-2020-14343",)
    assert by["PyYAML"].fix_versions == ("5.4",)
    assert by["lodash"].package.locations == ("/app/node_modules/lodash/package.json",)
    assert by["python"].package.locations == ("/usr/local/bin/python3.11",)
    assert by["zlib1g"].aliases == () and by["zlib1g"].fix_versions == ()   # grype relates it to itself


def test_osv_purls_that_do_not_parse_fall_back_to_ecosystem_and_name_and_git_fixes_are_not_versions():
    by = {f.vulnerability: f for f in load_file(DATA / "osv.json").findings}
    requests = by["PYSEC-2018-28"]                   # the record's purl is "pkg:pypi:requests"
    assert (requests.package.purl, requests.package.ecosystem, requests.package.name) == (
        "pkg:pypi/requests", "pypi", "requests")
    assert requests.fix_versions == ("2.20.0",)      # its GIT range is fixed in a commit, not a version
    assert by["GHSA-35jh-r3h4-6jhm"].fix_versions == ("4.17.21",)


def test_osv_scanner_reads_both_source_keys_and_fixes_of_its_own_package():
    findings = load_file(DATA / "osv-scanner.json").findings
    locations = {f.package.name: f.package.locations for f in findings}
    assert locations == {"requests": ("/app/requirements.txt",), "jinja2": ("/app/requirements.txt",),
                         "lodash": ("/app/package-lock.json",), "axios": ("/app/package-lock.json",)}
    assert {f.vulnerability: f.fix_versions for f in findings}["GHSA-wf5p-g6vw-rhxx"] == ("1.6.0",)


def test_pip_audit_skips_unaudited_dependencies_and_reads_the_1x_array():
    report = load_file(DATA / "pip-audit.json")
    assert "support-agent" not in {f.package.name for f in report.findings} and report.errors == []
    readme_1x = [  # the pip-audit README's `pip-audit -f json` example (1.x: a bare array)
        {"name": "flask", "version": "0.5", "vulns": [{"id": "PYSEC-2019-179", "fix_versions": ["1.0"]},
                                                      {"id": "PYSEC-2018-66", "fix_versions": ["0.12.3"]}]},
        {"name": "jinja2", "version": "3.0.2", "vulns": []}, {"name": "pip", "version": "21.3.1", "vulns": []}]
    old = _load(readme_1x)
    assert old.format == "pip-audit"
    assert [(f.vulnerability, f.package.purl, f.fix_versions) for f in old.findings] == [
        ("PYSEC-2019-179", "pkg:pypi/flask@0.5", ("1.0",)), ("PYSEC-2018-66", "pkg:pypi/flask@0.5", ("0.12.3",))]


@pytest.mark.parametrize("shape", ["record", "osv.dev answer"])
def test_one_osv_record_or_an_osv_dev_answer(shape):
    record = _doc("osv")[1]
    report = _load(record if shape == "record" else {"vulns": [record]})
    assert report.format == "osv"
    assert [(f.vulnerability, f.package.purl, f.aliases) for f in report.findings] == [
        ("PYSEC-2021-142", "pkg:pypi/pyyaml", ("CVE-2020-14343", "GHSA-8q59-q68h-6hv4"))]


@pytest.mark.parametrize("case, break_it, pointer, expected", [
    ("grype", lambda d: d["matches"][1].pop("artifact"), "/matches/1/artifact",
     "an object naming the vulnerable package"),
    ("grype", lambda d: d["matches"][2]["vulnerability"].pop("id"), "/matches/2/vulnerability/id",
     "a non-empty string"),
    ("cyclonedx", lambda d: d["vulnerabilities"][0]["affects"][0].update(ref="pkg:pypi/requests@9"),
     "/vulnerabilities/0/affects/0/ref", "the bom-ref of a component in this BOM"),
    ("pip-audit", lambda d: d["dependencies"][0]["vulns"][1].pop("id"), "/dependencies/0/vulns/1/id",
     "a non-empty string"),
    ("pip-audit", lambda d: d["dependencies"][1].pop("version"), "/dependencies/1/version", "a non-empty string"),
    ("osv", lambda d: d[2]["affected"][0]["package"].update(ecosystem="Bioconductor"),
     "/2/affected/0/package/ecosystem", "an OSV ecosystem weft maps to a package type"),
    ("osv-scanner", lambda d: d["results"][1]["packages"][0]["package"].pop("name"),
     "/results/1/packages/0/package/name", "a non-empty string"),
])
def test_a_broken_record_is_skipped_with_its_pointer_and_the_rest_loads(case, break_it, pointer, expected):
    doc = copy.deepcopy(_doc(case))
    break_it(doc)
    report = _load(doc, f"{case}.json")
    [error] = report.errors
    assert (error.file, error.path) == (f"{case}.json", pointer) and error.expected.startswith(expected)
    assert str(error).startswith(f"{case}.json at {pointer}: expected ")
    assert len(report.findings) == len(EXPECTED[case][2]) - 1


def test_a_bom_without_vulnerabilities_is_an_error_not_an_empty_report():
    bom = {k: v for k, v in _doc("cyclonedx").items() if k != "vulnerabilities"}
    [error] = _load(bom).errors
    assert error.path == "/vulnerabilities" and "a CycloneDX SBOM without it names no vulnerability" in error.expected


@pytest.mark.parametrize("data, found", [
    (b'{"agent": "support-agent", "opens": []}', "found a JSON object with keys agent, opens"),
    (b"[]", "found a JSON array of 0 item(s)"),
    (b'{"matches": [}', "report.json:1:14: expected a vulnerability report"),
    (b"{\x80\x81}", "found bytes that are not UTF-8 text"),
])
def test_anything_else_is_refused_with_the_file_and_what_was_expected(data, found):
    with pytest.raises(ReportError) as e:
        load_bytes(data, "report.json")
    message = str(e.value)
    assert message.startswith("report.json") and found in message
    assert "CycloneDX JSON with vulnerabilities[]" in message and "pip-audit JSON" in message


def test_an_unreadable_file_is_a_report_error(tmp_path):
    with pytest.raises(ReportError, match=r"missing.json: cannot read: No such file"):
        load_file(tmp_path / "missing.json")


@pytest.mark.parametrize("doc, fmt", [
    ({"bomFormat": "CycloneDX", "specVersion": "1.6"}, "cyclonedx"), ({"matches": []}, "grype"),
    ({"dependencies": [], "fixes": []}, "pip-audit"), ({"results": []}, "osv-scanner"),
    ({"vulns": []}, "osv"), ({"id": "GHSA-x", "modified": "2024-01-01T00:00:00Z"}, "osv"),
    ([{"name": "pip", "skip_reason": "x"}], "pip-audit"), ({"bomFormat": "SPDX"}, None), ("text", None),
])
def test_detect(doc, fmt):
    assert detect(doc) == fmt


@pytest.mark.parametrize("args, purl, name", [
    (("npm", "@babel/traverse", "7.22.5"), "pkg:npm/%40babel/traverse@7.22.5", "@babel/traverse"),
    (("maven", "org.apache.logging.log4j:log4j-core", "2.14.0"),
     "pkg:maven/org.apache.logging.log4j/log4j-core@2.14.0", "org.apache.logging.log4j:log4j-core"),
    (("golang", "github.com/gogo/protobuf", "1.3.1"), "pkg:golang/github.com/gogo/protobuf@1.3.1",
     "github.com/gogo/protobuf"),
    (("pypi", "PyYAML", "5.3.1"), "pkg:pypi/pyyaml@5.3.1", "PyYAML"),
])
def test_packages_are_named_by_canonical_purls(args, purl, name):
    p = package(*args)
    assert (p.purl, p.name) == (purl, name)
