"""Volume preset buttons (Alt+1..Alt+4): a UI convenience, not a dose recommendation.

The default values span 0.5-2 mL per site, the range clinical-reference.md §5.3 reports as used in
its sources (ACEP 1-2 mL per trigger point, Chelly about 2 mL) and marks UNVERIFIED as a formal
standard. A clinic overrides them in the settings file, key ``workspace/volume_presets`` (a list of
numbers in mL).
"""

from __future__ import annotations

from PySide6.QtCore import QSettings

DEFAULT_PRESETS_ML: tuple[float, ...] = (0.5, 1.0, 1.5, 2.0)
PRESETS_SOURCE = "clinical-reference.md §5.3 (UI preset, unverified as a standard)"
SETTINGS_KEY = "workspace/volume_presets"


def volume_presets() -> tuple[float, ...]:
    raw = QSettings().value(SETTINGS_KEY)
    if raw is None:
        return DEFAULT_PRESETS_ML
    values = raw if isinstance(raw, list) else [raw]
    try:
        presets = tuple(float(v) for v in values if 0 < float(v) <= 100)
    except (TypeError, ValueError):
        return DEFAULT_PRESETS_ML
    return presets[:4] or DEFAULT_PRESETS_ML
