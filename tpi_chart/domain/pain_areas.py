"""The patient's pain drawing in words: which muscles' areas the shading covers, and how bad.

The drawing itself is vector strokes (the note prints it as a picture). A record system that
receives the procedure as data cannot read a picture, so the exports carry this summary: each
muscle zone of the body diagram that the shading touches, on the patient's side, with the
worst intensity shaded there. Shading outside every muscle zone is counted, not named.

Pure Python: no Qt, no SQL.
"""

from __future__ import annotations

from dataclasses import dataclass

from tpi_chart.domain.catalog import load_catalog
from tpi_chart.domain.diagram import UNSPECIFIED, resolve_point
from tpi_chart.domain.models import PainDrawing
from tpi_chart.domain.presentation import PAIN_WORDS


@dataclass(frozen=True)
class PainArea:
    muscle: str
    side: str
    intensity: int  # the worst level shaded in this muscle's zone
    share: float  # of all shaded points, 0–1

    @property
    def intensity_word(self) -> str:
        return PAIN_WORDS[self.intensity].lower()

    @property
    def label(self) -> str:
        name = load_catalog().muscle_name(self.muscle)
        where = f"{name} ({self.side})" if self.side != "midline" else name
        return f"{where}: {self.intensity_word}"


@dataclass(frozen=True)
class PainSummary:
    areas: tuple[PainArea, ...]  # most shaded first
    outside_share: float  # shading that lies in no muscle zone, 0–1

    def sentence(self) -> str:
        """One line for a text field: 'Upper trapezius (right): severe; …'."""
        parts = [area.label for area in self.areas]
        if self.outside_share > 0:
            parts.append(
                f"{round(self.outside_share * 100)}% of the shading outside the muscle zones"
            )
        return "; ".join(parts)


def summarize_pain(drawing: PainDrawing) -> PainSummary:
    counts: dict[tuple[str, str], int] = {}
    worst: dict[tuple[str, str], int] = {}
    outside = total = 0
    for stroke in drawing.strokes:
        for x, y in stroke.points:
            total += 1
            muscle, side = resolve_point(stroke.view, x, y)
            if muscle == UNSPECIFIED:
                outside += 1
                continue
            key = (muscle, side)
            counts[key] = counts.get(key, 0) + 1
            worst[key] = max(worst.get(key, 0), stroke.intensity)
    # Sorted by share, then by name, so the same drawing always reads the same.
    ordered = sorted(counts, key=lambda key: (-counts[key], key))
    areas = tuple(
        PainArea(muscle, side, worst[(muscle, side)], counts[(muscle, side)] / total)
        for muscle, side in ordered
    )
    return PainSummary(areas, outside / total if total else 0.0)
