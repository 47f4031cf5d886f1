"""Fixtures of the integration tests: a decisions service app on the module's own database."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from shared.eventlog.store import EventStore
from shared.runtime.embedded import EmbeddedNats, free_port
from shared.runtime.settings import Settings
from tests.integration.receiver import Receiver


@pytest.fixture(scope="module")
def monkeypatch_module() -> Any:
    with pytest.MonkeyPatch.context() as patch:
        yield patch


@pytest.fixture(scope="module")
async def lanes(database_url: str) -> AsyncIterator[EventStore]:
    """A store whose appends go alone on four connections at once (sealed by the module's ``store`` sealer)."""
    event_store = await EventStore.connect(database_url, min_size=2, max_size=8, lanes=4)
    yield event_store
    await event_store.close()


@pytest.fixture(scope="module")
async def api(
    database_url: str, own_nats: EmbeddedNats, settings: Settings, monkeypatch_module: pytest.MonkeyPatch
) -> AsyncIterator[AsyncTestClient]:  # type: ignore[type-arg]
    monkeypatch_module.setenv("COPRO_DATABASE_URL", database_url)
    monkeypatch_module.setenv("COPRO_NATS_URL", own_nats.url)
    monkeypatch_module.setenv("COPRO_NATS_CREDENTIALS", str(own_nats.credentials))  # each service its own user
    from services.decisions.app import create_app

    async with AsyncTestClient(app=create_app()) as client:
        yield client


@pytest.fixture(scope="module")
def operator(settings: Settings, api: AsyncTestClient) -> dict[str, str]:  # type: ignore[type-arg]
    return {"Authorization": f"Bearer {settings.operator_token_path.read_text().strip()}"}




@pytest.fixture(scope="module")
async def publishing(
    api: AsyncTestClient, monkeypatch_module: pytest.MonkeyPatch  # type: ignore[type-arg]
) -> AsyncIterator[AsyncTestClient]:  # type: ignore[type-arg]
    """The publishing service on the same database and NATS as the module's decisions service."""
    monkeypatch_module.setenv("COPRO_WEBHOOK_RETRY_BASE", "0.05")
    monkeypatch_module.setenv("COPRO_WEBHOOK_GIVE_UP_AFTER", "2")
    from services.publishing.app import create_app

    async with AsyncTestClient(app=create_app()) as client:
        yield client


@pytest.fixture(scope="module")
async def scheduling(
    api: AsyncTestClient, monkeypatch_module: pytest.MonkeyPatch  # type: ignore[type-arg]
) -> AsyncIterator[AsyncTestClient]:  # type: ignore[type-arg]
    """The scheduling service on the same database and NATS as the module's decisions service."""
    from services.scheduling.app import create_app

    async with AsyncTestClient(app=create_app()) as client:
        yield client


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A real webhook endpoint on loopback (``tests/integration/receiver.py``)."""
    endpoint = Receiver(free_port())
    endpoint.start()
    yield endpoint
    endpoint.stop()
