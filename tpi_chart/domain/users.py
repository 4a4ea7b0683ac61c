"""People who use the app: named accounts with roles (HIPAA §164.312(a)(2)(i): no shared logins).

A user never carries a password or its hash; credentials live in storage and the auth service only.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

Role = Literal["physician", "assistant", "administrator"]
ROLES: tuple[Role, ...] = ("physician", "assistant", "administrator")

ROLE_LABELS: dict[Role, str] = {
    "physician": "Physician",
    "assistant": "Medical assistant",
    "administrator": "Administrator",
}

Username = Annotated[
    str,
    Field(min_length=2, max_length=40, pattern=r"^[a-z0-9][a-z0-9._-]*$"),
]


def normalise_username(value: str) -> str:
    """Usernames compare case-insensitively and without surrounding spaces."""
    return value.strip().lower()


class User(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)

    username: Username
    display_name: Annotated[str, Field(min_length=1, max_length=120)]
    roles: frozenset[Role] = Field(min_length=1)
    active: bool = True

    @field_validator("username", mode="before")
    @classmethod
    def _lower(cls, value: object) -> object:
        return normalise_username(value) if isinstance(value, str) else value

    def has_role(self, role: Role) -> bool:
        return role in self.roles

    @property
    def is_physician(self) -> bool:
        return "physician" in self.roles

    @property
    def is_administrator(self) -> bool:
        return "administrator" in self.roles

    @property
    def role_text(self) -> str:
        """Roles for people, in a fixed order: 'Physician, Administrator'."""
        return ", ".join(ROLE_LABELS[role] for role in ROLES if role in self.roles)

    def __str__(self) -> str:
        return f"{self.display_name} ({self.username})"
