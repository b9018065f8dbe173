"""Which vulnerable packages the agent loaded: file paths to packages (Python, npm, files the
report names), the exact reachable / unreachable / undetermined sets and the summary numbers
of every format's fixture against one profile, with the evidence of each."""
from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from weft.discovery.core.profiles import LearningWindow, Profile, from_dict
from weft.posture.core.vex.findings import Finding, package
from weft.posture.core.vex.packages import package_keys, path_keys
from weft.posture.core.vex.reachability import (REACHABLE, UNDETERMINED, UNREACHABLE, Evidence, NoObservation,
                                                assess)
from weft.posture.core.vex.reports import load_file
from weft.posture.core.vex.summary import line, summarise, vulnerabilities

DATA = Path(__file__).resolve().parent / "data" / "vex"
SP = "/usr/local/lib/python3.11/site-packages"
T0 = 1717200000     # 2024-06-01T00:00:00Z, the profile's first event


@pytest.fixture(scope="module")
def profile() -> Profile:
    return from_dict(json.loads((DATA / "profile-support-agent.json").read_text()))


def _states(case: str, profile: Profile) -> dict[str, set[str]]:
    verdicts = assess(load_file(DATA / f"{case}.json").findings, profile).verdicts.values()
    return {s: {v.package.name for v in verdicts if v.state == s} for s in (REACHABLE, UNREACHABLE, UNDETERMINED)}


@pytest.mark.parametrize("path, keys", [
    (f"{SP}/requests/__init__.py", {("py-import", "requests")}),
    (f"{SP}/urllib3/__pycache__/connectionpool.cpython-311.pyc", {("py-import", "urllib3")}),
    (f"{SP}/PyYAML-5.3.1.dist-info/METADATA", {("pypi", "pyyaml")}),
    (f"{SP}/python_multipart-0.0.6.dist-info/RECORD", {("pypi", "python-multipart")}),
    (f"{SP}/PyYAML-5.3.1-py3.11.egg-info/PKG-INFO", {("pypi", "pyyaml")}),
    (f"{SP}/six.py", {("py-import", "six")}),
    (f"{SP}/__pycache__/six.cpython-311.pyc", {("py-import", "six")}),
    (f"{SP}/_cffi_backend.cpython-311-x86_64-linux-gnu.so", {("py-import", "_cffi_backend")}),
    (f"{SP}/google/protobuf/message.py", {("py-import", "google/protobuf")}),
    ("/usr/lib/python3/dist-packages/PIL/Image.py", {("py-import", "pil")}),
    (f"{SP}/distutils-precedence.pth", set()),
    (SP, set()),
    ("/app/node_modules/lodash/lodash.js", {("npm", "lodash")}),
    ("/app/node_modules/@babel/traverse/lib/index.js", {("npm", "@babel/traverse")}),
    ("/app/node_modules/a/node_modules/minimist/index.js", {("npm", "minimist")}),
    ("/app/node_modules/@babel", set()),
    ("/app/node_modules/.bin/tsc", set()),
    ("/usr/lib/x86_64-linux-gnu/libssl.so.3", set()),
])
def test_what_a_path_says_it_belongs_to(path, keys):
    assert path_keys(path) == keys | {("file", path)}


@pytest.mark.parametrize("pkg, keys", [
    (package("pypi", "PyYAML", "5.3.1"), {("pypi", "pyyaml"), ("py-import", "yaml"), ("py-import", "_yaml")}),
    (package("pypi", "typing_extensions", "4.0"), {("pypi", "typing-extensions"), ("py-import", "typing_extensions")}),
    (package("pypi", "azure-identity", "1.15"), {("pypi", "azure-identity"), ("py-import", "azure/identity")}),
    (package("npm", "@babel/traverse", "7.22.5"), {("npm", "@babel/traverse")}),
    (package("deb", "zlib1g", "1", locations=("/var/lib/dpkg/status", "/usr/share/doc/zlib1g/copyright")), set()),
    (package("golang", "github.com/x/y", "1", locations=("/app/go.mod",)), set()),
    (package("deb", "libssl3", "3", locations=("/usr/lib/x86_64-linux-gnu/libssl.so.3", "/var/lib/dpkg/status")),
     {("file", "/usr/lib/x86_64-linux-gnu/libssl.so.3")}),
    (package("pypi", "dnspython", "2.3.0", locations=(f"{SP}/dns/__init__.py",)),
     {("pypi", "dnspython"), ("py-import", "dnspython"), ("py-import", "dns"), ("file", f"{SP}/dns/__init__.py")}),
])
def test_what_a_package_s_files_are_recognised_by(pkg, keys):
    assert package_keys(pkg) == keys


EXPECTED = {   # case: (reachable, unreachable, undetermined packages), (vulns, reachable, unreachable, undetermined, %)
    "cyclonedx": (({"requests", "dnspython", "@babel/traverse", "libssl3"}, {"lodash", "openssl", "libexpat1"},
                   {"zlib1g"}), (7, 4, 2, 1, 28)),
    "grype": (({"requests", "PyYAML", "axios", "python"}, {"Jinja2", "lodash"}, {"zlib1g"}), (7, 4, 2, 1, 28)),
    "pip-audit": (({"requests", "pyyaml", "urllib3"}, {"flask", "jinja2"}, set()), (7, 4, 3, 0, 42)),
    "osv": (({"requests", "pyyaml"}, {"flask", "lodash"}, set()), (4, 2, 2, 0, 50)),
    "osv-scanner": (({"requests", "axios"}, {"jinja2", "lodash"}, set()), (4, 2, 2, 0, 50)),
}


@pytest.mark.parametrize("case", sorted(EXPECTED))
def test_exact_reachable_sets_and_summary_of_each_format(case, profile):
    (reachable, unreachable, undetermined), numbers = EXPECTED[case]
    assert _states(case, profile) == {REACHABLE: reachable, UNREACHABLE: unreachable, UNDETERMINED: undetermined}
    s = summarise(assess(load_file(DATA / f"{case}.json").findings, profile))
    counted = (s["vulnerabilities"], s["reachable"], s["unreachable"], s["undetermined"], s["reduction_percent"])
    assert counted == numbers
    assert {p["name"] for p in s["by_package"] if p["reachable"]} == reachable
    assert {p["name"] for p in s["by_package"] if p["reachable"] is None} == undetermined


def test_evidence_is_the_first_file_loaded_and_when(profile):
    verdicts = {v.package.name: v for v in assess(load_file(DATA / "grype.json").findings, profile).verdicts.values()}
    assert verdicts["requests"].evidence == Evidence(T0 + 5, f"{SP}/requests/__init__.py", "open")
    assert verdicts["requests"].files == 2
    assert verdicts["python"].evidence == Evidence(T0, "/usr/local/bin/python3.11", "exec")
    # PyYAML's import names (`yaml`, `_yaml`) differ from its name; both files were opened at T0+7
    assert verdicts["PyYAML"].evidence.path == f"{SP}/_yaml.cpython-311-x86_64-linux-gnu.so"
    assert verdicts["PyYAML"].files == 2
    assert verdicts["lodash"].evidence is None and verdicts["lodash"].files == 0


def test_a_file_first_opened_after_the_learning_window_still_counts(profile):
    assert profile.deviations()[0].behaviour.key == ("/usr/lib/x86_64-linux-gnu/libssl.so.3",)
    assessment = assess(load_file(DATA / "cyclonedx.json").findings, profile)
    verdicts = {v.package.name: v for v in assessment.verdicts.values()}
    assert verdicts["libssl3"].evidence == Evidence(T0 + 90000, "/usr/lib/x86_64-linux-gnu/libssl.so.3", "open")


def test_the_summary_counts_ids_that_alias_each_other_once(profile):
    findings = load_file(DATA / "osv-scanner.json").findings
    groups = vulnerabilities(findings)
    assert sorted(sorted(f.vulnerability for f in g) for g in groups) == [
        ["GHSA-35jh-r3h4-6jhm"], ["GHSA-462w-v97r-4m45", "PYSEC-2019-217"], ["GHSA-wf5p-g6vw-rhxx"],
        ["GHSA-x84v-xcm2-53pg", "PYSEC-2018-28"]]


def _agent_with(paths: list[str]) -> Profile:
    p = Profile("agents/summariser", LearningWindow(3600))
    for i, path in enumerate(paths):
        p.saw(T0 + i)
        p.add("open", (path,), T0 + i)
    return p


def test_42_vulnerabilities_5_reachable_is_88_percent_less_to_fix():
    findings = [Finding(f"CVE-2024-{1000 + i}", package("npm", f"pkg{i}", "1.0.0")) for i in range(42)]
    profile = _agent_with([f"/srv/node_modules/pkg{i}/index.js" for i in range(5)] + ["/srv/index.js"])
    s = summarise(assess(findings, profile))
    assert (s["vulnerabilities"], s["reachable"], s["unreachable"], s["reduction_percent"]) == (42, 5, 37, 88)
    assert line(s) == "42 vulnerabilities, 5 reachable: 88 % less to fix"


def test_the_same_input_in_any_order_gives_the_same_assessment(profile):
    findings = load_file(DATA / "cyclonedx.json").findings
    shuffled = findings[:]
    random.Random(7).shuffle(shuffled)
    assert shuffled != findings
    assert summarise(assess(shuffled, profile)) == summarise(assess(findings, profile))
    assert assess(shuffled, profile).findings == assess(findings, profile).findings


def test_duplicate_findings_merge_their_locations_and_aliases():
    a = Finding("GHSA-1", package("pypi", "dnspython", "2.3.0", locations=(f"{SP}/dns/__init__.py",)), ("CVE-1",))
    b = Finding("GHSA-1", package("pypi", "dnspython", "2.3.0", locations=(f"{SP}/dnspython-2.3.0.dist-info/RECORD",)),
                ("CVE-2",), ("2.6.1",))
    result = assess([a, b], _agent_with([f"{SP}/dns/resolver.py"]))
    [merged] = result.findings
    assert merged.aliases == ("CVE-1", "CVE-2") and merged.fix_versions == ("2.6.1",)
    assert merged.package.locations == (f"{SP}/dns/__init__.py", f"{SP}/dnspython-2.3.0.dist-info/RECORD")
    assert result.verdicts[merged.package.purl].state == REACHABLE


def test_a_profile_that_saw_no_file_cannot_decide_anything():
    p = Profile("agents/quiet")
    p.saw(T0)
    p.add("egress", ("api.openai.com", 443, "TCP"), T0)
    with pytest.raises(NoObservation, match="agents/quiet records no file opened or executed"):
        assess([Finding("CVE-1", package("npm", "lodash", "4.17.20"))], p)


def test_a_report_without_vulnerabilities_has_nothing_to_fix(profile):
    s = summarise(assess([], profile))
    assert (s["vulnerabilities"], s["reduction_percent"], s["by_package"]) == (0, 0, [])
    assert line(s) == "0 vulnerabilities, 0 reachable: 0 % less to fix"
