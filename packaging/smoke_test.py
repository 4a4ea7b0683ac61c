"""Smoke test of an installed or frozen TPI Chart: `python packaging/smoke_test.py BINARY`.

Runs, in a throwaway home folder (nothing of the person running it is read or changed):
1. `--version` (version, schema version, catalog versions);
2. `check` on the reference document, compared with its expected evaluation;
3. a clinic folder with a payer profile of its own: `catalog check` lists it and `check` accepts
   a document that names it; a bad profile is refused with exit 2 naming the field;
4. `demo`, `export` of its signed notes and `verify` of each PDF; when the command line signs
   (`sign`, `--as`): the reference visit imported, signed, exported and verified as `match`;
5. `doctor --window`: the main window opened offscreen and closed.
Fails on any unexpected exit code, any traceback or missing module.
Works on Linux, Windows and macOS (the release workflow runs it too).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "tests" / "examples"
TIMEOUT = 180
Run = Callable[..., str]


class SmokeFailure(Exception):
    pass


def main(binary: str) -> None:
    with tempfile.TemporaryDirectory(prefix="tpi-chart-smoke-") as scratch:
        home = Path(scratch)
        env = dict(os.environ)
        env.update(
            QT_QPA_PLATFORM="offscreen",
            HOME=str(home),
            USERPROFILE=str(home),
            APPDATA=str(home / "AppData" / "Roaming"),
            LOCALAPPDATA=str(home / "AppData" / "Local"),
            XDG_DATA_HOME=str(home / ".local" / "share"),
            XDG_CONFIG_HOME=str(home / ".config"),
            XDG_CONFIG_DIRS=str(home / "etc"),
            TPI_CHART_CLINIC_DIR=str(home / "clinic"),
            PYTHONIOENCODING="utf-8",
        )
        env.pop("TPI_CHART_DB", None)

        def run(*args: str, expect: tuple[int, ...] = (0,), stdin: str | None = None) -> str:
            command = [binary, *args]
            result = subprocess.run(
                command,
                capture_output=True,
                text=True,
                encoding="utf-8",
                env=env,
                timeout=TIMEOUT,
                input=stdin if stdin is not None else "",
            )
            shown = " ".join(command)
            for marker in ("Traceback", "No module named", "ModuleNotFoundError"):
                if marker in result.stderr or marker in result.stdout:
                    raise SmokeFailure(f"{shown}: {marker}\n{result.stderr}{result.stdout}")
            if result.returncode not in expect:
                raise SmokeFailure(
                    f"{shown}: exit {result.returncode}, expected {expect}\n"
                    f"stdout: {result.stdout}\nstderr: {result.stderr}"
                )
            print(f"ok: {shown}", flush=True)
            return result.stdout + result.stderr

        version = run("--version")
        for needed in ("tpi-chart ", "database schema version", "catalog/formulary.json"):
            if needed not in version:
                raise SmokeFailure(f"--version does not print {needed!r}:\n{version}")

        reference = EXAMPLES / "reference-visit.json"
        evaluation = json.loads(run("check", str(reference)))
        expected = json.loads((EXAMPLES / "expected" / "reference-visit.json").read_text("utf-8"))
        if evaluation != expected:
            raise SmokeFailure("check: the reference evaluation differs from the expected one")

        clinic_payer(home, run, reference)
        demo_export_verify(home, run)

        # A scratch home has no backup and CI no disk encryption: doctor may say so (exit 1).
        doctor = run("doctor", "--window", expect=(0, 1))
        if not any(line.startswith("ok") and "Window:" in line for line in doctor.splitlines()):
            raise SmokeFailure(f"doctor --window did not open the window:\n{doctor}")
    print("smoke test passed")


def clinic_payer(home: Path, run: Run, reference: Path) -> None:
    payers = home / "clinic" / "payers"
    payers.mkdir(parents=True)
    profile = {
        "id": "smoke-clinic-ppo",
        "name": "Smoke Clinic PPO",
        "effective": "2026-01-01",
        "source": "packaging smoke test",
        "max_sessions_per_365_days": 4,
    }
    (payers / "smoke.json").write_text(json.dumps(profile), encoding="utf-8")
    listed = run("catalog", "check")
    if "smoke-clinic-ppo" not in listed:
        raise SmokeFailure(f"catalog check does not list the clinic's payer:\n{listed}")
    document = json.loads(reference.read_text("utf-8"))
    document["procedure"]["payer_profile"] = "smoke-clinic-ppo"
    clinic_document = home / "clinic-visit.json"
    clinic_document.write_text(json.dumps(document), encoding="utf-8")
    evaluation = json.loads(run("check", str(clinic_document)))
    if evaluation.get("payer_profile") != "smoke-clinic-ppo":
        raise SmokeFailure(f"check did not use the clinic's payer: {evaluation!r}")
    (payers / "bad.json").write_text(
        json.dumps({**profile, "id": "bad", "max_sessions_per_365_days": "often"}),
        encoding="utf-8",
    )
    refused = run("catalog", "check", expect=(2,))
    if "max_sessions_per_365_days" not in refused:
        raise SmokeFailure(f"a bad clinic profile is not refused by field:\n{refused}")
    (payers / "bad.json").unlink()


def demo_export_verify(home: Path, run: Run) -> None:
    db = str(home / "smoke.db")
    notes = home / "notes"
    run("--db", db, "demo")
    export = ["export", "--from", "1900-01-01", "--to", "2199-12-31", "--dir", str(notes)]
    commands = run("--help")
    signed_in: list[str] = []
    password = "Smoke test passphrase 2026!\n"
    if "--as" in commands:
        # Commands that read patient data need a signed-in account (`--as NAME`, the password
        # on standard input): the demo clinic has none, so the first administrator is made.
        account = ["users", "add", "smoke", "--name", "Smoke Test", "--role", "physician"]
        run("--db", db, *account, stdin=password)
        signed_in = ["--as", "smoke"]
    run("--db", db, *signed_in, *export, stdin=password)
    pdfs = sorted(notes.glob("*.pdf"))
    if not pdfs:
        raise SmokeFailure("export wrote no signed note")
    for pdf in pdfs:
        # The demo's history was signed before digital signatures (PAdES): a verdict either way
        # (a note without a digital signature is a mismatch), never a crash.
        verdict = run("--db", db, "verify", str(pdf), expect=(0, 1))
        if not verdict.startswith(("match", "mismatch: ")):
            raise SmokeFailure(f"verify {pdf.name} gave no verdict:\n{verdict}")
    if " sign " in commands and signed_in:
        signed_note(home, run, db, [*signed_in], password)


def signed_note(home: Path, run: Run, db: str, signed_in: list[str], password: str) -> None:
    """Import the reference visit, sign it as the smoke physician (a reason for each open
    warning), export its note and verify the digital signature: `match`."""
    reference = str(EXAMPLES / "reference-visit.json")
    procedure = run("--db", db, *signed_in, "import", reference, stdin=password).split()[0]
    sign = ["--db", db, *signed_in, "sign", "--procedure", procedure]
    first = run(*sign, stdin=password, expect=(0, 2))
    codes = re.findall(r"--ack (\S+?)=REASON", first)
    if codes:
        acks = [part for code in codes for part in ("--ack", f"{code}=smoke test")]
        run(*sign, *acks, stdin=password)
    note = home / "signed-note.pdf"
    export = ["export", "--procedure", procedure, "--out", str(note)]
    run("--db", db, *signed_in, *export, stdin=password)
    verdict = run("--db", db, "verify", str(note))
    if not verdict.startswith("match"):
        raise SmokeFailure(f"the signed note does not verify:\n{verdict}")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__.split("\n")[0])
    try:
        main(sys.argv[1])
    except (SmokeFailure, subprocess.TimeoutExpired) as failure:
        sys.exit(f"smoke test FAILED: {failure}")
