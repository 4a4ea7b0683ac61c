"""Render the reference visit note (signed and draft), a 40-site note and the handout to out/.

    .venv/bin/python tools/render_note.py [--png]

With --png each PDF is also rasterised with pdftoppm (80 dpi) for a look.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.sample_documents import forty_site_document, signed_copy  # noqa: E402
from tpi_chart.domain.canonical import content_hash  # noqa: E402
from tpi_chart.domain.models import ProcedureDocument  # noqa: E402
from tpi_chart.pdf.handout import render_handout  # noqa: E402
from tpi_chart.pdf.note import NoteOptions, render_note  # noqa: E402

OUT = ROOT / "out"


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--png", action="store_true")
    args = parser.parse_args()
    OUT.mkdir(exist_ok=True)
    reference = ProcedureDocument.model_validate(
        json.loads((ROOT / "tests/examples/reference-visit.json").read_text("utf-8"))
    )
    options = NoteOptions(
        clinic_name="Riverside Pain & Spine Clinic", clinic_phone="(555) 010-2030"
    )
    signed = signed_copy(reference)
    outputs = {
        "reference-note.pdf": render_note(signed, options),
        "reference-draft.pdf": render_note(reference, options),
        "forty-sites.pdf": render_note(signed_copy(forty_site_document()), options),
        "reference-handout.pdf": render_handout(signed, options),
    }
    for name, data in outputs.items():
        path = OUT / name
        path.write_bytes(data)
        print(path)
        if args.png and shutil.which("pdftoppm"):
            subprocess.run(
                ["pdftoppm", "-r", "80", "-png", str(path), str(path.with_suffix(""))], check=True
            )
    print("content hash", content_hash(reference))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
