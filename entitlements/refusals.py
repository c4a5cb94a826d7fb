"""A refusal names the rule it applies, so a person knows what to change and a script can branch."""

from __future__ import annotations

from enum import StrEnum


class Rule(StrEnum):
    UNKNOWN_PACKAGE = "unknownPackage"
    UNKNOWN_POLICY = "unknownPolicy"
    UNKNOWN_USER = "unknownUser"
    INVALID_EMAIL = "invalidEmail"
    CATALOG_UNPUBLISHED = "catalogUnpublished"
    NO_MATCHING_POLICY = "noMatchingPolicy"
    CHOOSE_POLICY = "choosePolicy"
    REQUESTS_DISABLED = "requestsDisabled"
    NOT_ADMINISTRATOR = "notAdministrator"
    SEPARATION_OF_DUTIES = "separationOfDuties"
    QUESTION_UNANSWERED = "questionUnanswered"
    ANSWER_INVALID = "answerInvalid"
    JUSTIFICATION_REQUIRED = "justificationRequired"
    TEXT_INVALID = "textInvalid"
    CUSTOM_SCHEDULE_NOT_ALLOWED = "customScheduleNotAllowed"
    SCHEDULE_INVALID = "scheduleInvalid"
    INVITATION_DOMAIN = "invitationDomain"
    OPEN_REQUEST_EXISTS = "openRequestExists"
    # decisions and actions on a running request
    NOT_AN_APPROVER = "notAnApprover"
    SELF_APPROVAL = "selfApproval"
    ALREADY_DECIDED = "alreadyDecided"
    NOT_PENDING = "notPending"
    NOT_REQUESTOR = "notRequestor"
    NOT_FOUND = "requestNotFound"
    NOTHING_TO_REPROCESS = "nothingToReprocess"
    EXTENSION_NOT_ALLOWED = "extensionNotAllowed"
    EXTENSION_PENDING = "extensionPending"
    NOT_TARGET = "notTarget"
    OUT_OF_SCOPE = "outOfPolicyScope"
    NOT_A_GUEST = "notAGuest"  # only an external user can be governed as one
    # access reviews
    NOT_A_REVIEWER = "notAReviewer"
    NOT_IN_REVIEW = "notInReview"
    REVIEW_NOT_FOUND = "reviewNotFound"
    REVIEW_EXISTS = "reviewExists"


class RequestRefused(Exception):
    """Refused by a rule; nothing was started or changed."""

    def __init__(self, rule: Rule, message: str) -> None:
        super().__init__(message)
        self.rule = rule
        self.message = message

    def __str__(self) -> str:
        return f"{self.message} [{self.rule.value}]"


# The Temporal ApplicationError type that carries a refusal across the wire.
REFUSAL_ERROR_TYPE = "RequestRefused"
