"""Smoke test for a frozen build: `python packaging/smoke_test.py dist/tpi-chart/tpi-chart`."""

import os
import subprocess
import sys
from pathlib import Path

binary = sys.argv[1]
env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
example = Path(__file__).parents[1] / "tests" / "examples" / "reference-visit.json"
for command in ([binary, "--version"], [binary, "check", str(example)]):
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=60)
    if result.returncode != 0 or "No module named" in result.stderr:
        sys.exit(f"smoke test failed: {' '.join(command)}\n{result.stderr}")
print("smoke test passed")
