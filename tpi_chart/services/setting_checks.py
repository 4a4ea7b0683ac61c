"""Checks of setting values that are not a single field's type (SettingsService.update)."""

from __future__ import annotations

from tpi_chart.domain.errors import InvalidInput
from tpi_chart.domain.units import WEIGHT_UNITS


def check_weight_unit(unit: str) -> str:
    value = unit.strip().lower()
    if value not in WEIGHT_UNITS:
        raise InvalidInput([f"settings.weight_unit: {unit!r} is not a unit; choose kg or lb"])
    return value


def check_whole(key: str, value: int, bounds: tuple[int, int]) -> str:
    low, high = bounds
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InvalidInput([f"settings.{key}: must be between {low} and {high}"])
    return str(value)
