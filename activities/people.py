"""Directory users as the domain's Person, and looking people up by any identifier."""

from __future__ import annotations

import re

from activities.directory import DirectoryActivities
from activities.directory_models import FindUserInput, person_of
from entitlements.people import Person

OBJECT_ID = re.compile(r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")


def lookup_input(identifier: str) -> FindUserInput:
    identifier = identifier.strip()
    if OBJECT_ID.match(identifier):
        return FindUserInput(user_id=identifier)
    return FindUserInput(email=identifier)


async def find_person(directory: DirectoryActivities, identifier: str) -> Person | None:
    """The directory user named by an email, a user principal name or an object id."""
    user = await directory.find_user(lookup_input(identifier))
    return person_of(user) if user else None
