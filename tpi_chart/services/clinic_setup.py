"""Setting up a new clinic: its name and phone, stored before the first account exists.

The window's first-run screen and `tpi-chart users add` on a new database both come here, so a
clinic set up on the command line prints its own name on its notes and in its signing
authority's certificates, as one set up in the window does."""

from __future__ import annotations

from tpi_chart.domain.errors import InvalidInput
from tpi_chart.services.access import SYSTEM_SETUP
from tpi_chart.services.context import Services


def set_up_clinic(services: Services, name: str, phone: str) -> None:
    """Store the clinic's name and phone, by the set-up user (whom the audit names), only while
    the database has no account: bad input then creates no account. An empty name keeps the
    one already there (the demo's); a new clinic without one is refused."""
    if not services.auth.needs_first_run():
        raise InvalidInput(["settings.clinic_name: the clinic is already set up; sign in"])
    keep = not name.strip() and bool(services.settings.clinic_name())
    services.as_user(SYSTEM_SETUP).settings.update(
        clinic_name=None if keep else name, clinic_phone=phone
    )
