"""The committed browser libraries are exactly what scripts/vendor_static.py copied.

No npm and no Django: the checksum files are the record. To update a library,
change package.json, run `npm install`, then `python scripts/vendor_static.py`.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
VENDOR_DIRS = [ROOT / "static" / "vendor", ROOT / "tests" / "e2e" / "vendor"]


def _sums(directory: Path) -> dict[str, str]:
    lines = (directory / "SHA256SUMS").read_text(encoding="utf-8").splitlines()
    pairs = (line.split("  ", 1) for line in lines if line.strip())
    return {rel: digest for digest, rel in pairs}


def _files(directory: Path) -> set[str]:
    return {
        p.relative_to(directory).as_posix()
        for p in directory.rglob("*")
        if p.is_file() and p.name != "SHA256SUMS"
    }


@pytest.mark.parametrize("directory", VENDOR_DIRS, ids=lambda d: d.relative_to(ROOT).as_posix())
def test_every_listed_file_exists_and_matches(directory: Path) -> None:
    sums = _sums(directory)
    assert sums, f"{directory}/SHA256SUMS lists nothing"
    for rel, digest in sums.items():
        path = directory / rel
        assert path.is_file(), f"{path} is listed in SHA256SUMS but missing"
        actual = hashlib.sha256(path.read_bytes()).hexdigest()
        assert actual == digest, f"{path} differs from SHA256SUMS: re-run scripts/vendor_static.py"


@pytest.mark.parametrize("directory", VENDOR_DIRS, ids=lambda d: d.relative_to(ROOT).as_posix())
def test_every_vendored_file_is_listed(directory: Path) -> None:
    unlisted = _files(directory) - set(_sums(directory))
    assert not unlisted, f"not in {directory}/SHA256SUMS: {sorted(unlisted)}"


def test_every_source_map_reference_is_vendored() -> None:
    # ManifestStaticFilesStorage rewrites `//# sourceMappingURL=` and fails
    # collectstatic when the map is missing.
    static_vendor = VENDOR_DIRS[0]
    for js in static_vendor.rglob("*.js"):
        if not js.is_file():
            continue
        for line in js.read_text(encoding="utf-8", errors="replace").splitlines():
            if line.startswith("//# sourceMappingURL=") and "data:" not in line:
                target = js.parent / line.split("=", 1)[1].strip()
                assert target.is_file(), f"{js} names missing source map {target.name}"


def test_vendored_versions_match_package_json() -> None:
    pins = json.loads((ROOT / "package.json").read_text(encoding="utf-8"))["devDependencies"]
    versions = json.loads((VENDOR_DIRS[0] / "VERSIONS.json").read_text(encoding="utf-8"))
    for name, info in versions.items():
        assert pins[name] == info["version"], f"{name}: vendored {info['version']}, pinned {pins[name]}"
    axe_header = (VENDOR_DIRS[1] / "axe.min.js").read_text(encoding="utf-8")[:40]
    assert f"axe v{pins['axe-core']}" in axe_header
