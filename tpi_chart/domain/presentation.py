"""How a site is presented, on screen and on paper: one marker spec and one vocabulary.

The window's diagram (``ui/diagram/items.py``), the note's diagram (``pdf/diagram.py``) and the
note's legend draw a marker from the same :class:`MarkerSpec`, computed from a site by
:func:`marker_spec` alone, and name what they draw with the same :data:`LEGEND` entries. A
legend built with :func:`legend_entries` lists only what its markers show, so it cannot call an
uncoded site a pneumothorax risk, or list a planned marker on a note with none.

The display words for stored values (status, side, twitch, technique, position…) are here too,
so the window, the note and the handout say the same thing for the same value.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import Literal

from tpi_chart.domain.catalog import UNSPECIFIED, Catalog, load_catalog
from tpi_chart.domain.models import Procedure, Site, Twitch

# --------------------------------------------------------------------------------------------
# Markers

MarkerFeature = Literal[
    "planned",
    "injected",
    "dry_needling",
    "twitch_none",
    "twitch_weak",
    "twitch_brisk",
    "pneumothorax_risk",
    "uncoded",
    "removed",
]


@dataclass(frozen=True)
class MarkerSpec:
    """What one site's marker shows, whatever draws it."""

    number: int
    injected: bool
    pneumothorax_risk: bool
    #: Not yet coded to a muscle (``unspecified``): counted nowhere until it is.
    uncoded: bool
    twitch: Twitch | None = None
    dry_needling: bool = False
    removed: bool = False

    @property
    def planned(self) -> bool:
        return not self.injected

    @property
    def features(self) -> tuple[MarkerFeature, ...]:
        """What a legend must explain for this marker, in legend order."""
        shown: list[MarkerFeature] = ["injected" if self.injected else "planned"]
        if self.injected and self.dry_needling:
            shown.append("dry_needling")
        if self.twitch is not None:
            shown.append(TWITCH_FEATURES[self.twitch])
        if self.pneumothorax_risk:
            shown.append("pneumothorax_risk")
        if self.uncoded:
            shown.append("uncoded")
        if self.removed:
            shown.append("removed")
        return tuple(f for f in LEGEND_ORDER if f in shown)


def marker_spec(
    site: Site, number: int, catalog: Catalog | None = None, *, removed: bool = False
) -> MarkerSpec:
    """The marker of ``site``, the ``number``-th of its procedure (1-based, as in the table)."""
    muscle = (catalog or load_catalog()).muscles.get(site.muscle)
    return MarkerSpec(
        number=number,
        injected=site.state == "injected",
        pneumothorax_risk=muscle is not None and muscle.pneumothorax_risk,
        uncoded=site.muscle == UNSPECIFIED,
        twitch=site.twitch,
        dry_needling=site.dry_needling,
        removed=removed,
    )


def marker_specs(procedure: Procedure, catalog: Catalog | None = None) -> tuple[MarkerSpec, ...]:
    """Every site's marker, numbered as in the site table."""
    data = catalog or load_catalog()
    return tuple(
        marker_spec(site, number, data) for number, site in enumerate(procedure.sites, start=1)
    )


#: The hues of the warning rings, the same on screen and on paper.
RISK_COLOUR = "#c62828"
UNCODED_COLOUR = "#b26a00"

#: The pain drawing's brush per intensity (1 aching … 3 severe): one hue, darker and denser when
#: worse, so the levels stay apart in grey scale too; (colour, opacity) on screen and on paper.
PAIN_BRUSH: dict[int, tuple[str, float]] = {
    1: ("#f4a000", 0.40),
    2: ("#e05a00", 0.50),
    3: ("#b3001b", 0.60),
}
PAIN_WORDS = {1: "Aching", 2: "Moderate", 3: "Severe"}


@dataclass(frozen=True)
class LegendEntry:
    feature: MarkerFeature
    #: What the marker means, as a legend line says it ("Pneumothorax-risk muscle").
    label: str
    #: How it is drawn, for a tooltip or a printed key ("solid red outer ring").
    drawing: str
    #: The label where a legend shares a narrow panel with the diagram (the screen's).
    short: str


LEGEND: tuple[LegendEntry, ...] = (
    LegendEntry("planned", "Planned, not injected", "hollow marker, number in blue", "Planned"),
    LegendEntry("injected", "Injected", "filled marker, number in white", "Injected"),
    LegendEntry("dry_needling", "Dry needling (no injectate)", "filled marker", "Dry needling"),
    LegendEntry("twitch_none", "No twitch", "letter N; solid rim", "No twitch"),
    LegendEntry("twitch_weak", "Weak twitch", "letter W; hatched rim", "Weak"),
    LegendEntry("twitch_brisk", "Brisk twitch", "letter B; cross-hatched rim", "Brisk"),
    LegendEntry(
        "pneumothorax_risk", "Pneumothorax-risk muscle", "solid red outer ring", "Risk (solid ring)"
    ),
    LegendEntry(
        "uncoded", "Not coded to a muscle", "dashed amber outer ring and ?", "Not coded (dashed)"
    ),
    LegendEntry("removed", "Removed", "faded marker", "Removed"),
)
LEGEND_ORDER: tuple[MarkerFeature, ...] = tuple(entry.feature for entry in LEGEND)
TWITCH_FEATURES: dict[str, MarkerFeature] = {
    "none": "twitch_none",
    "weak": "twitch_weak",
    "brisk": "twitch_brisk",
}


def legend_entries(
    specs: Iterable[MarkerSpec], drawn: Collection[MarkerFeature] = LEGEND_ORDER
) -> tuple[LegendEntry, ...]:
    """The legend of these markers: the entries some marker shows, in :data:`LEGEND` order.

    ``drawn`` names the features the caller's drawing shows (the printed diagram draws no twitch
    letters: the site table has a twitch column); the others are left out.
    """
    shown = {feature for spec in specs for feature in spec.features}
    return tuple(entry for entry in LEGEND if entry.feature in shown and entry.feature in drawn)


# --------------------------------------------------------------------------------------------
# Display words for stored values

#: A procedure's status, as lists and headers show it.
STATUS_WORDS = {
    "planned": "Planned",
    "in_progress": "In progress",
    "signed": "Signed",
    "external": "Signed elsewhere, not verified",
}
#: The header's form: it stands alone, so it says whose verification is missing.
STATUS_HEADLINE = {**STATUS_WORDS, "external": "Signed elsewhere, not verified by this clinic"}
SITE_STATE_WORDS = {"planned": "Planned", "injected": "Injected"}
#: The patient's side (never the viewer's).
SIDE_WORDS = {"left": "Left", "right": "Right", "midline": "Midline"}
TWITCH_WORDS = {"none": "None", "weak": "Weak", "brisk": "Brisk"}


def site_state_word(site: Site) -> str:
    """Planned, Injected, or Dry needling (an injected site with no injectate)."""
    if site.state == "injected" and site.dry_needling:
        return "Dry needling"
    return SITE_STATE_WORDS[site.state]


SEX_WORDS = {"female": "Female", "male": "Male", "other": "Other", "unknown": "Sex unknown"}
POSITION_WORDS = {
    "seated": "Seated",
    "prone": "Prone",
    "side_lying": "Side-lying",
    "supine": "Supine",
}
SKIN_PREP_WORDS = {
    "alcohol": "Alcohol",
    "povidone_iodine": "Povidone-iodine",
    "chlorhexidine": "Chlorhexidine",
}
TECHNIQUE_WORDS = {
    "flat_palpation": "flat palpation",
    "pincer_palpation": "pincer palpation",
    "aspiration": "aspiration before injecting",
    "fanning": "fanning",
    "fast_in_fast_out": "fast-in/fast-out",
    "single_pass": "single pass",
}
GUIDANCE_WORDS = {
    "none": "None (landmark and palpation)",
    "ultrasound": "Ultrasound",
    "fluoroscopy": "Fluoroscopy",
}
COMPLICATION_WORDS = {
    "vasovagal": "vasovagal reaction",
    "bleeding": "bleeding",
    "hematoma": "hematoma",
    "paresthesia": "paresthesia",
    "pneumothorax_suspected": "suspected pneumothorax",
    "anesthetic_toxicity_signs": "signs of local anesthetic toxicity",
    "allergic_reaction": "allergic reaction",
    "other": "other",
}
TOLERANCE_WORDS = {
    "well": "Tolerated well",
    "fair": "Tolerated fairly",
    "poor": "Tolerated poorly",
}
#: Short flags beside a muscle's name in a site list.
PNEUMOTHORAX_FLAG = "PTX risk"
UNCODED_FLAG = "not coded"
NOT_DOCUMENTED = "Not documented"
