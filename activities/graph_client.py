"""The one GraphServiceClient of a worker.

Two targets, one code path:
- `GRAPH_BASE_URL` set (e.g. http://127.0.0.1:8900/v1.0, the emulator): anonymous auth.
- otherwise Microsoft Graph with azure-identity's async `DefaultAzureCredential` (client
  secret or certificate from AZURE_* variables, workload identity, managed identity, ...),
  scope https://graph.microsoft.com/.default.

Either way the SDK's RetryHandler is left out of the middleware: a throttled or failed call
surfaces at once as an error, and Temporal's activity retry policy (honouring Retry-After,
see activities.graph_errors) owns every retry.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import httpx
from kiota_abstractions.authentication import (
    AnonymousAuthenticationProvider,
    AuthenticationProvider,
)
from kiota_authentication_azure.azure_identity_authentication_provider import (
    AzureIdentityAuthenticationProvider,
)
from kiota_http.kiota_client_factory import KiotaClientFactory
from kiota_http.middleware import RetryHandler
from kiota_http.middleware.middleware import BaseMiddleware
from kiota_http.middleware.options import UrlReplaceHandlerOption
from msgraph import GraphRequestAdapter, GraphServiceClient
from msgraph._version import VERSION as MSGRAPH_VERSION
from msgraph_core import APIVersion, GraphClientFactory
from msgraph_core.middleware import GraphTelemetryHandler
from msgraph_core.middleware.options import GraphTelemetryHandlerOption

if TYPE_CHECKING:
    from azure.core.credentials_async import AsyncTokenCredential

GRAPH_ROOT = "https://graph.microsoft.com/v1.0"
GRAPH_SCOPE = "https://graph.microsoft.com/.default"


@dataclass(frozen=True)
class GraphSettings:
    """Where Graph is and how long a call may take.

    base_url: GRAPH_BASE_URL; empty means Microsoft Graph with azure-identity.
    timeout_seconds: GRAPH_TIMEOUT_SECONDS, per HTTP call (default 30).
    """

    base_url: str | None = None
    timeout_seconds: float = 30.0

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> GraphSettings:
        env = os.environ if env is None else env
        return cls(
            base_url=(env.get("GRAPH_BASE_URL") or "").strip() or None,
            timeout_seconds=float(env.get("GRAPH_TIMEOUT_SECONDS") or 30.0),
        )

    @property
    def uses_emulator(self) -> bool:
        return self.base_url is not None


def middleware_without_retry() -> list[BaseMiddleware]:
    """msgraph-sdk's default middleware chain, minus the RetryHandler."""
    options = {
        UrlReplaceHandlerOption.get_key(): UrlReplaceHandlerOption(
            enabled=True, replacement_pairs={"/users/me-token-to-replace": "/me"}
        ),
    }
    chain = [
        m for m in KiotaClientFactory.get_default_middleware(options)
        if not isinstance(m, RetryHandler)
    ]  # fmt: skip
    chain.append(
        GraphTelemetryHandler(
            options=GraphTelemetryHandlerOption(
                api_version=APIVersion.v1, sdk_version=MSGRAPH_VERSION
            )
        )
    )
    return chain


def build_http_client(timeout_seconds: float = 30.0) -> httpx.AsyncClient:
    client = httpx.AsyncClient(
        timeout=httpx.Timeout(timeout_seconds, connect=min(10.0, timeout_seconds)), http2=True
    )
    return GraphClientFactory.create_with_custom_middleware(
        middleware_without_retry(), client=client
    )


def build_graph_client(
    settings: GraphSettings | None = None,
    credential: AsyncTokenCredential | None = None,
) -> GraphServiceClient:
    """A GraphServiceClient for the emulator (base_url set) or for Microsoft Graph."""
    settings = settings or GraphSettings.from_env()
    auth: AuthenticationProvider
    if settings.base_url:
        auth = AnonymousAuthenticationProvider()
        base_url = settings.base_url.rstrip("/")
    else:
        if credential is None:
            from azure.identity.aio import DefaultAzureCredential

            credential = DefaultAzureCredential()
        base_url = GRAPH_ROOT
        auth = AzureIdentityAuthenticationProvider(
            credential, scopes=[GRAPH_SCOPE], allowed_hosts=[urlsplit(GRAPH_ROOT).hostname]
        )
    adapter = GraphRequestAdapter(auth, client=build_http_client(settings.timeout_seconds))
    adapter.base_url = base_url
    return GraphServiceClient(request_adapter=adapter)


def load_graph_models() -> None:
    """Import what msgraph-sdk imports the first time it reads an answer (about a second of
    CPU): done at worker start, not in the first Graph call, where it stalls every call in
    flight long enough for them to time out."""
    from msgraph.generated.models.invitation import Invitation
    from msgraph.generated.models.user import User

    for model in (User(), Invitation()):
        model.get_field_deserializers()
