"""The sign-in's Argon2id working memory (64 MiB with the production parameters) is given back
once the password check returns (issue 15, memory): the process's resident memory after the
sign-in is about what it was before, while its high-water mark shows the 64 MiB was used, so the
test cannot pass with cheaper parameters. It reads Linux's /proc/self/status (the suite runs on
Linux), in a process of its own: the suite lowers the Argon2 cost in process (tests/conftest.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.cli_support import PASSWORD

SCRIPT = """
import sys
from pathlib import Path
from tpi_chart.services.context import open_services

def mib(field):
    for line in open("/proc/self/status"):
        if line.startswith(field):
            return int(line.split()[1]) / 1024

database, password = Path(sys.argv[1]), sys.argv[2]
with open_services(database, None) as services:
    services.auth.create_first_administrator("admin", "Admin", password, physician=True)
with open_services(database, None) as services:
    services.auth.needs_first_run()
    with open("/proc/self/clear_refs", "w") as reset:  # the high-water mark from here on
        reset.write("5")
    before = mib("VmRSS")
    user = services.auth.login("admin", password)
    assert user is not None, "the right password was refused"
    print(before, mib("VmRSS"), mib("VmHWM"))
"""


def test_the_password_checks_memory_is_given_back_after_sign_in(tmp_path: Path) -> None:
    env = {**os.environ, "TPI_CHART_KEY_DIR": str(tmp_path / "keys"), "HOME": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tmp_path / "clinic.db"), PASSWORD],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    before, after, peak = (float(word) for word in done.stdout.split()[-3:])
    assert peak - before >= 60, f"Argon2 used {peak - before:.1f} MiB, not 64 MiB"
    assert after - before <= 4, f"{after - before:.1f} MiB stayed resident after the sign-in"
