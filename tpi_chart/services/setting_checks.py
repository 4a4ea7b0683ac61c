"""Checks of setting values that are not a single field's type (SettingsService.update)."""

from __future__ import annotations

from pathlib import Path

from tpi_chart.domain.errors import InvalidInput
from tpi_chart.domain.fields import phone_number
from tpi_chart.domain.localdates import zone_named
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


def check_clinic_name(name: str) -> str:
    name = name.strip()
    if not name or len(name) > 200:
        raise InvalidInput(["settings.clinic_name: give a name of 1 to 200 characters"])
    return name


def check_clinic_phone(phone: str) -> str:
    if not phone.strip():
        return ""
    try:
        return phone_number(phone)
    except ValueError as error:
        raise InvalidInput([f"settings.clinic_phone: {error}"]) from None


def check_export_folder(folder: Path | None) -> str:
    if folder is None:
        return ""
    if not folder.is_absolute():
        raise InvalidInput(["settings.export_folder: give a full path (an absolute folder)"])
    if folder.exists() and not folder.is_dir():
        raise InvalidInput([f"settings.export_folder: {folder} is a file, not a folder"])
    return str(folder)


def check_time_zone(name: str) -> str:
    name = name.strip()
    if not name:
        return ""
    try:
        zone_named(name)
    except ValueError as error:
        raise InvalidInput([f"settings.time_zone: {error}"]) from error
    return name
