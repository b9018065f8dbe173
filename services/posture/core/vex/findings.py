"""What every vulnerability report is read into: a vulnerable package (named by its
package URL) and the vulnerabilities found in it, with the file and JSON pointer each
came from."""
from __future__ import annotations

from dataclasses import dataclass, field

from packageurl import PackageURL

from weft.posture.core.model import ParseError

# OSV ecosystem (before any ':<release>' suffix) -> (purl type, purl namespace)
OSV_ECOSYSTEMS: dict[str, tuple[str, str | None]] = {
    "PyPI": ("pypi", None), "npm": ("npm", None), "Go": ("golang", None), "Maven": ("maven", None),
    "crates.io": ("cargo", None), "RubyGems": ("gem", None), "NuGet": ("nuget", None),
    "Packagist": ("composer", None), "Hex": ("hex", None), "Pub": ("pub", None),
    "Debian": ("deb", "debian"), "Ubuntu": ("deb", "ubuntu"), "Alpine": ("apk", "alpine"),
    "Wolfi": ("apk", "wolfi"), "Red Hat": ("rpm", "redhat"), "Rocky Linux": ("rpm", "rocky-linux"),
    "AlmaLinux": ("rpm", "almalinux"), "SUSE": ("rpm", "suse"), "openSUSE": ("rpm", "opensuse"),
}
_SLASH_NAMESPACED = {"npm", "golang", "composer", "github", "swift"}   # name "ns/name" in reports


@dataclass(frozen=True, order=True)
class Package:
    purl: str                           # canonical package URL: the package's identity
    ecosystem: str                      # the purl type: pypi, npm, deb, golang, ...
    name: str                           # as the ecosystem spells it (npm: "@scope/name")
    version: str = ""                   # "" when the report does not say (bare OSV records)
    locations: tuple[str, ...] = ()     # files the report says belong to it

    def __str__(self) -> str:
        return f"{self.name} {self.version}".strip()


@dataclass(frozen=True, order=True)
class Finding:
    vulnerability: str                  # the id as the report gives it: CVE-…, GHSA-…, PYSEC-…
    package: Package
    aliases: tuple[str, ...] = ()       # other ids of the same vulnerability
    fix_versions: tuple[str, ...] = ()
    where: str = ""                     # file#pointer of the record it was read from
    advice: str = ""                    # the report's own recommendation, when it gives one


@dataclass
class Report:
    file: str
    format: str                         # cyclonedx, grype, pip-audit, osv, osv-scanner
    findings: list[Finding] = field(default_factory=list)
    errors: list[ParseError] = field(default_factory=list)
    product: str = ""                   # purl of the image the report describes, when it says


def package(ecosystem: str, name: str, version: str = "", purl: str = "",
            locations: tuple[str, ...] = (), namespace: str | None = None) -> Package:
    """A package from the report's purl when it parses, else from ecosystem (a purl type),
    namespace and name. ValueError when neither names a package."""
    parsed = _parse(purl)
    if parsed is None:
        if not (ecosystem and name):
            raise ValueError("a package URL, or a package type and name")
        split_namespace, short = _split(ecosystem, name)
        parsed = PackageURL(type=ecosystem, namespace=namespace or split_namespace, name=short,
                            version=version or None)
    elif version and not parsed.version:
        parsed = parsed._replace(version=version)
    spelled = "/".join(p for p in (parsed.namespace, parsed.name) if p) if parsed.type in _SLASH_NAMESPACED else ""
    return Package(parsed.to_string(), parsed.type, name or spelled or parsed.name, parsed.version or "",
                   tuple(sorted(set(locations))))


def osv_purl_type(ecosystem: str) -> tuple[str, str | None] | None:
    """(purl type, namespace) of an OSV ecosystem such as "PyPI" or "Debian:12"."""
    return OSV_ECOSYSTEMS.get(ecosystem.partition(":")[0])


def _split(ptype: str, name: str) -> tuple[str | None, str]:
    """(namespace, name) of a name as a report spells it: "@scope/name", "group:artifact"."""
    sep = ":" if ptype == "maven" else "/" if ptype in _SLASH_NAMESPACED else ""
    if sep and sep in name:
        namespace, _, short = name.rpartition(sep)
        return namespace, short
    return None, name


def _parse(purl: str) -> PackageURL | None:
    if not purl:
        return None
    try:
        return PackageURL.from_string(purl)
    except ValueError:
        return None     # e.g. OSV's early "pkg:pypi:requests": fall back to ecosystem and name


def image_purl(reference: str, digest: str = "") -> str:
    """The purl of a container image from its reference ("ghcr.io/acme/agent:1.4") and
    digest: pkg:oci/agent@sha256:…?repository_url=ghcr.io/acme/agent&tag=1.4; "" without a name."""
    rest, _, ref_digest = reference.partition("@")
    head, _, last = rest.rpartition("/")
    name, _, tag = last.partition(":")
    if not name:
        return ""
    repository = f"{head}/{name}" if head else name
    qualifiers = {"repository_url": repository.lower(), **({"tag": tag} if tag else {})}
    return PackageURL(type="oci", name=name.lower(), version=digest or ref_digest or None,
                      qualifiers=qualifiers).to_string()
