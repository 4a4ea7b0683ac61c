"""Build and smoke-test the wheel and the desktop bundle, the same way on Linux, Windows and macOS.

    python packaging/build.py            # wheel + bundle, each smoke-tested
    python packaging/build.py --wheel    # the wheel only

1. `pip wheel .` into dist/;
2. a fresh virtual environment (build/release-venv) gets the wheel, and `packaging/smoke_test.py`
   runs the installed `tpi-chart`;
3. PyInstaller, installed into that environment, builds the one-folder bundle dist/tpi-chart/ from
   the installed wheel (not from the checkout), and the smoke test runs the bundle.
Fails (exit 1) at the first step that fails.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DIST = ROOT / "dist"
BUILD = ROOT / "build"
VENV = BUILD / "release-venv"
PYINSTALLER = "pyinstaller>=6.10,<7"


def run(*command: str | Path) -> None:
    print("+", " ".join(str(part) for part in command), flush=True)
    subprocess.run([str(part) for part in command], check=True, cwd=ROOT)


def venv_tool(name: str) -> Path:
    folder = VENV / ("Scripts" if sys.platform == "win32" else "bin")
    return folder / (f"{name}.exe" if sys.platform == "win32" else name)


def bundle_binary() -> Path:
    name = "tpi-chart.exe" if sys.platform == "win32" else "tpi-chart"
    return DIST / "tpi-chart" / name


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--wheel", action="store_true", help="build and test the wheel only")
    args = parser.parse_args()
    started = time.monotonic()
    for stale in (DIST, VENV):
        shutil.rmtree(stale, ignore_errors=True)
    run(sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", DIST, ".")
    (wheel,) = DIST.glob("tpi_chart-*.whl")
    venv.create(VENV, with_pip=True)
    packages = [str(wheel)] + ([] if args.wheel else [PYINSTALLER])
    run(venv_tool("python"), "-m", "pip", "install", "--quiet", *packages)
    run(venv_tool("python"), ROOT / "packaging" / "smoke_test.py", venv_tool("tpi-chart"))
    print(f"wheel {wheel.name}: smoke test passed ({time.monotonic() - started:.0f} s)")
    if args.wheel:
        return 0
    bundle_started = time.monotonic()
    run(
        venv_tool("pyinstaller"),
        "--noconfirm",
        "--log-level=WARN",
        "--distpath",
        DIST,
        "--workpath",
        BUILD / "pyinstaller",
        ROOT / "packaging" / "tpi_chart.spec",
    )
    built = time.monotonic() - bundle_started
    run(venv_tool("python"), ROOT / "packaging" / "smoke_test.py", bundle_binary())
    print(f"bundle {bundle_binary().parent}: built in {built:.0f} s, smoke test passed")
    if sys.platform.startswith("linux"):
        add_linux_desktop_files(bundle_binary().parent)
        try_linux_install(bundle_binary().parent)
    return 0


def add_linux_desktop_files(bundle: Path) -> None:
    """`share/` in the bundle: install.sh, uninstall.sh, the desktop entry, metainfo and icons,
    so a copy of the folder installs itself (`sh tpi-chart/share/install.sh`)."""
    share = bundle / "share"
    shutil.rmtree(share, ignore_errors=True)
    shutil.copytree(ROOT / "packaging" / "linux", share)
    icons = share / "icons"
    icons.mkdir()
    for icon in (ROOT / "packaging" / "icons").glob("tpi-chart*"):
        if icon.suffix in (".svg", ".png"):
            shutil.copy2(icon, icons / icon.name)


def try_linux_install(bundle: Path) -> None:
    """Install the built bundle per user into a scratch prefix with its own install.sh, run the
    installed command, uninstall: what a clinic's IT does, on the real bundle."""
    with tempfile.TemporaryDirectory(prefix="tpi-chart-install-") as scratch:
        env = {**os.environ, "HOME": scratch, "PREFIX": str(Path(scratch) / ".local")}
        for command in (
            ["sh", str(bundle / "share" / "install.sh")],
            [str(Path(scratch) / ".local" / "bin" / "tpi-chart"), "--version"],
            ["sh", str(bundle / "share" / "uninstall.sh")],
        ):
            print("+", " ".join(command), flush=True)
            subprocess.run(command, check=True, env=env)
        if (Path(scratch) / ".local" / "lib" / "tpi-chart").exists():
            raise SystemExit("uninstall.sh left the bundle behind")
    print("Linux per-user install and uninstall of the bundle: passed")


if __name__ == "__main__":
    sys.exit(main())
