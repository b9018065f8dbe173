"""Which package a file belongs to. A file path and a package each give a set of keys;
a file opened at runtime is one of a package's files when their key sets meet.

- Python: under `…/site-packages/` (or `dist-packages/`), `<dist>-<ver>.dist-info` or
  `.egg-info` is the distribution, any other top-level directory, or a `.py`/`.so`/`.pyc`
  module file, is an import name. Distribution names are compared normalised (PEP 503);
  the import names of a distribution are its name with `_` for `-`, those of the well-known
  distributions whose `top_level.txt` says otherwise, and those the report's locations show.
- npm: the directory after the last `node_modules/` (`@scope/name` for scoped packages).
- Any package: a file the report names as one of its own (never a package database or a
  lockfile shared by every package) is matched exactly; OS packages only match this way.
"""
from __future__ import annotations

import re
from pathlib import PurePosixPath

from weft.posture.core.vex.findings import Package

Key = tuple[str, str]       # (kind, value): ("pypi", dist), ("py-import", name), ("npm", name), ("file", path)

SITE_DIRS = {"site-packages", "dist-packages"}
NAMESPACE_PACKAGES = {"google", "azure", "backports", "jaraco", "zope", "sphinxcontrib"}   # name two levels
MODULE_SUFFIXES = (".py", ".pyc", ".so", ".pyd")
# top_level.txt of distributions whose import names are not their names (PEP 503 names)
IMPORT_NAMES: dict[str, tuple[str, ...]] = {
    "pyyaml": ("yaml", "_yaml"), "pillow": ("pil",), "beautifulsoup4": ("bs4",), "python-dateutil": ("dateutil",),
    "scikit-learn": ("sklearn",), "opencv-python": ("cv2",), "opencv-python-headless": ("cv2",),
    "pyjwt": ("jwt",), "pycryptodome": ("crypto",), "pyopenssl": ("openssl",), "protobuf": ("google/protobuf",),
    "grpcio": ("grpc",), "attrs": ("attr", "attrs"), "setuptools": ("setuptools", "pkg_resources", "_distutils_hack"),
    "cffi": ("cffi", "_cffi_backend"), "psycopg2-binary": ("psycopg2",), "python-multipart": ("multipart",),
    "python-jose": ("jose",), "python-dotenv": ("dotenv",), "msgpack-python": ("msgpack",),
    "pymupdf": ("fitz", "pymupdf"), "faiss-cpu": ("faiss",), "tensorflow-cpu": ("tensorflow",),
}
LOCKFILES = {"package-lock.json", "npm-shrinkwrap.json", "yarn.lock", "pnpm-lock.yaml", "requirements.txt",
             "pipfile.lock", "poetry.lock", "uv.lock", "pdm.lock", "go.mod", "go.sum", "cargo.lock",
             "gemfile.lock", "composer.lock", "pom.xml", "gradle.lockfile", "packages.lock.json"}
PACKAGE_DATABASES = ("/var/lib/dpkg/", "/var/lib/rpm/", "/usr/lib/sysimage/rpm/", "/lib/apk/db/",
                     "/usr/share/doc/", "/usr/share/licenses/")
_PEP503 = re.compile(r"[-_.]+")


def canonical(name: str) -> str:
    """A Python distribution name normalised as PEP 503 says (`PyYAML` -> `pyyaml`)."""
    return _PEP503.sub("-", name).lower()


def path_keys(path: str) -> set[Key]:
    """What a file path says it belongs to: itself, and a Python or npm package."""
    parts = PurePosixPath(path).parts
    return {("file", path), *_python(parts), *_npm(parts)}


def package_keys(pkg: Package) -> set[Key]:
    """Every key a file of `pkg` can have: its name's, and those of the files the report
    names as its own. Empty when nothing can tell its files (an OS package without them)."""
    keys: set[Key] = set()
    if pkg.ecosystem == "pypi":
        dist = canonical(pkg.name)
        keys |= {("pypi", dist), *(("py-import", n) for n in import_names(dist))}
    elif pkg.ecosystem == "npm":
        keys.add(("npm", pkg.name.lower()))
    for location in pkg.locations:
        if not shared(location):
            keys |= path_keys(location)
    return keys


def import_names(dist: str) -> tuple[str, ...]:
    """The import names of a distribution (PEP 503 name), as far as its name tells:
    `azure-identity` -> `azure/identity` (a namespace package), `typing-extensions` ->
    `typing_extensions`, or what `IMPORT_NAMES` knows."""
    if dist in IMPORT_NAMES:
        return IMPORT_NAMES[dist]
    first, _, rest = dist.partition("-")
    if first in NAMESPACE_PACKAGES and rest:
        return (f"{first}/{rest.partition('-')[0]}",)
    return (dist.replace("-", "_"),)


def shared(path: str) -> bool:
    """A file of a package manager's, not of one package: its database, docs, a lockfile."""
    return path.startswith(PACKAGE_DATABASES) or PurePosixPath(path).name.lower() in LOCKFILES


def _python(parts: tuple[str, ...]) -> set[Key]:
    site = max((i for i, p in enumerate(parts) if p in SITE_DIRS), default=len(parts))
    if site + 1 >= len(parts):
        return set()
    top, rest = parts[site + 1], parts[site + 2:]
    if top.endswith((".dist-info", ".egg-info")):
        return {("pypi", canonical(top.rsplit(".", 1)[0].partition("-")[0]))}
    if top == "__pycache__" and rest:
        top, rest = rest[0], ()
    if not rest:                                    # a module file at the top level
        if not top.endswith(MODULE_SUFFIXES) or top.startswith("."):
            return set()
        top = top.partition(".")[0]
    elif top.lower() in NAMESPACE_PACKAGES and len(rest) > 1:
        top = f"{top}/{rest[0]}"
    return {("py-import", top.lower())}


def _npm(parts: tuple[str, ...]) -> set[Key]:
    at = max((i for i, p in enumerate(parts) if p == "node_modules"), default=len(parts)) + 1
    width = 2 if at < len(parts) and parts[at].startswith("@") else 1
    if at + width > len(parts) or parts[at].startswith("."):
        return set()
    return {("npm", "/".join(parts[at:at + width]).lower())}
