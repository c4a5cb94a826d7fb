"""Directory users as the domain's Person, and looking people up by any identifier."""

from __future__ import annotations

import re

from activities.directory import DirectoryActivities
from activities.directory_models import DirectoryUser, FindUserInput
from entitlements.people import Person

OBJECT_ID = re.compile(r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")


def person_of(user: DirectoryUser) -> Person:
    return Person(
        email=(user.mail or (user.other_mails or [None])[0] or user.user_principal_name or user.id),
        id=user.id,
        user_principal_name=user.user_principal_name,
        display_name=user.display_name or "",
        is_guest=user.is_external,
        account_enabled=user.account_enabled is not False,
    )


def lookup_input(identifier: str) -> FindUserInput:
    identifier = identifier.strip()
    if OBJECT_ID.match(identifier):
        return FindUserInput(user_id=identifier)
    return FindUserInput(email=identifier)


async def find_person(directory: DirectoryActivities, identifier: str) -> Person | None:
    """The directory user named by an email, a user principal name or an object id."""
    user = await directory.find_user(lookup_input(identifier))
    return person_of(user) if user else None
