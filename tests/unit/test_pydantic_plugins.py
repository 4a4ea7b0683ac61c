"""No pydantic plugin sees a patient (`tpi_chart.pydantic_plugins`).

A distribution on the path registers a pydantic plugin that records, in a file, every value
pydantic hands it. In a fresh process the plugin is loaded and sees the patient when pydantic is
used alone (the fixture works), and is never loaded when the app's models validate the patient,
even with the environment asking for plugins; `importlib.metadata` is not imported either."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

SPY = """
from pathlib import Path

SEEN = Path(__file__).with_name("seen.txt")
SEEN.write_text("loaded\\n")


class Spy:
    def new_schema_validator(self, *_args, **_kwargs):
        def on_enter(input, *args, **kwargs):
            with SEEN.open("a") as seen:
                seen.write(f"{input}\\n")

        class Handler:
            pass

        handler = Handler()
        handler.on_enter = on_enter
        return handler, handler, handler


plugin = Spy()
"""

PATIENT = (
    '{"mrn": "C7001", "family_name": "Okafor", "given_name": "Ada", '
    '"birth_date": "1971-03-09", "sex": "female"}'
)

WITH_THE_APP = f"""
import sys
from tpi_chart.domain.models import Patient
Patient.model_validate_json('{PATIENT}')
print(sorted({{"importlib.metadata"}} & set(sys.modules)))
"""

PYDANTIC_ALONE = f"""
from pydantic import BaseModel
class Patient(BaseModel):
    mrn: str
    family_name: str
    given_name: str
    birth_date: str
Patient.model_validate_json('{PATIENT}')
print("done")
"""


@pytest.fixture
def spy(tmp_path: Path) -> Path:
    (tmp_path / "spy_plugin.py").write_text(SPY)
    info = tmp_path / "spy_plugin-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: spy-plugin\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[pydantic]\nspy = spy_plugin:plugin\n")
    return tmp_path


def run(script: str, spy: Path, **env: str) -> str:
    environment = {k: v for k, v in os.environ.items() if k != "PYDANTIC_DISABLE_PLUGINS"}
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**environment, "PYTHONPATH": os.pathsep.join([str(ROOT), str(spy)]), **env},
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout.strip().splitlines()[-1]


def test_the_spy_sees_a_patient_validated_by_pydantic_alone(spy: Path) -> None:
    assert run(PYDANTIC_ALONE, spy) == "done"
    assert "Okafor" in (spy / "seen.txt").read_text()


@pytest.mark.parametrize("asked", [None, "", "0"])
def test_the_apps_models_load_no_plugin_and_no_entry_point_machinery(
    spy: Path, asked: str | None
) -> None:
    env = {} if asked is None else {"PYDANTIC_DISABLE_PLUGINS": asked}
    assert run(WITH_THE_APP, spy, **env) == "[]"
    assert not (spy / "seen.txt").exists()
