"""People as accessctl sees them: one directory user (or a not-yet-invited external address)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from entitlements.base import normalise_email


class Person(BaseModel):
    """A user named by any of their identifiers; `id` is None until an external user is invited."""

    model_config = ConfigDict(frozen=True)

    email: str
    id: str | None = None
    user_principal_name: str | None = None
    display_name: str = ""
    is_guest: bool = False  # userType Guest in the directory
    account_enabled: bool = True

    @property
    def in_directory(self) -> bool:
        return self.id is not None

    @property
    def is_external(self) -> bool:
        """Outside the organisation: a guest, or an address not yet in the directory."""
        return self.is_guest or not self.in_directory

    @property
    def key(self) -> str:
        """The stable name used in workflow ids and search attributes: the email, lowercased."""
        return normalise_email(self.email)

    @property
    def domain(self) -> str:
        return self.key.rsplit("@", 1)[-1]

    def identifiers(self) -> set[str]:
        names = {self.key}
        if self.id:
            names.add(self.id.lower())
        if self.user_principal_name:
            names.add(self.user_principal_name.lower())
        return names

    def matches(self, identifier: str) -> bool:
        """True when `identifier` (email, user principal name or object id) names this person."""
        return identifier.strip().lower() in self.identifiers()

    def label(self) -> str:
        return f"{self.display_name} <{self.key}>" if self.display_name else self.key


def matches_any(people: list[Person], identifier: str) -> Person | None:
    return next((p for p in people if p.matches(identifier)), None)
