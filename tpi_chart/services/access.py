"""Who may do what: the role × action matrix as data (HIPAA §164.312(a)(1), ONC (d)(1)).

Enforced here, in the service layer, not only by hiding buttons. A deactivated account may do
nothing. Denials raise `PermissionDenied` and are reported to an optional audit hook (S2).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Literal, get_args

from tpi_chart.domain.errors import DomainError
from tpi_chart.domain.users import ROLE_LABELS, ROLES, Role, User

Action = Literal[
    "view",
    "plan",
    "edit_planned_sites",
    "chart",
    "sign",
    "addendum",
    "manage_accounts",
    "manage_settings",
    "export",
    "edit_patients",
    "import",
    "backup",
    "restore",
    "audit",
    "seed_demo",
]
ACTIONS: tuple[Action, ...] = get_args(Action)

ACTION_LABELS: Mapping[Action, str] = MappingProxyType(
    {
        "view": "open patient charts",
        "plan": "plan a procedure",
        "edit_planned_sites": "edit planned sites",
        "chart": "chart injections",
        "sign": "sign procedure notes",
        "addendum": "add addenda to signed notes",
        "manage_accounts": "manage user accounts",
        "manage_settings": "change the clinic settings",
        "export": "export notes",
        "edit_patients": "add or change patients",
        "import": "import procedure documents",
        "backup": "back up the database",
        "restore": "restore the database from a backup",
        "audit": "read the audit trail",
        "seed_demo": "seed the demo clinic",
    }
)

_ANY: frozenset[Role] = frozenset(ROLES)

MATRIX: Mapping[Action, frozenset[Role]] = MappingProxyType(
    {
        "view": _ANY,
        "plan": _ANY,
        "edit_planned_sites": _ANY,
        "chart": frozenset({"physician"}),
        "sign": frozenset({"physician"}),
        "addendum": frozenset({"physician"}),
        "manage_accounts": frozenset({"administrator"}),
        "manage_settings": frozenset({"administrator"}),
        "export": _ANY,
        "edit_patients": _ANY,
        "import": _ANY,
        # Copies and restores of the whole record, and the report of who read what, are the
        # administrator's (HIPAA §164.308(a)(7), §164.312(b)).
        "backup": frozenset({"administrator"}),
        "restore": frozenset({"administrator"}),
        "audit": frozenset({"administrator"}),
        "seed_demo": frozenset({"administrator"}),
    }
)

#: Who may run the clinic lists (lot recall, charges: every patient who had a lot or a code)
#: from the window; the interop service checks it, the window shows the actions to them only.
LIST_ROLES: frozenset[Role] = frozenset({"administrator", "assistant"})

#: The services of a database before anyone has signed in (the window's login, the command
#: line's first `users add`): an inactive account, so `require` refuses it everything.
NOBODY = User(
    username="nobody", display_name="nobody", roles=frozenset({"assistant"}), active=False
)

DeniedHook = Callable[[User, Action], None]


class PermissionDenied(DomainError):
    """The signed-in user's roles do not allow the action; the message says who may."""

    def __init__(self, user: User, action: Action) -> None:
        self.user = user
        self.action = action
        what = ACTION_LABELS[action]
        if user == NOBODY:
            message = f"nobody is signed in; sign in to {what}"
        elif not user.active:
            message = f"{user.display_name}'s account is deactivated; it cannot {what}"
        else:
            who = " or ".join(ROLE_LABELS[role].lower() for role in ROLES if role in MATRIX[action])
            article = "an" if who[:1] in "aeiou" else "a"
            message = (
                f"only {article} {who} can {what}; {user.display_name} is signed in as "
                f"{user.role_text.lower()}"
            )
        super().__init__(message)


#: Who seeds the demo clinic into a new file (its signed history is demo data, not anyone's
#: signature), and nothing else (`demo.seed_demo_as`, `open_services(seed_demo_if_new=True)`).
SYSTEM_SETUP = User(
    username="tpi-chart.setup",
    display_name="TPI Chart set-up",
    roles=frozenset({"physician", "assistant", "administrator"}),
)

#: Who reads signed procedures to check them against their signatures (at open and in `audit
#: verify`, which needs no sign-in and writes nothing): a reader, used for nothing else.
INTEGRITY_CHECK = User(
    username="tpi-chart.integrity-check",
    display_name="TPI Chart integrity check",
    roles=frozenset({"assistant"}),
)

#: Usernames no account may take, so the audit trail never confuses a person with these.
RESERVED_USERNAMES = frozenset({NOBODY.username, SYSTEM_SETUP.username, INTEGRITY_CHECK.username})


def allowed(user: User, action: Action) -> bool:
    return user.active and bool(user.roles & MATRIX[action])


def require(user: User, action: Action, *, on_denied: DeniedHook | None = None) -> None:
    """Return if `user` may do `action`; otherwise report the denial and raise PermissionDenied."""
    if allowed(user, action):
        return
    if on_denied is not None:
        on_denied(user, action)
    raise PermissionDenied(user, action)


class Permissions:
    """A service's signed-in person, and the hook that audits what they were refused. Every
    service is built with one and checks it before each change or patient read."""

    def __init__(self, user: User, on_denied: DeniedHook | None = None) -> None:
        self.user = user
        self._on_denied = on_denied

    @property
    def username(self) -> str:
        """The name the audit trail records for this person's changes."""
        return self.user.username

    def require(self, *actions: Action) -> None:
        for action in actions:
            require(self.user, action, on_denied=self._on_denied)
