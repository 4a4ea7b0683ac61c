"""Write ``resources/fonts/metrics.marshal``: the note fonts' tables as reportlab parses them.

Run it after changing a font in ``resources/fonts`` or upgrading reportlab (until then those
fonts are parsed in every process, as before: correct, only slower; the test suite says so).

    python tools/font_metrics.py            # write the file
    python tools/font_metrics.py --check    # fail if the file is not what the fonts give
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tpi_chart.domain.resources import resource_path  # noqa: E402
from tpi_chart.pdf.font_metrics import METRICS_FILE  # noqa: E402
from tpi_chart.pdf.fonts import shipped_metrics  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="compare instead of writing")
    args = parser.parse_args()
    target = resource_path(METRICS_FILE)
    data = shipped_metrics()
    if args.check:
        if not target.is_file() or target.read_bytes() != data:
            print(f"{target} is stale: run python tools/font_metrics.py", file=sys.stderr)
            return 1
        print(f"{target} is up to date")
        return 0
    target.write_bytes(data)
    print(f"{target}: {len(data):,} bytes")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
