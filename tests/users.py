"""People for tests that drive the services directly: the services are built for a signed-in
`User` and check its roles, so a test says who it acts as."""

from __future__ import annotations

from tpi_chart.domain.users import ROLES, Role, User


def staff(username: str, *roles: Role, name: str | None = None) -> User:
    """A signed-in person; with no roles given, one who holds every role (for tests about
    something other than permissions)."""
    return User(
        username=username,
        display_name=name or username,
        roles=frozenset(roles or ROLES),
    )


PHYSICIAN = staff("chen", "physician", name="Dr. Alex Chen, MD")
ASSISTANT = staff("ma.rivera", "assistant", name="J. Rivera, MA")
ADMINISTRATOR = staff("okafor", "administrator", name="C. Okafor")
DEACTIVATED = User(
    username="former", display_name="Former Staff", roles=frozenset(ROLES), active=False
)
