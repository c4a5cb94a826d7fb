"""The catalog's settings as the worker holds them now, for workflows that must not use a
request's snapshot: a managed guest's last assignment ending applies the settings of that
moment (SEMANTICS.md: settings changed later apply to users whose last assignment ends later).
"""

from __future__ import annotations

from temporalio import activity

from entitlements.catalog import CatalogFile
from entitlements.guests import ExternalUserSettings
from workflows.activity_calls import CURRENT_EXTERNAL_USER_SETTINGS


class SettingsActivities:
    def __init__(self, catalog: CatalogFile) -> None:
        self.catalog = catalog

    def all(self) -> list:
        return [self.current_external_user_settings]

    @activity.defn(name=CURRENT_EXTERNAL_USER_SETTINGS)
    async def current_external_user_settings(self) -> ExternalUserSettings:
        return ExternalUserSettings.of(self.catalog.settings)
