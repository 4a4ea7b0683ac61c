"""Real accounts for tests that sign: a physician whose certificate the clinic's authority issued
and whose signing key is unlocked, as after a sign-in in the window or with `--as`."""

from __future__ import annotations

from typing import Any

from tpi_chart.domain.users import User

ADMIN_PASSWORD = "clinic-admin-pass-2026"
PHYSICIAN_PASSWORD = "physician-pass-2026"


def signing_physician(
    services: Any, username: str = "chen", display_name: str = "Dr. Alex Chen, MD"
) -> User:
    """Create (first time) and sign in the physician `username`; returns the account."""
    auth = services.auth
    if auth.needs_first_run():
        admin = auth.create_first_administrator("admin", "Pat Admin", ADMIN_PASSWORD)
    else:
        admin = auth.login("admin", ADMIN_PASSWORD)
    assert admin is not None
    if auth.get(username) is None:
        auth.create_user(admin, username, display_name, {"physician"}, PHYSICIAN_PASSWORD)
    user = auth.login(username, PHYSICIAN_PASSWORD)
    assert user is not None
    return user
