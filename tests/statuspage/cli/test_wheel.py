"""The built wheel runs on its own: installed in a fresh venv, away from the checkout, it migrates,
loads the demo and serves the pages, the console's sign-in and both stylesheets."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import sysconfig
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tests import demo_site
from tests.servers import free_port, wait_until_up

ROOT = Path(__file__).resolve().parents[3]
# What the build reads; the copy keeps the build's own folders (build/, *.egg-info) out of ROOT.
SOURCES = ("pyproject.toml", "README.md", "statuspage", "incidents", "compensation", "templates")
SITE_NAME = "Tidewater Exchange"


def _folders(top: Path, package: str) -> set[str]:
    """`package` and the dotted name of every folder beneath `top`, bar bytecode caches."""
    found = {package}
    for folder in top.rglob("*"):
        if folder.is_dir() and "__pycache__" not in folder.parts:
            found.add(".".join((package, *folder.relative_to(top).parts)))
    return found


def test_every_folder_of_the_code_and_the_templates_is_a_package_of_the_wheel() -> None:
    listed = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["tool"]["setuptools"]
    folders = _folders(ROOT / "templates", "statuspage.templates")
    for root in ("statuspage", "incidents", "compensation"):
        folders |= _folders(ROOT / root, root)
    assert sorted(listed["packages"]) == sorted(folders)
    assert listed["package-dir"] == {"statuspage.templates": "templates"}


def _pip(*args: str) -> None:
    """The shared venv's pip, offline: no index, so nothing can be fetched."""
    subprocess.run(  # noqa: S603 - pip on our own source and wheel
        [sys.executable, "-m", "pip", *args, "--no-index", "--quiet"],
        check=True,
        capture_output=True,
        timeout=300,
    )


def _build_wheel(tmp_path: Path) -> Path:
    source = tmp_path / "source"
    source.mkdir()
    for name in SOURCES:
        if (ROOT / name).is_dir():
            ignore = shutil.ignore_patterns("__pycache__")
            shutil.copytree(ROOT / name, source / name, ignore=ignore)
        else:
            shutil.copy2(ROOT / name, source / name)
    wheels = tmp_path / "wheels"
    _pip("wheel", "--no-deps", "--no-build-isolation", "-w", str(wheels), str(source))
    [wheel] = wheels.glob("statuspage-*.whl")
    return wheel


def _venv_with(wheel: Path, venv: Path) -> Path:
    """A fresh venv holding the wheel; its dependencies are the shared venv's, made visible by
    a .pth file written after the install (so pip never sees the shared editable install)."""
    subprocess.run(  # noqa: S603 - the standard library's venv
        [sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120
    )
    python = venv / "bin" / "python"
    _pip("--python", str(python), "install", "--no-deps", str(wheel))
    purelib = subprocess.run(  # noqa: S603 - the new venv's own interpreter
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout.strip()
    (Path(purelib) / "shared_venv.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return venv / "bin"


def _run(command: list[str], *, cwd: Path, env: dict[str, str]) -> str:
    done = subprocess.run(  # noqa: S603 - the installed command
        command, cwd=cwd, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


@contextmanager
def _serving(bin_folder: Path, *, port: int, cwd: Path, env: dict[str, str]) -> Iterator[str]:
    process = subprocess.Popen(  # noqa: S603 - the installed command
        [str(bin_folder / "statuspage"), "serve", "--port", str(port)],
        cwd=cwd,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(base, seconds=60)
        yield base
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@pytest.mark.slow
def test_the_installed_wheel_migrates_loads_the_demo_and_serves_outside_the_checkout(
    tmp_path: Path,
) -> None:
    bin_folder = _venv_with(_build_wheel(tmp_path), tmp_path / "venv")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {
        "PATH": f"{bin_folder}{os.pathsep}{os.environ['PATH']}",
        "HOME": str(elsewhere),
        "DATABASE_URL": f"sqlite:///{elsewhere / 'status.db'}",
        "SITE_NAME": SITE_NAME,
    }

    where = _run(
        [str(bin_folder / "python"), "-c", WHERE_FROM], cwd=elsewhere, env=env
    ).splitlines()
    assert len(where) == 4
    for path in where:
        assert Path(path).is_relative_to(tmp_path / "venv"), where
        assert Path(path).exists(), path
    assert _run([str(bin_folder / "statuspage"), "migrate"], cwd=elsewhere, env=env) == ""
    demo = _run([str(bin_folder / "statuspage"), "demo"], cwd=elsewhere, env=env)
    assert f"loaded a crypto platform with {demo_site.LOADED}" in demo

    with _serving(bin_folder, port=free_port(), cwd=elsewhere, env=env) as base:
        home = httpx.get(f"{base}/")
        assert home.status_code == 200
        [stylesheet] = re.findall(r'<link rel="stylesheet" href="([^"]+)">', home.text)
        css = httpx.get(f"{base}{stylesheet}")
        login = httpx.get(f"{base}/staff/login")
        console_css = httpx.get(f"{base}/staff/console.css")

    assert home.headers["content-type"] == "text/html; charset=utf-8"
    assert '<html lang="en">' in home.text
    assert f"<title>{SITE_NAME} status</title>" in home.text
    assert "BTC deposits credited slowly" in home.text
    assert (css.status_code, css.headers["content-type"]) == (200, "text/css; charset=utf-8")
    assert css.content == (ROOT / "statuspage" / "static" / "site.css").read_bytes()
    assert login.status_code == 200
    assert "<h1>Staff sign-in</h1>" in login.text
    assert console_css.status_code == 200
    assert console_css.headers["content-type"] == "text/css; charset=utf-8"
    assert console_css.content == (ROOT / "statuspage" / "static" / "console.css").read_bytes()


# Where the installed package, its templates and its static files are, one per line.
WHERE_FROM = """
import statuspage, statuspage.migrations as migrations, statuspage.templating as templating
print(statuspage.__file__, migrations.__file__, templating.TEMPLATES, templating.STATIC, sep="\\n")
"""
