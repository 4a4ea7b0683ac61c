"""Print the requirements of the core (everything but the window): the project's dependencies
and its test extra from pyproject.toml, without Qt. `make test-core` installs these into a
virtual environment of its own, so that a Qt import in domain, storage, services, pdf, interop
or cli fails the unit tests there (one list of versions: pyproject.toml's)."""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"
QT = re.compile(r"^(PySide6|shiboken6|pytest-qt)\b", re.IGNORECASE)


def core_requirements(pyproject: Path = PYPROJECT) -> list[str]:
    project = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]
    wanted = [*project["dependencies"], *project["optional-dependencies"]["test"]]
    return [requirement for requirement in wanted if not QT.match(requirement)]


if __name__ == "__main__":
    sys.stdout.write("".join(f"{line}\n" for line in core_requirements()))
