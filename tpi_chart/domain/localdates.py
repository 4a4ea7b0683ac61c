"""The clinic's calendar: which date a moment falls on, in the clinic's time zone.

Every day count the rules and the history make (the same date, 42 days, a rolling 365 days, the
patient's age) is a count of the clinic's local dates, never of UTC dates: a visit at 18:00 in
Denver is 01:00 UTC the next day, and counting that UTC date made 42 local days count as 41.

The zone is a clinic setting (`SettingsService.time_zone`), applied with `set_clinic_zone` when
the services open; unset, it is the machine's own zone with its daylight-saving rules.
"""

from __future__ import annotations

from datetime import date, datetime, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

_clinic_zone: tzinfo | None = None


def set_clinic_zone(zone: tzinfo | None) -> None:
    """Use `zone` for every local date from now on; None: the machine's zone."""
    global _clinic_zone
    _clinic_zone = zone


def clinic_zone() -> tzinfo | None:
    """The configured zone, or None for the machine's."""
    return _clinic_zone


def zone_named(name: str) -> ZoneInfo:
    """The IANA zone called `name` (America/Denver); ValueError in words if there is none."""
    try:
        return ZoneInfo(name.strip())
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise ValueError(
            f"{name!r} is not a time zone; use an IANA name such as America/Denver"
        ) from error


def local_date(moment: datetime, zone: tzinfo | None = None) -> date:
    """The date of `moment` in `zone`, else the clinic's zone, else the machine's."""
    target = zone if zone is not None else _clinic_zone
    # astimezone() without a zone converts with the machine's rules for that instant (DST-aware).
    return moment.astimezone(target).date() if target else moment.astimezone().date()


def age_on(birth_date: date, day: date) -> int:
    """Completed years on `day` (a 29 February birthday counts on 1 March in common years)."""
    years = day.year - birth_date.year
    if (day.month, day.day) < (birth_date.month, birth_date.day):
        years -= 1
    return years
