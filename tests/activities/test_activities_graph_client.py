"""build_graph_client: the emulator and production targets, inspected without contacting Azure."""

from __future__ import annotations

from azure.identity.aio import ClientSecretCredential, DefaultAzureCredential
from kiota_abstractions.authentication import AnonymousAuthenticationProvider
from kiota_authentication_azure.azure_identity_authentication_provider import (
    AzureIdentityAuthenticationProvider,
)
from kiota_http.middleware import RetryHandler

from activities.graph_client import GraphSettings, build_graph_client


def middleware_of(client) -> list[type]:
    pipeline = client.request_adapter._http_client._transport.pipeline
    chain, handler = [], pipeline._first_middleware
    while handler is not None:
        chain.append(type(handler))
        handler = handler.next
    return chain


def test_settings_from_env():
    assert GraphSettings.from_env({}) == GraphSettings(base_url=None, timeout_seconds=30.0)
    settings = GraphSettings.from_env(
        {"GRAPH_BASE_URL": "http://127.0.0.1:8900/v1.0", "GRAPH_TIMEOUT_SECONDS": "5"}
    )
    assert settings.base_url == "http://127.0.0.1:8900/v1.0" and settings.uses_emulator
    assert settings.timeout_seconds == 5.0


def test_emulator_client_is_anonymous_without_retry_handler():
    client = build_graph_client(GraphSettings(base_url="http://127.0.0.1:8900/v1.0/"))
    adapter = client.request_adapter
    assert adapter.base_url == "http://127.0.0.1:8900/v1.0"
    assert isinstance(adapter._authentication_provider, AnonymousAuthenticationProvider)
    chain = middleware_of(client)
    assert RetryHandler not in chain
    assert len(chain) >= 5  # the rest of msgraph-sdk's default chain is kept


async def test_production_client_uses_default_azure_credential_and_graph_scope():
    client = build_graph_client(GraphSettings())
    adapter = client.request_adapter
    assert adapter.base_url == "https://graph.microsoft.com/v1.0"
    provider = adapter._authentication_provider
    assert isinstance(provider, AzureIdentityAuthenticationProvider)
    token_provider = provider.access_token_provider
    assert isinstance(token_provider._credentials, DefaultAzureCredential)
    assert token_provider._scopes == ["https://graph.microsoft.com/.default"]
    assert token_provider.get_allowed_hosts_validator().is_url_host_valid(
        "https://graph.microsoft.com/v1.0/users"
    )
    assert not token_provider.get_allowed_hosts_validator().is_url_host_valid(
        "https://example.com/"
    )
    assert RetryHandler not in middleware_of(client)
    await token_provider._credentials.close()


async def test_production_client_with_an_explicit_credential():
    credential = ClientSecretCredential("tenant-id", "client-id", "not-a-real-secret")
    client = build_graph_client(GraphSettings(), credential=credential)
    provider = client.request_adapter._authentication_provider
    assert provider.access_token_provider._credentials is credential
    await credential.close()
