"""Packaging files: every command module reaches the bundler statically, the data ships inside
the package, the Linux desktop files validate, install/uninstall per user keep the data, the
release workflow and installer script are well formed, and the version has one source."""

from __future__ import annotations

import ast
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import tpi_chart.resources
import yaml

from tpi_chart import __version__
from tpi_chart.cli import registry
from tpi_chart.domain.resources import resource_path, resources_dir

ROOT = Path(__file__).resolve().parents[2]
PACKAGING = ROOT / "packaging"
LINUX = PACKAGING / "linux"
APP_ID = "org.tpichart.TPIChart"


def test_every_command_module_is_in_the_static_registry() -> None:
    modules = {p.stem for p in (ROOT / "tpi_chart" / "cli").glob("commands_*.py")}
    registered = {module.__name__.rsplit(".", 1)[1] for module in registry.COMMAND_MODULES}
    assert registered == modules
    # Imported by `from tpi_chart.cli import ...` statements, which PyInstaller follows.
    tree = ast.parse((ROOT / "tpi_chart" / "cli" / "registry.py").read_text("utf-8"))
    imported = {
        alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module == "tpi_chart.cli"
        for alias in node.names
    }
    assert imported == modules
    cli_sources = "".join(p.read_text("utf-8") for p in (ROOT / "tpi_chart" / "cli").glob("*.py"))
    assert "import_module" not in cli_sources


def test_the_bundle_spec_needs_no_hidden_imports() -> None:
    spec = (PACKAGING / "tpi_chart.spec").read_text("utf-8")
    assert "hiddenimports" not in spec
    assert 'collect_data_files("tpi_chart")' in spec


def test_data_files_are_the_package_tpi_chart_resources() -> None:
    assert resources_dir() == Path(tpi_chart.resources.__file__).parent
    assert resource_path("catalog/formulary.json").is_file()
    shipped = {p.name for p in (ROOT / "resources").iterdir() if p.is_dir() and p.name[0] != "_"}
    assert shipped <= {p.name for p in resources_dir().iterdir()}


@pytest.mark.parametrize("location", ["/tmp/app.zip/tpi_chart/resources/__init__.pyc", None])
def test_data_files_that_are_not_on_disk_are_refused_in_words(
    monkeypatch: pytest.MonkeyPatch, location: str | None
) -> None:
    monkeypatch.setattr(tpi_chart.resources, "__file__", location)
    with pytest.raises(RuntimeError, match="not on disk"):
        resources_dir()


def _validate(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, capture_output=True, text=True, check=False)


def test_desktop_entry_and_appstream_metainfo_validate() -> None:
    desktop = _validate("desktop-file-validate", str(LINUX / f"{APP_ID}.desktop"))
    assert desktop.returncode == 0, desktop.stdout + desktop.stderr
    assert "error" not in desktop.stdout
    metainfo = _validate(
        "appstreamcli", "validate", "--no-net", str(LINUX / f"{APP_ID}.metainfo.xml")
    )
    assert metainfo.returncode == 0, metainfo.stdout + metainfo.stderr
    text = (LINUX / f"{APP_ID}.metainfo.xml").read_text("utf-8")
    assert f'<release version="{__version__}"' in text


def test_icon_set_has_the_svg_and_every_png_size() -> None:
    icons = PACKAGING / "icons"
    assert (icons / "tpi-chart.svg").read_text("utf-8").lstrip().startswith("<?xml")
    for size in (16, 24, 32, 48, 64, 128, 256, 512):
        png = (icons / f"tpi-chart-{size}.png").read_bytes()
        assert png[:8] == b"\x89PNG\r\n\x1a\n"
        width, height = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
        assert (width, height) == (size, size)


def _fake_bundle(folder: Path) -> Path:
    bundle = folder / "bundle" / "tpi-chart"
    bundle.mkdir(parents=True)
    binary = bundle / "tpi-chart"
    binary.write_text(f'#!/bin/sh\necho "tpi-chart {__version__}"\n', encoding="utf-8")
    binary.chmod(0o755)
    (bundle / "_internal").mkdir()
    (bundle / "_internal" / "lib.so").write_bytes(b"\0")
    return bundle


def test_install_and_uninstall_per_user_keep_the_data(tmp_path: Path) -> None:
    bundle = _fake_bundle(tmp_path)
    home = tmp_path / "home"
    env = {**os.environ, "HOME": str(home), "XDG_DATA_HOME": str(home / ".local" / "share")}
    env.pop("PREFIX", None)
    data = home / ".local" / "share" / "tpi-chart"
    data.mkdir(parents=True)
    (data / "tpi-chart.db").write_bytes(b"patient data")

    installed = subprocess.run(
        ["sh", str(LINUX / "install.sh"), str(bundle)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert installed.returncode == 0, installed.stderr
    local = home / ".local"
    lib = local / "lib" / "tpi-chart"
    assert (lib / "_internal" / "lib.so").is_file()
    assert (local / "bin" / "tpi-chart").resolve() == (lib / "tpi-chart").resolve()
    entry = (local / "share" / "applications" / f"{APP_ID}.desktop").read_text("utf-8")
    assert f"Exec={lib}/tpi-chart\n" in entry
    validated = _validate(
        "desktop-file-validate", str(local / "share/applications" / f"{APP_ID}.desktop")
    )
    assert validated.returncode == 0, validated.stdout
    assert (local / "share/icons/hicolor/scalable/apps" / f"{APP_ID}.svg").is_file()
    assert (local / "share/icons/hicolor/48x48/apps" / f"{APP_ID}.png").is_file()
    assert (local / "share/metainfo" / f"{APP_ID}.metainfo.xml").is_file()
    assert f"TPI Chart {__version__} installed in {lib}" in installed.stdout

    removed = subprocess.run(
        ["sh", str(LINUX / "uninstall.sh")], env=env, capture_output=True, text=True, check=False
    )
    assert removed.returncode == 0, removed.stderr
    assert not lib.exists()
    assert not (local / "bin" / "tpi-chart").exists()
    assert not (local / "share/applications" / f"{APP_ID}.desktop").exists()
    assert not (local / "share/icons/hicolor/48x48/apps" / f"{APP_ID}.png").exists()
    assert (data / "tpi-chart.db").read_bytes() == b"patient data"
    assert f"database and its backups before updates: {data}" in removed.stdout


def test_uninstall_leaves_a_tpi_chart_command_that_is_not_ours(tmp_path: Path) -> None:
    home = tmp_path / "home"
    own = home / ".local" / "bin" / "tpi-chart"
    own.parent.mkdir(parents=True)
    os.symlink("/opt/elsewhere/tpi-chart", own)
    env = {**os.environ, "HOME": str(home)}
    env.pop("PREFIX", None)
    subprocess.run(["sh", str(LINUX / "uninstall.sh")], env=env, check=True, capture_output=True)
    assert own.is_symlink()


def test_install_without_a_bundle_says_how_to_build_one(tmp_path: Path) -> None:
    result = subprocess.run(
        ["sh", str(LINUX / "install.sh"), str(tmp_path / "nothing")],
        env={**os.environ, "HOME": str(tmp_path)},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1
    assert "build it: python packaging/build.py" in result.stderr


def test_release_workflow_builds_and_smoke_tests_windows_and_macos() -> None:
    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "release.yml").read_text("utf-8"))
    triggers = workflow.get("on", workflow.get(True))  # YAML 1.1 reads a bare `on` as true
    assert set(triggers) == {"push", "workflow_dispatch"}
    job = workflow["jobs"]["bundle"]
    assert job["strategy"]["matrix"]["os"] == ["windows-latest", "macos-latest"]
    commands = "\n".join(step.get("run", "") for step in job["steps"])
    assert "python packaging/build.py" in commands  # the wheel and bundle smoke tests
    assert "packaging\\windows\\tpi-chart.iss" in commands


def test_inno_setup_script_names_files_that_exist() -> None:
    script = (PACKAGING / "windows" / "tpi-chart.iss").read_text("utf-8")
    assert f'#define AppVersion "{__version__}"' in script
    assert "PrivilegesRequired=lowest" in script
    for relative in re.findall(r"=(\.\.\\[^\s\"]+\.ico)", script):
        assert (PACKAGING / "windows" / relative.replace("\\", "/")).resolve().is_file()
    assert re.search(r"name=\"tpi-chart-window\"", (PACKAGING / "tpi_chart.spec").read_text())
    assert "tpi-chart-window.exe" in script


def test_version_has_one_source_and_a_changelog_entry() -> None:
    assert re.fullmatch(r"\d+\.\d+\.\d+", __version__)
    pyproject = (ROOT / "pyproject.toml").read_text("utf-8")
    assert 'version = { attr = "tpi_chart.__version__" }' in pyproject
    assert not re.search(r'^version\s*=\s*"', pyproject, re.MULTILINE)
    changelog = (ROOT / "CHANGELOG.md").read_text("utf-8")
    assert "## [Unreleased]" in changelog
    assert re.search(
        rf"^## \[{re.escape(__version__)}\] - \d{{4}}-\d{{2}}-\d{{2}}$", changelog, re.M
    )


def test_scripts_are_posix_shell() -> None:
    for script in ("install.sh", "uninstall.sh"):
        checked = subprocess.run(
            ["sh", "-n", str(LINUX / script)], capture_output=True, check=False
        )
        assert checked.returncode == 0, checked.stderr
        assert (LINUX / script).stat().st_mode & 0o111
    assert shutil.which("sh")
