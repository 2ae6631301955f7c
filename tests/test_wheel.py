"""The built wheel works once installed: no file it needs lives only in the source tree.

The wheel is built from a copy of the working tree (the build writes ``build/`` and
``*.egg-info`` into its source, and the repository is not ours to write), without build
isolation and without an index, so it runs offline with the dev venv's setuptools. It is
installed with ``--no-deps`` into a fresh venv whose ``.pth`` file points at the dev venv's
site-packages: the dependencies come from there, nothing is downloaded. Python does not read
``.pth`` files of a directory a ``.pth`` file adds, so the dev venv's editable finder for this
project stays inactive and ``core``, ``viewmodels``, ``migrations`` and ``qml`` can only come
from the wheel. Every command runs from a working directory outside the repository, with its
own HOME, data directory and temporary directory, each bounded in time.

What it guards: the kiosk loads its QML module from ``<site-packages>/qml`` (beside
``viewmodels``), and alembic's script location is the installed ``migrations`` package.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import sysconfig
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from PIL import Image

from tests.support.dcmtk import dcmtk, dcmtk_env
from tests.support.ports import HOST, free_port, wait_for_port
from tests.support.process import stop_process

ROOT = Path(__file__).resolve().parents[1]
AE = "KIOSK"

BUILD_TIMEOUT = 300.0
INSTALL_TIMEOUT = 120.0
COMMAND_TIMEOUT = 180.0  # a screenshot starts Qt, a demo database and our node
SERVE_TIMEOUT = 90.0  # until serve answers on its port (migrations run first)
ECHO_TIMEOUT = 30.0
STOP_TIMEOUT = 30.0  # serve exits on SIGTERM within this, else it is killed and the test fails

# Not part of what a build reads: version control, virtual environments, caches, build output.
NOT_SOURCE = {".git", ".venv", "build", "dist", "bench-data", ".mypy_cache", ".ruff_cache",
              ".pytest_cache"}  # fmt: skip


@dataclass(frozen=True)
class Installed:
    """A venv holding the installed wheel, and the environment to run it in."""

    python: Path
    site_packages: Path
    scripts: Path
    workdir: Path
    env: dict[str, str]

    def run(self, *args: str, timeout: float = COMMAND_TIMEOUT) -> subprocess.CompletedProcess[str]:
        """Run a command from the venv's bin directory (or the venv's python), bounded."""
        return subprocess.run(
            list(args),
            cwd=self.workdir,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def kiosk(self) -> str:
        return str(self.scripts / "dicom-kiosk")


def _ignore_non_source(directory: str, names: list[str]) -> set[str]:
    ignored = {name for name in names if name == "__pycache__" or name.endswith(".egg-info")}
    if Path(directory) == ROOT:
        ignored |= NOT_SOURCE & set(names)
    return ignored


def _checked(result: subprocess.CompletedProcess[str], what: str) -> str:
    if result.returncode != 0:
        raise AssertionError(
            f"{what} exited {result.returncode}\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
        )
    return result.stdout


def _clean_env(base: Path) -> dict[str, str]:
    """The current environment without our settings or Python path, rooted in ``base``."""
    env = {
        key: value
        for key, value in dcmtk_env().items()
        if not key.startswith(("DICOM_KIOSK_", "PYTHON", "XDG_", "VIRTUAL_ENV"))
    }
    for name in ("home", "data", "tmp", "runtime"):
        (base / name).mkdir(mode=0o700)
    env.update(
        HOME=str(base / "home"),
        DICOM_KIOSK_DATA=str(base / "data"),
        DICOM_KIOSK_THUMBNAILS_ON_ARRIVAL="false",
        TMPDIR=str(base / "tmp"),
        XDG_RUNTIME_DIR=str(base / "runtime"),
        QT_QPA_PLATFORM="offscreen",
        PYTHONNOUSERSITE="1",
    )
    return env


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Installed]:
    base = tmp_path_factory.mktemp("wheel")
    source, wheels, venv, workdir = (base / n for n in ("source", "wheels", "venv", "work"))
    shutil.copytree(ROOT, source, ignore=_ignore_non_source, symlinks=True)
    workdir.mkdir()
    env = _clean_env(base)

    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
         "--disable-pip-version-check", "-q", "-w", str(wheels), str(source)],
        cwd=workdir, env=env, capture_output=True, text=True, timeout=BUILD_TIMEOUT, check=False,
    )  # fmt: skip
    _checked(build, "pip wheel")
    (wheel,) = wheels.glob("dicom_kiosk-*.whl")

    subprocess.run(
        [sys.executable, "-m", "venv", "--without-pip", str(venv)],
        timeout=INSTALL_TIMEOUT, check=True, capture_output=True,
    )  # fmt: skip
    python = venv / "bin" / "python"
    install = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps",
         "--no-index", "--disable-pip-version-check", "-q", str(wheel)],
        cwd=workdir, env=env, capture_output=True, text=True, timeout=INSTALL_TIMEOUT, check=False,
    )  # fmt: skip
    _checked(install, "pip install")

    probe = [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]
    site_packages = Path(subprocess.check_output(probe, text=True, timeout=60).strip())
    dev_paths = dict.fromkeys(sysconfig.get_paths()[key] for key in ("purelib", "platlib"))
    (site_packages / "dev-venv-dependencies.pth").write_text("".join(f"{p}\n" for p in dev_paths))

    yield Installed(python, site_packages, venv / "bin", workdir, env)


def _files(top: Path) -> set[str]:
    return {
        str(p.relative_to(top))
        for p in top.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"
    }


def test_the_packages_and_their_resources_come_from_the_wheel(installed: Installed) -> None:
    code = (
        "import core, viewmodels, migrations, qml; "
        "print(core.__file__, viewmodels.__file__, migrations.__file__, *qml.__path__, sep='\\n')"
    )
    out = _checked(installed.run(str(installed.python), "-c", code, timeout=60), "import")
    paths = [Path(line) for line in out.splitlines()]
    assert len(paths) == 4, out  # qml is one directory, not also the source tree's
    site_packages = installed.site_packages.resolve()
    for path in paths:
        assert path.resolve().is_relative_to(site_packages), (path, out)
    # Every file of the kiosk's QML module, and alembic's scripts and template.
    assert _files(paths[3]) == _files(ROOT / "qml")
    migrations = {f for f in _files(ROOT / "migrations") if f.endswith((".py", ".mako"))}
    assert migrations <= _files(site_packages / "migrations")


def test_screenshot_of_the_database_view(installed: Installed) -> None:
    out = installed.workdir / "database.png"
    result = installed.run(installed.kiosk(), "screenshot", "database", str(out), "--demo")
    _checked(result, "dicom-kiosk screenshot")
    assert "failed to load" not in result.stderr, result.stderr[-4000:]
    with Image.open(out) as image:
        assert image.format == "PNG"
        width, height = image.size
        assert width > 0 and height > 0
        extrema = image.convert("L").getextrema()
        assert extrema[0] != extrema[1], "the screenshot is a single flat colour"


def test_serve_answers_c_echo_and_stops_on_sigterm(installed: Installed) -> None:
    echoscu = dcmtk("echoscu")
    if not Path(echoscu).exists():
        pytest.skip("DCMTK is not installed")
    port = free_port()
    log_path = installed.workdir / "serve.log"
    args = [installed.kiosk(), "serve", "--bind", HOST, "--port", str(port), "--ae-title", AE]
    with open(log_path, "ab") as log:
        process = subprocess.Popen(
            args,
            cwd=installed.workdir,
            env=installed.env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_for_port(port, SERVE_TIMEOUT, process=process, log=log_path)
        echo = subprocess.run(
            [echoscu, "-aet", "WHEELTEST", "-aec", AE, "-to", "10", "-ta", "10", "-td", "10",
             HOST, str(port)],
            env=installed.env, capture_output=True, text=True, timeout=ECHO_TIMEOUT, check=False,
        )  # fmt: skip
        _checked(echo, "echoscu")
        process.send_signal(signal.SIGTERM)
        try:
            status = process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            pytest.fail(f"serve did not stop within {STOP_TIMEOUT:.0f} s of SIGTERM")
        assert status == 0, log_path.read_text(errors="replace")[-4000:]
    finally:
        stop_process(process)  # by PID; SIGKILL after a bounded wait; no-op once it exited
    assert any(Path(installed.env["DICOM_KIOSK_DATA"]).iterdir()), "serve used another data dir"
