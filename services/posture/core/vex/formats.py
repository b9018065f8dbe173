"""The parsers of the report formats `reports` recognises, one function each, reading
decoded JSON into findings. A record missing what the format requires is skipped with
an error at its JSON pointer; everything else in the report still loads."""
from __future__ import annotations

from typing import Any, Callable

from weft.posture.core.model import ParseError, pointer
from weft.posture.core.vex.findings import Finding, Package, Report, image_purl, osv_purl_type, package

GRYPE_TYPES = {"python": "pypi", "npm": "npm", "deb": "deb", "rpm": "rpm", "apk": "apk", "go-module": "golang",
               "java-archive": "maven", "gem": "gem", "rust-crate": "cargo", "dotnet": "nuget",
               "php-composer": "composer"}
OSV_VERSIONED_RANGES = {"ECOSYSTEM", "SEMVER"}      # GIT ranges fix in commits, not versions


class Broken(Exception):
    """A record (or part) that cannot be read: where, and what was expected there."""

    def __init__(self, tokens: tuple, expected: str, found: Any = None):
        super().__init__(expected)
        self.tokens, self.expected, self.found = tokens, expected, found


class Reader:
    """Collects one report's findings and errors; `each` skips a broken item with an error."""

    def __init__(self, report: Report):
        self.report = report

    def each(self, items: Any, tokens: tuple, read: Callable[[Any, tuple], None], expected: str) -> None:
        if not isinstance(items, list):
            self.error(tokens, expected, items)
            return
        for i, item in enumerate(items):
            try:
                read(item, (*tokens, i))
            except Broken as e:
                self.error(e.tokens, e.expected, e.found)

    def error(self, tokens: tuple, expected: str, found: Any = None) -> None:
        seen = "nothing" if found is None else shape(found) if isinstance(found, (dict, list)) else repr(found)
        self.report.errors.append(ParseError(self.report.file, None, None, pointer(*tokens), expected, seen))

    def add(self, vulnerability: str, pkg: Package, tokens: tuple, aliases=(), fixes=(), advice: object = "") -> None:
        ids = tuple(sorted({a for a in aliases if isinstance(a, str) and a and a != vulnerability}))
        fixed = tuple(dict.fromkeys(f for f in fixes if isinstance(f, str) and f))
        where = f"{self.report.file}#{pointer(*tokens)}"
        text = advice.strip() if isinstance(advice, str) else ""
        self.report.findings.append(Finding(vulnerability, pkg, ids, fixed, where, text))


def cyclonedx(doc: dict, r: Reader) -> None:
    components: dict[str, dict] = {}
    _index(doc.get("components"), components)
    meta = doc.get("metadata", {}).get("component") if isinstance(doc.get("metadata"), dict) else None
    if isinstance(meta, dict):
        _index([meta], components)
        r.report.product = _purl_or_empty(meta.get("purl"))

    def vulnerability(v: Any, tokens: tuple) -> None:
        vid = _text(v, "id", tokens)
        aliases = _strings(v.get("references"), "id")
        affects = v.get("affects")
        fixes = [x.get("version") for a in (affects if isinstance(affects, list) else []) if isinstance(a, dict)
                 for x in (a.get("versions") or []) if isinstance(x, dict) and x.get("status") == "unaffected"]

        def affected(a: Any, at: tuple) -> None:
            ref = _text(a, "ref", at)
            ref = ref.rpartition("#")[2] if ref.startswith("urn:cdx:") else ref     # a BOM-Link to this BOM
            component = components.get(ref)
            if component is None:
                raise Broken((*at, "ref"), "the bom-ref of a component in this BOM", ref)
            r.add(vid, _component(component, at), at, aliases, fixes, v.get("recommendation"))
        r.each(affects, (*tokens, "affects"), affected, "affects[]: the components the vulnerability affects")
    r.each(doc.get("vulnerabilities"), ("vulnerabilities",), vulnerability,
           "vulnerabilities[] (a CycloneDX SBOM without it names no vulnerability)")


def grype(doc: dict, r: Reader) -> None:
    source = doc.get("source") if isinstance(doc.get("source"), dict) else {}
    target = source.get("target") if isinstance(source.get("target"), dict) else {}
    if source.get("type") == "image" and isinstance(target.get("userInput"), str):
        r.report.product = image_purl(target["userInput"], target.get("manifestDigest") or "")

    def match(m: Any, tokens: tuple) -> None:
        vulnerability = _obj(m, "vulnerability", tokens, "an object with the vulnerability's id")
        vid = _text(vulnerability, "id", (*tokens, "vulnerability"))
        artifact = _obj(m, "artifact", tokens, "an object naming the vulnerable package")
        at = (*tokens, "artifact")
        name = _text(artifact, "name", at)
        locations = _strings(artifact.get("locations"), "path")
        pkg = _package(at, GRYPE_TYPES.get(artifact.get("type"), "generic"), name,
                       str(artifact.get("version") or ""), str(artifact.get("purl") or ""), tuple(locations))
        fix = vulnerability.get("fix") if isinstance(vulnerability.get("fix"), dict) else {}
        r.add(vid, pkg, tokens, _strings(m.get("relatedVulnerabilities"), "id"), _strings(fix.get("versions")))
    r.each(doc["matches"], ("matches",), match, "matches[]")


def pip_audit(doc: dict | list, r: Reader) -> None:
    deps, base = (doc, ()) if isinstance(doc, list) else (doc["dependencies"], ("dependencies",))

    def dependency(d: Any, tokens: tuple) -> None:
        if isinstance(d, dict) and "skip_reason" in d:
            return                                  # not audited: pip-audit says why, nothing to mark
        pkg = _package(tokens, "pypi", _text(d, "name", tokens), _text(d, "version", tokens))

        def vuln(v: Any, at: tuple) -> None:
            r.add(_text(v, "id", at), pkg, at, _strings(v.get("aliases")), _strings(v.get("fix_versions")))
        r.each(d.get("vulns"), (*tokens, "vulns"), vuln, "vulns[]: the vulnerabilities found in it")
    r.each(deps, base, dependency, "dependencies[]")


def osv(doc: dict | list, r: Reader) -> None:
    if isinstance(doc, list) or "vulns" in doc:
        records, base = (doc, ()) if isinstance(doc, list) else (doc["vulns"], ("vulns",))
        r.each(records, base, lambda rec, tokens: _osv_record(rec, tokens, r), "a list of OSV records")
    else:
        try:
            _osv_record(doc, (), r)
        except Broken as e:
            r.error(e.tokens, e.expected, e.found)


def osv_scanner(doc: dict, r: Reader) -> None:
    def result(res: Any, tokens: tuple) -> None:
        source = res.get("source") or res.get("packageSource") if isinstance(res, dict) else None
        path = source.get("path") if isinstance(source, dict) else None

        def found(p: Any, at: tuple) -> None:
            pk = _obj(p, "package", at, "an object with the package's name, version and ecosystem")
            where = (*at, "package")
            ptype, namespace = _osv_ecosystem(pk, where)
            name = _text(pk, "name", where)
            pkg = _package(where, ptype, name, _text(pk, "version", where), locations=(path,) if path else (),
                           namespace=namespace)

            def vuln(v: Any, vt: tuple) -> None:
                fixes = [f for a in _dicts(v.get("affected")) if _same(a, name) for f in _osv_fixes(a)]
                r.add(_text(v, "id", vt), pkg, vt, _strings(v.get("aliases")), fixes)
            r.each(p.get("vulnerabilities"), (*at, "vulnerabilities"), vuln, "vulnerabilities[]: OSV records")
        r.each(res.get("packages") if isinstance(res, dict) else None, (*tokens, "packages"), found, "packages[]")
    r.each(doc["results"], ("results",), result, "results[]")


def _osv_record(rec: Any, tokens: tuple, r: Reader) -> None:
    vid = _text(rec, "id", tokens)

    def affected(a: Any, at: tuple) -> None:
        pk = _obj(a, "package", at, "an object with the package's ecosystem and name")
        where = (*at, "package")
        ptype, namespace = _osv_ecosystem(pk, where)
        pkg = _package(where, ptype, _text(pk, "name", where), purl=str(pk.get("purl") or ""), namespace=namespace)
        r.add(vid, pkg, at, _strings(rec.get("aliases")), _osv_fixes(a))
    r.each(rec.get("affected"), (*tokens, "affected"), affected, "affected[]: the packages the record covers")


def _osv_ecosystem(pk: dict, tokens: tuple) -> tuple[str, str | None]:
    ecosystem = _text(pk, "ecosystem", tokens)
    mapped = osv_purl_type(ecosystem)
    if mapped is None:
        raise Broken((*tokens, "ecosystem"), "an OSV ecosystem weft maps to a package type (PyPI, npm, Go, "
                     "Maven, crates.io, Debian, Alpine, …)", ecosystem)
    return mapped


def _osv_fixes(affected: dict) -> list[str]:
    return [e["fixed"] for rng in _dicts(affected.get("ranges")) if rng.get("type") in OSV_VERSIONED_RANGES
            for e in _dicts(rng.get("events")) if isinstance(e.get("fixed"), str)]


def _same(affected: dict, name: str) -> bool:
    pk = affected.get("package")
    return not isinstance(pk, dict) or pk.get("name") == name


def _component(c: dict, tokens: tuple) -> Package:
    evidence = c.get("evidence") if isinstance(c.get("evidence"), dict) else {}
    locations = _strings(evidence.get("occurrences"), "location") + [
        p["value"] for p in _dicts(c.get("properties"))
        if str(p.get("name", "")).startswith("syft:location:") and str(p.get("name")).endswith(":path")
        and isinstance(p.get("value"), str)]
    name = "/".join(x for x in (c.get("group"), c.get("name")) if isinstance(x, str) and x)
    return _package(tokens, "generic", name, str(c.get("version") or ""), str(c.get("purl") or ""), tuple(locations))


def _index(components: Any, into: dict[str, dict]) -> None:
    for c in _dicts(components):
        if isinstance(c.get("bom-ref"), str):
            into[c["bom-ref"]] = c
        _index(c.get("components"), into)


def _text(obj: Any, key: str, tokens: tuple, expected: str = "a non-empty string") -> str:
    value = obj.get(key) if isinstance(obj, dict) else None
    if not isinstance(value, str) or not value:
        raise Broken((*tokens, key), expected, value)
    return value


def _obj(obj: Any, key: str, tokens: tuple, expected: str) -> dict:
    value = obj.get(key) if isinstance(obj, dict) else None
    if not isinstance(value, dict):
        raise Broken((*tokens, key), expected, value)
    return value


def _dicts(values: Any) -> list[dict]:
    return [x for x in values if isinstance(x, dict)] if isinstance(values, list) else []


def _strings(values: Any, key: str = "") -> list[str]:
    picked = [x.get(key) if key and isinstance(x, dict) else x for x in (values if isinstance(values, list) else [])]
    return [x for x in picked if isinstance(x, str) and x]


def _package(tokens: tuple, *args: Any, **kwargs: Any) -> Package:
    try:
        return package(*args, **kwargs)
    except ValueError as e:
        raise Broken(tokens, str(e)) from None


def _purl_or_empty(value: Any) -> str:
    try:
        return package("", "", purl=value).purl if isinstance(value, str) else ""
    except ValueError:
        return ""


def shape(doc: Any) -> str:
    """What a JSON value is, for error messages."""
    if isinstance(doc, dict):
        keys = ", ".join(sorted(map(str, doc))[:8]) or "none"
        return f"a JSON object with keys {keys}" + (" …" if len(doc) > 8 else "")
    if isinstance(doc, list):
        return f"a JSON array of {len(doc)} item(s)"
    return f"a JSON {type(doc).__name__} ({str(doc)[:40]!r})"


PARSERS: dict[str, Callable[[Any, Reader], None]] = {
    "cyclonedx": cyclonedx, "grype": grype, "pip-audit": pip_audit, "osv": osv, "osv-scanner": osv_scanner}
