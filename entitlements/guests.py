"""External users' lifecycle (SEMANTICS.md "External users"): what happens to a managed guest's
account when their last assignment ends, and the settings that say so."""

from __future__ import annotations

from datetime import timedelta
from enum import StrEnum

from pydantic import BaseModel

from entitlements.catalog import ExternalUserLifecycleAction, Settings


class GuestLifecycle(StrEnum):
    NOT_MANAGED = "notManaged"  # a member, or a guest accessctl neither invited nor governs
    ACTIVE = "active"  # a managed guest whose account is enabled
    BLOCKED = "blocked"  # sign-in blocked; deleted later when the settings say so
    DELETED = "deleted"  # deleted by accessctl; a later request invites a new guest


class ExternalUserSettings(BaseModel):
    """The catalog's settings as they are now (not a request's snapshot): applied when a managed
    guest's last assignment ends, so a change of settings applies to every later end."""

    external_user_lifecycle_action: ExternalUserLifecycleAction
    duration_until_external_user_deleted_after_blocked: timedelta
    administrators: list[str] = []

    @classmethod
    def of(cls, settings: Settings) -> ExternalUserSettings:
        return cls(
            external_user_lifecycle_action=settings.external_user_lifecycle_action,
            duration_until_external_user_deleted_after_blocked=(
                settings.duration_until_external_user_deleted_after_blocked
            ),
            administrators=list(settings.administrators),
        )


class GovernInput(BaseModel):
    """An administrator marks an existing guest as governed by accessctl."""

    by: str  # the administrator: email, user principal name or object id
