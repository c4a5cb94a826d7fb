"""Assignment policies: who may request, who approves, how long access lasts, how it is reviewed.

Names follow Graph's accessPackageAssignmentPolicy and its neighbours, so a policy exported from
Entra reads naturally here.
"""

from __future__ import annotations

import re
from datetime import datetime
from enum import StrEnum
from typing import Literal

from pydantic import AwareDatetime, Field, field_validator, model_validator

from entitlements.base import Duration, GraphModel, iso_duration

MAX_APPROVAL_STAGES = 3


class AllowedTargetScope(StrEnum):
    NOT_SPECIFIED = "notSpecified"  # nobody may request: direct assignment only
    SPECIFIC_DIRECTORY_USERS = "specificDirectoryUsers"
    SPECIFIC_CONNECTED_ORGANIZATION_USERS = "specificConnectedOrganizationUsers"
    ALL_MEMBER_USERS = "allMemberUsers"
    ALL_DIRECTORY_USERS = "allDirectoryUsers"
    ALL_CONFIGURED_CONNECTED_ORGANIZATION_USERS = "allConfiguredConnectedOrganizationUsers"
    ALL_EXTERNAL_USERS = "allExternalUsers"


class SubjectType(StrEnum):
    """Graph's subjectSet types, for approvers, reviewers and allowed targets."""

    SINGLE_USER = "singleUser"
    GROUP_MEMBERS = "groupMembers"
    REQUESTOR_MANAGER = "requestorManager"
    INTERNAL_SPONSORS = "internalSponsors"
    EXTERNAL_SPONSORS = "externalSponsors"
    CONNECTED_ORGANIZATION_MEMBERS = "connectedOrganizationMembers"


class SubjectSet(GraphModel):
    type: SubjectType
    user: str | None = None  # email or UPN, for singleUser
    group_id: str | None = None  # Graph object id, for groupMembers
    manager_level: Literal[1, 2] | None = None  # for requestorManager
    connected_organization: str | None = None  # id, for connectedOrganizationMembers

    @model_validator(mode="after")
    def _has_what_its_type_needs(self) -> SubjectSet:
        needs = {
            SubjectType.SINGLE_USER: ("user", self.user),
            SubjectType.GROUP_MEMBERS: ("groupId", self.group_id),
            SubjectType.CONNECTED_ORGANIZATION_MEMBERS: (
                "connectedOrganization",
                self.connected_organization,
            ),
        }
        if self.type in needs and not needs[self.type][1]:
            raise ValueError(f"a {self.type.value} subject needs {needs[self.type][0]}")
        return self

    @property
    def level(self) -> int:
        return self.manager_level or 1


APPROVER_TYPES = {
    SubjectType.SINGLE_USER,
    SubjectType.GROUP_MEMBERS,
    SubjectType.REQUESTOR_MANAGER,
    SubjectType.INTERNAL_SPONSORS,
    SubjectType.EXTERNAL_SPONSORS,
}
TARGET_TYPES = {
    SubjectType.SINGLE_USER,
    SubjectType.GROUP_MEMBERS,
    SubjectType.CONNECTED_ORGANIZATION_MEMBERS,
}


def _only(types: set[SubjectType], subjects: list[SubjectSet], what: str) -> list[SubjectSet]:
    for subject in subjects:
        if subject.type not in types:
            allowed = ", ".join(sorted(t.value for t in types))
            raise ValueError(f"{subject.type.value} cannot be {what} (allowed: {allowed})")
    return subjects


class ApprovalStage(GraphModel):
    duration_before_automatic_denial: Duration = Field(default="P14D", validate_default=True)
    is_approver_justification_required: bool = False
    is_escalation_enabled: bool = False
    duration_before_escalation: Duration | None = None
    primary_approvers: list[SubjectSet] = Field(min_length=1)
    fallback_primary_approvers: list[SubjectSet] = []
    escalation_approvers: list[SubjectSet] = []
    fallback_escalation_approvers: list[SubjectSet] = []

    @field_validator(
        "primary_approvers",
        "fallback_primary_approvers",
        "escalation_approvers",
        "fallback_escalation_approvers",
    )
    @classmethod
    def _approver_types(cls, value: list[SubjectSet]) -> list[SubjectSet]:
        return _only(APPROVER_TYPES, value, "an approver")

    @field_validator("duration_before_automatic_denial")
    @classmethod
    def _positive_denial(cls, value):
        if not value:
            raise ValueError("durationBeforeAutomaticDenial must be longer than zero")
        return value

    @model_validator(mode="after")
    def _escalation_is_coherent(self) -> ApprovalStage:
        if not self.is_escalation_enabled:
            return self
        if not (self.escalation_approvers or self.fallback_escalation_approvers):
            raise ValueError("isEscalationEnabled is true but no escalationApprovers are named")
        if self.duration_before_escalation is None:
            raise ValueError("isEscalationEnabled is true but durationBeforeEscalation is missing")
        if self.duration_before_escalation >= self.duration_before_automatic_denial:
            raise ValueError(
                "durationBeforeEscalation must be shorter than durationBeforeAutomaticDenial "
                f"({iso_duration(self.duration_before_escalation)} is not shorter than "
                f"{iso_duration(self.duration_before_automatic_denial)})"
            )
        return self


class RequestApprovalSettings(GraphModel):
    is_approval_required_for_add: bool = False
    is_approval_required_for_update: bool = False
    is_requestor_justification_required: bool = False
    stages: list[ApprovalStage] = []

    @field_validator("stages")
    @classmethod
    def _at_most_three(cls, value: list[ApprovalStage]) -> list[ApprovalStage]:
        if len(value) > MAX_APPROVAL_STAGES:
            raise ValueError(
                f"{len(value)} approval stages given; at most {MAX_APPROVAL_STAGES} are allowed"
            )
        return value

    @model_validator(mode="after")
    def _stages_when_required(self) -> RequestApprovalSettings:
        if (self.is_approval_required_for_add or self.is_approval_required_for_update) and not (
            self.stages
        ):
            raise ValueError("approval is required but no stages are defined")
        return self


class RequestorSettings(GraphModel):
    accept_requests: bool = True  # false: new requests disabled
    enable_targets_to_self_add_access: bool = True
    enable_targets_to_self_update_access: bool = False
    enable_targets_to_self_remove_access: bool = False
    allow_custom_assignment_schedule: bool = False


class ExpirationType(StrEnum):
    AFTER_DURATION = "afterDuration"
    AFTER_DATE_TIME = "afterDateTime"
    NO_EXPIRATION = "noExpiration"


class Expiration(GraphModel):
    type: ExpirationType = ExpirationType.NO_EXPIRATION
    duration: Duration | None = None
    end_date_time: AwareDatetime | None = None

    @model_validator(mode="after")
    def _has_its_value(self) -> Expiration:
        if self.type == ExpirationType.AFTER_DURATION and not self.duration:
            raise ValueError("expiration afterDuration needs a duration longer than zero")
        if self.type == ExpirationType.AFTER_DATE_TIME and self.end_date_time is None:
            raise ValueError("expiration afterDateTime needs endDateTime")
        if self.type == ExpirationType.NO_EXPIRATION and (self.duration or self.end_date_time):
            raise ValueError("expiration noExpiration takes no duration or endDateTime")
        return self

    @property
    def hard_end(self) -> datetime | None:
        """An explicit end date: with afterDateTime, or as a cap on afterDuration (beyond Entra:
        "90 days at a time, never past the end of the project")."""
        return self.end_date_time


class QuestionType(StrEnum):
    TEXT = "text"
    MULTIPLE_CHOICE = "multipleChoice"


class Choice(GraphModel):
    value: str
    display_name: str | None = None


class Question(GraphModel):
    id: str = Field(min_length=1)
    type: QuestionType = QuestionType.TEXT
    text: str
    is_required: bool = False
    regex_pattern: str | None = None
    choices: list[Choice] = []

    @field_validator("regex_pattern")
    @classmethod
    def _compiles(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as error:
                raise ValueError(f"regexPattern does not compile: {error}") from error
        return value

    @model_validator(mode="after")
    def _choices_for_multiple_choice(self) -> Question:
        if self.type == QuestionType.MULTIPLE_CHOICE and not self.choices:
            raise ValueError("a multipleChoice question needs choices")
        if self.type == QuestionType.TEXT and self.choices:
            raise ValueError("a text question has no choices")
        return self


class Recurrence(StrEnum):
    WEEKLY = "weekly"
    MONTHLY = "monthly"
    QUARTERLY = "quarterly"
    HALF_YEARLY = "halfyearly"
    ANNUAL = "annual"


class ReviewSchedule(GraphModel):
    start_date_time: AwareDatetime
    recurrence: Recurrence
    duration: Duration = Field(default="P14D", validate_default=True)


class ExpirationBehavior(StrEnum):
    KEEP_ACCESS = "keepAccess"
    REMOVE_ACCESS = "removeAccess"
    ACCEPT_ACCESS_RECOMMENDATION = "acceptAccessRecommendation"


class ReviewSettings(GraphModel):
    is_enabled: bool = True
    schedule: ReviewSchedule
    is_self_review: bool = False
    primary_reviewers: list[SubjectSet] = []
    fallback_reviewers: list[SubjectSet] = []
    expiration_behavior: ExpirationBehavior = ExpirationBehavior.KEEP_ACCESS
    is_recommendation_enabled: bool = False
    is_reviewer_justification_required: bool = False

    @field_validator("primary_reviewers", "fallback_reviewers")
    @classmethod
    def _reviewer_types(cls, value: list[SubjectSet]) -> list[SubjectSet]:
        return _only(
            {SubjectType.SINGLE_USER, SubjectType.GROUP_MEMBERS, SubjectType.REQUESTOR_MANAGER},
            value,
            "a reviewer",
        )

    @model_validator(mode="after")
    def _someone_reviews(self) -> ReviewSettings:
        if self.is_enabled and not self.is_self_review and not self.primary_reviewers:
            raise ValueError("a review needs primaryReviewers unless isSelfReview is true")
        return self


SPECIFIC_SCOPES = {
    AllowedTargetScope.SPECIFIC_DIRECTORY_USERS: {
        SubjectType.SINGLE_USER,
        SubjectType.GROUP_MEMBERS,
    },
    AllowedTargetScope.SPECIFIC_CONNECTED_ORGANIZATION_USERS: {
        SubjectType.CONNECTED_ORGANIZATION_MEMBERS
    },
}


class AssignmentPolicy(GraphModel):
    id: str = Field(min_length=1)
    display_name: str
    description: str = ""
    allowed_target_scope: AllowedTargetScope
    specific_allowed_targets: list[SubjectSet] = []
    expiration: Expiration = Expiration()
    requestor_settings: RequestorSettings = RequestorSettings()
    request_approval_settings: RequestApprovalSettings = RequestApprovalSettings()
    questions: list[Question] = []
    review_settings: ReviewSettings | None = None

    @model_validator(mode="after")
    def _targets_match_scope(self) -> AssignmentPolicy:
        wanted = SPECIFIC_SCOPES.get(self.allowed_target_scope)
        if wanted is None:
            if self.specific_allowed_targets:
                raise ValueError(
                    f"specificAllowedTargets is only used with specific scopes, "
                    f"not {self.allowed_target_scope.value}"
                )
            return self
        if not self.specific_allowed_targets:
            raise ValueError(f"{self.allowed_target_scope.value} needs specificAllowedTargets")
        _only(wanted, self.specific_allowed_targets, f"a target of {self.allowed_target_scope}")
        return self

    @property
    def approval_stages_for_add(self) -> list[ApprovalStage]:
        settings = self.request_approval_settings
        return list(settings.stages) if settings.is_approval_required_for_add else []

    @property
    def approval_stages_for_update(self) -> list[ApprovalStage]:
        settings = self.request_approval_settings
        return list(settings.stages) if settings.is_approval_required_for_update else []

    @property
    def latest_end(self) -> datetime | None:
        """An explicit end date of the policy: no assignment or extension passes it."""
        return self.expiration.hard_end
