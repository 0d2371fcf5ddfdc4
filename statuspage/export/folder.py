"""Writes an export snapshot into a folder: a new build beside the old, then an atomic switch.

Layout of the export folder `DIR`:

    DIR/current          a symlink to the build being served (point the web server here)
    DIR/.builds/<name>/  the builds; a new one is complete before `current` moves to it

A build holds every page plus a `.gz` sibling (and `.br` when the `brotli` extra is installed).
Files whose bytes did not change since the previous build are hard links to it, so a
re-export after a small change writes little. `current` is swapped with `rename(2)`, so a reader
sees the old site or the new one, never a mixture or half a file.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path
from types import ModuleType

from statuspage.export.snapshot import ExportError, Page, Snapshot

__all__ = ["CURRENT", "ExportFolderError", "brotli_module", "write_site"]

CURRENT = "current"
_BUILDS = ".builds"
_MANIFEST = ".manifest.json"
_YOUNG_SECONDS = 60
_BROTLI_QUALITY = 6  # 9 to 11 save under 1 % on these pages and take 40 times longer


class ExportFolderError(ExportError):
    """The export folder holds something this command did not write."""


def brotli_module() -> ModuleType | None:
    """The `brotli` extra (`pip install 'statuspage[brotli]'`), if it is installed."""
    try:
        import brotli  # type: ignore[import-not-found, unused-ignore]
    except ImportError:
        return None
    return brotli  # type: ignore[no-any-return, unused-ignore]


def write_site(root: Path, site: Snapshot) -> Path:
    """Writes `site` as a new build under `root` and points `root/current` at it."""
    root = root.absolute()  # builds are compared with `current` resolved
    current = root / CURRENT
    if current.exists() and not current.is_symlink():
        raise ExportFolderError(f"{current} exists and is not the symlink an export makes")
    builds = root / _BUILDS
    builds.mkdir(parents=True, exist_ok=True)
    previous = current.resolve() if current.is_symlink() else None
    build = builds / f"v{site.version}-{time.time_ns()}-{os.getpid()}"
    build.mkdir()
    _write_pages(build, site, previous)
    _switch(root, build)
    _prune(builds, keep={build, previous})
    return build


def _write_pages(build: Path, site: Snapshot, previous: Path | None) -> None:
    old = _manifest(previous)
    compress = brotli_module()
    stamp = site.updated_at.timestamp()
    written: dict[int, Path] = {}  # one entry is served at several paths: write it once
    manifest: dict[str, str] = {}
    for page in site.pages:
        target = build / page.path
        target.parent.mkdir(parents=True, exist_ok=True)
        manifest[page.path] = page.entry.etag
        same = written.get(id(page.entry))
        if same is None and previous is not None and old.get(page.path) == page.entry.etag:
            same = previous / page.path
        if same is not None and _link(same, target):
            continue
        _write(target, page, compress, stamp)
        written[id(page.entry)] = target
    if site.partial and previous is not None:
        _carry_over(previous, build, old, manifest)
    _manifest_of(build).write_text(json.dumps(manifest, sort_keys=True))


def _carry_over(previous: Path, build: Path, old: dict[str, str], manifest: dict[str, str]) -> None:
    """A partial export keeps the previous build's other pages (older incidents, history)."""
    for path, etag in old.items():
        if path not in manifest:
            (build / path).parent.mkdir(parents=True, exist_ok=True)
            if _link(previous / path, build / path):
                manifest[path] = etag


def _link(source: Path, target: Path) -> bool:
    """Hard-links a file and its compressed siblings; False when any is missing."""
    pairs = [(source, target), *((_sibling(source, s), _sibling(target, s)) for s in _SUFFIXES)]
    if not source.exists():
        return False
    for a, b in pairs:
        if a.exists():
            os.link(a, b)
    return True


_SUFFIXES = (".gz", ".br")


def _sibling(path: Path, suffix: str) -> Path:
    return path.with_name(path.name + suffix)


def _write(target: Path, page: Page, compress: ModuleType | None, stamp: float) -> None:
    bodies = [(target, page.entry.body), (_sibling(target, ".gz"), page.entry.gzipped)]
    if compress is not None:
        brotli = compress.compress(page.entry.body, quality=_BROTLI_QUALITY)
        bodies.append((_sibling(target, ".br"), brotli))
    for path, body in bodies:
        path.write_bytes(body)
        os.utime(path, (stamp, stamp))  # the web server's Last-Modified: the live app's


def _manifest(build: Path | None) -> dict[str, str]:
    if build is None:
        return {}
    try:
        loaded: dict[str, str] = json.loads(_manifest_of(build).read_text())
    except (OSError, ValueError):
        return {}
    return loaded


def _manifest_of(build: Path) -> Path:
    """Beside the build, not in it: the web server serves only the pages."""
    return build.with_name(build.name + _MANIFEST)


def _switch(root: Path, build: Path) -> None:
    """Points `root/current` at `build` in one rename: no moment without a site."""
    staged = root / f".{CURRENT}.{os.getpid()}.{time.time_ns()}"
    staged.symlink_to(build.relative_to(root))
    os.replace(staged, root / CURRENT)


def _prune(builds: Path, *, keep: set[Path | None]) -> None:
    """Removes builds older than the previous one (a reader may still be in that one), and
    none younger than a minute: another instance may be writing it."""
    settled = time.time() - _YOUNG_SECONDS
    for build in builds.iterdir():
        if build in keep or build.name.endswith(_MANIFEST) or build.stat().st_mtime >= settled:
            continue
        shutil.rmtree(build)
        _manifest_of(build).unlink(missing_ok=True)
