#!/usr/bin/env python3
"""Copy pinned browser libraries from node_modules/ into the repository.

We serve no CDN and run no bundler: the packages ship prebuilt UMD files, so
"vendoring" is copying them, with their licences, and recording a checksum.

    npm ci                                  # installs exactly package-lock.json
    python scripts/vendor_static.py         # copies, writes the SHA256SUMS files
    python scripts/vendor_static.py --check # verifies committed copies; no npm needed

Served copies go to static/vendor/<package>/ and are listed in
static/vendor/SHA256SUMS. axe-core is only for the end-to-end tests, so it goes
to tests/e2e/vendor/ with its own SHA256SUMS and is never collected as static.

Both checksum files use the `sha256sum` format ("<hex>  <relative path>",
sorted by path), so `cd static/vendor && sha256sum -c SHA256SUMS` also works.

A minified file that ends in `//# sourceMappingURL=x.map` makes Django's
ManifestStaticFilesStorage (and so whitenoise) fail at collectstatic when
x.map is missing. Every such reference is therefore checked after copying.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NODE_MODULES = ROOT / "node_modules"
PACKAGE_JSON = ROOT / "package.json"
STATIC_VENDOR = ROOT / "static" / "vendor"
E2E_VENDOR = ROOT / "tests" / "e2e" / "vendor"
SUMS_NAME = "SHA256SUMS"
VERSIONS_NAME = "VERSIONS.json"

SOURCE_MAP_RE = re.compile(r"^//# sourceMappingURL=(\S+)\s*$", re.MULTILINE)


@dataclass(frozen=True)
class Copy:
    """One file copied from node_modules/<package>/<source> to <dest_dir>/<target>."""

    source: str
    target: str


@dataclass(frozen=True)
class Package:
    name: str
    dest_dir: Path
    files: tuple[Copy, ...]
    # Packages whose code is compiled into one of the files above; their
    # licence travels with it (MIT asks for the notice in every copy).
    bundled: tuple[str, ...] = ()


PACKAGES: tuple[Package, ...] = (
    Package(
        name="chart.js",
        dest_dir=STATIC_VENDOR / "chart.js",
        files=(
            Copy("dist/chart.umd.min.js", "chart.umd.min.js"),
            Copy("dist/chart.umd.min.js.map", "chart.umd.min.js.map"),
            Copy("LICENSE.md", "LICENSE.md"),
        ),
        bundled=("@kurkle/color",),
    ),
    Package(
        # The *bundle* build contains date-fns, so no separate date-fns file.
        name="chartjs-adapter-date-fns",
        dest_dir=STATIC_VENDOR / "chartjs-adapter-date-fns",
        files=(
            Copy(
                "dist/chartjs-adapter-date-fns.bundle.min.js",
                "chartjs-adapter-date-fns.bundle.min.js",
            ),
            Copy("LICENSE.md", "LICENSE.md"),
        ),
        bundled=("date-fns",),
    ),
    Package(
        name="chartjs-plugin-annotation",
        dest_dir=STATIC_VENDOR / "chartjs-plugin-annotation",
        files=(
            Copy("dist/chartjs-plugin-annotation.min.js", "chartjs-plugin-annotation.min.js"),
            Copy("LICENSE.md", "LICENSE.md"),
        ),
    ),
    Package(
        # 0.2.1's "min" file is byte-identical to the plain UMD one; we copy it
        # under its published name so a future real .min drops straight in.
        name="chartjs-chart-financial",
        dest_dir=STATIC_VENDOR / "chartjs-chart-financial",
        files=(
            Copy("dist/chartjs-chart-financial.min.js", "chartjs-chart-financial.min.js"),
            Copy("LICENSE.md", "LICENSE.md"),
        ),
    ),
    Package(
        name="axe-core",
        dest_dir=E2E_VENDOR,
        files=(
            Copy("axe.min.js", "axe.min.js"),
            Copy("LICENSE", "LICENSE-axe-core"),
            Copy("LICENSE-3RD-PARTY.txt", "LICENSE-axe-core-3RD-PARTY.txt"),
        ),
    ),
)


class VendorError(Exception):
    """Anything that should stop the script with a one-line explanation."""


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 16), b""):
            digest.update(chunk)
    return digest.hexdigest()


def pinned_versions() -> dict[str, str]:
    data = json.loads(PACKAGE_JSON.read_text(encoding="utf-8"))
    return dict(data.get("devDependencies", {}))


def installed_version(package: str) -> str:
    manifest = NODE_MODULES / package / "package.json"
    if not manifest.is_file():
        raise VendorError(f"{manifest.relative_to(ROOT)} is missing: run `npm ci` first.")
    return json.loads(manifest.read_text(encoding="utf-8"))["version"]


def check_source_maps(directory: Path) -> None:
    """Fail if a vendored .js names a source map that was not vendored beside it."""
    for js in sorted(p for p in directory.rglob("*.js") if p.is_file()):
        text = js.read_text(encoding="utf-8", errors="replace")
        for ref in SOURCE_MAP_RE.findall(text):
            if ref.startswith("data:"):
                continue
            if not (js.parent / ref).is_file():
                raise VendorError(
                    f"{js.relative_to(ROOT)} points to source map {ref!r}, which is not "
                    "vendored; collectstatic with manifest storage would fail. Copy the map."
                )


def vendored_files(directory: Path) -> list[Path]:
    """Every file under directory except the checksum file itself, sorted by path."""
    return sorted(
        (p for p in directory.rglob("*") if p.is_file() and p.name != SUMS_NAME),
        key=lambda p: p.relative_to(directory).as_posix(),
    )


def write_sums(directory: Path) -> None:
    lines = [
        f"{sha256_of(path)}  {path.relative_to(directory).as_posix()}\n"
        for path in vendored_files(directory)
    ]
    (directory / SUMS_NAME).write_text("".join(lines), encoding="utf-8")


def read_sums(directory: Path) -> dict[str, str]:
    sums_path = directory / SUMS_NAME
    if not sums_path.is_file():
        raise VendorError(f"{sums_path.relative_to(ROOT)} is missing.")
    expected: dict[str, str] = {}
    for number, line in enumerate(sums_path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        digest, sep, rel = line.partition("  ")
        if not sep or len(digest) != 64:
            raise VendorError(f"{sums_path.relative_to(ROOT)}:{number}: malformed line {line!r}")
        expected[rel] = digest
    return expected


def verify(directory: Path) -> list[str]:
    """Return human-readable problems: missing, changed or unlisted files."""
    problems: list[str] = []
    expected = read_sums(directory)
    for rel, digest in expected.items():
        path = directory / rel
        if not path.is_file():
            problems.append(f"missing:  {path.relative_to(ROOT)}")
        elif sha256_of(path) != digest:
            problems.append(f"changed:  {path.relative_to(ROOT)} (sha256 differs from {SUMS_NAME})")
    for path in vendored_files(directory):
        rel = path.relative_to(directory).as_posix()
        if rel not in expected:
            problems.append(f"unlisted: {path.relative_to(ROOT)} (not in {SUMS_NAME})")
    return problems


def vendor() -> None:
    pins = pinned_versions()
    versions: dict[str, dict[str, object]] = {}

    # Refuse a stale node_modules before touching anything.
    for pkg in PACKAGES:
        version = installed_version(pkg.name)
        if pins.get(pkg.name) != version:
            raise VendorError(
                f"node_modules has {pkg.name} {version} but package.json pins "
                f"{pins.get(pkg.name)!r}: run `npm ci`."
            )

    # Start from empty directories so a file dropped from the list disappears.
    for directory in {pkg.dest_dir for pkg in PACKAGES}:
        if directory.exists():
            shutil.rmtree(directory)
    for pkg in PACKAGES:
        pkg.dest_dir.mkdir(parents=True, exist_ok=True)

    for pkg in PACKAGES:
        version = installed_version(pkg.name)
        for item in pkg.files:
            src = NODE_MODULES / pkg.name / item.source
            if not src.is_file():
                raise VendorError(f"{src.relative_to(ROOT)} not found in {pkg.name} {version}.")
            shutil.copyfile(src, pkg.dest_dir / item.target)
        bundled_versions = {}
        for inner in pkg.bundled:
            inner_dir = NODE_MODULES / inner
            licence = next(iter(sorted(inner_dir.glob("LICENSE*"))), None)
            if licence is None:
                raise VendorError(f"no licence file in {inner_dir.relative_to(ROOT)}.")
            target = f"LICENSE-{inner.lstrip('@').replace('/', '-')}{licence.suffix}"
            shutil.copyfile(licence, pkg.dest_dir / target)
            bundled_versions[inner] = installed_version(inner)
        if pkg.dest_dir.is_relative_to(STATIC_VENDOR):
            versions[pkg.name] = {
                "version": version,
                "files": [c.target for c in pkg.files],
                # The adapter's bundle carries its own date-fns build; the
                # version here is the licence source, not the bundled code.
                **({"licences_of_bundled": bundled_versions} if bundled_versions else {}),
            }

    (STATIC_VENDOR / VERSIONS_NAME).write_text(
        json.dumps(versions, indent=2, sort_keys=True) + "\n", encoding="utf-8"
    )
    for directory in (STATIC_VENDOR, E2E_VENDOR):
        check_source_maps(directory)
        write_sums(directory)
        print(f"wrote {(directory / SUMS_NAME).relative_to(ROOT)}")
        for rel in read_sums(directory):
            print(f"  {rel}")


def check() -> int:
    problems: list[str] = []
    for directory in (STATIC_VENDOR, E2E_VENDOR):
        problems.extend(verify(directory))
        check_source_maps(directory)
    if problems:
        print("Vendored files do not match their SHA256SUMS:", file=sys.stderr)
        for problem in problems:
            print(f"  {problem}", file=sys.stderr)
        print(
            "Re-create them with `npm ci && python scripts/vendor_static.py` "
            "(never edit vendored files by hand).",
            file=sys.stderr,
        )
        return 1
    print("Vendored files match static/vendor/SHA256SUMS and tests/e2e/vendor/SHA256SUMS.")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--check",
        action="store_true",
        help="verify committed copies against SHA256SUMS without npm; exit 1 on mismatch",
    )
    args = parser.parse_args(argv)
    try:
        if args.check:
            return check()
        vendor()
        return 0
    except VendorError as exc:
        print(f"vendor_static: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
