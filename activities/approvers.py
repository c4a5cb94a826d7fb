"""Resolving approver (and reviewer) sets to people, from the directory."""

from __future__ import annotations

from temporalio import activity

from activities.directory import DirectoryActivities
from activities.directory_models import GetManagerInput, GroupRef, person_of
from activities.people import find_person
from entitlements.approvers import ResolveApprovers
from entitlements.people import Person
from entitlements.policy import SubjectSet, SubjectType
from workflows.activity_calls import RESOLVE_APPROVERS


class ApproverActivities:
    def __init__(self, directory: DirectoryActivities) -> None:
        self.directory = directory

    def all(self) -> list:
        return [self.resolve_approvers]

    @activity.defn(name=RESOLVE_APPROVERS)
    async def resolve_approvers(self, ask: ResolveApprovers) -> list[Person]:
        """Everyone the subject sets name, once each; empty when none resolves (no manager)."""
        people: dict[str, Person] = {}
        for subject in ask.subjects:
            for person in await self._resolve(subject, ask):
                people.setdefault(person.key, person)
        return list(people.values())

    async def _resolve(self, subject: SubjectSet, ask: ResolveApprovers) -> list[Person]:
        if subject.type == SubjectType.SINGLE_USER:
            return await self._people([subject.user or ""])
        if subject.type == SubjectType.GROUP_MEMBERS:
            members = await self.directory.list_group_members(GroupRef(group_id=subject.group_id))
            return [person_of(user) for user in members.members]
        if subject.type == SubjectType.REQUESTOR_MANAGER:
            if not ask.requestor.id:
                return []  # an external requestor has no manager in this directory
            manager = await self.directory.get_manager(
                GetManagerInput(user_id=ask.requestor.id, level=subject.level)
            )
            return [person_of(manager)] if manager else []
        org = ask.connected_organization
        if org is None:
            return []
        if subject.type == SubjectType.INTERNAL_SPONSORS:
            return await self._people(org.internal_sponsors)
        if subject.type == SubjectType.EXTERNAL_SPONSORS:
            return await self._people(org.external_sponsors)
        return []

    async def _people(self, identifiers: list[str]) -> list[Person]:
        """Directory users where they exist; an external sponsor may be known only by address."""
        found = []
        for identifier in identifiers:
            person = await find_person(self.directory, identifier)
            found.append(person or Person(email=identifier.strip().lower(), is_guest=True))
        return found
