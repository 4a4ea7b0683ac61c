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
    }
)

DeniedHook = Callable[[User, Action], None]


class PermissionDenied(DomainError):
    """The signed-in user's roles do not allow the action; the message says who may."""

    def __init__(self, user: User, action: Action) -> None:
        self.user = user
        self.action = action
        what = ACTION_LABELS[action]
        if not user.active:
            message = f"{user.display_name}'s account is deactivated; it cannot {what}"
        else:
            who = " or ".join(ROLE_LABELS[role].lower() for role in ROLES if role in MATRIX[action])
            article = "an" if who[:1] in "aeiou" else "a"
            message = (
                f"only {article} {who} can {what}; {user.display_name} is signed in as "
                f"{user.role_text.lower()}"
            )
        super().__init__(message)


def allowed(user: User, action: Action) -> bool:
    return user.active and bool(user.roles & MATRIX[action])


def require(user: User, action: Action, *, on_denied: DeniedHook | None = None) -> None:
    """Return if `user` may do `action`; otherwise report the denial and raise PermissionDenied."""
    if allowed(user, action):
        return
    if on_denied is not None:
        on_denied(user, action)
    raise PermissionDenied(user, action)
