"""During a database outage a write answers 503 problem+json with Retry-After, logged once, and nothing half-done."""

from __future__ import annotations

import logging
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest
from litestar.testing import AsyncTestClient

from shared.eventlog.migrate import migrate_url
from shared.runtime.credentials import user_of
from shared.runtime.embedded import EmbeddedNats, EmbeddedPostgres, free_port
from shared.runtime.settings import Settings
from tests.integration.decisions_client import make_group, soon


@pytest.fixture(scope="module")
def cluster() -> Iterator[EmbeddedPostgres]:
    home = Path(tempfile.mkdtemp(prefix="copro-503-"))
    found = EmbeddedPostgres(home, free_port())
    found.start()
    yield found
    found.stop()
    shutil.rmtree(home, ignore_errors=True)


@pytest.fixture(scope="module")
async def decisions(cluster: EmbeddedPostgres, own_nats: EmbeddedNats, monkeypatch_module: pytest.MonkeyPatch
                    ) -> AsyncIterator[AsyncTestClient]:  # type: ignore[type-arg]
    await migrate_url(cluster.owner_url, app_role=user_of(cluster.url))
    monkeypatch_module.setenv("COPRO_DATABASE_URL", cluster.url)
    monkeypatch_module.setenv("COPRO_NATS_URL", own_nats.url)
    monkeypatch_module.setenv("COPRO_NATS_CREDENTIALS", str(own_nats.credentials))
    from services.decisions.app import create_app

    async with AsyncTestClient(app=create_app()) as client:
        yield client


async def test_a_write_while_the_database_is_away_answers_503_with_retry_after_logged_once(
    decisions: AsyncTestClient, cluster: EmbeddedPostgres, settings: Settings,  # type: ignore[type-arg]
    caplog: pytest.LogCaptureFixture,
) -> None:
    operator = {"Authorization": f"Bearer {settings.operator_token_path.read_text().strip()}"}
    group = await make_group(decisions, operator)
    proposal = {"kind": "consent", "title": "Meet in the library", "closes_at": soon(days=3)}
    cluster.stop()
    try:
        with caplog.at_level(logging.WARNING, logger="shared.web.problems"):
            answers = [await decisions.post(f"{group.base}/proposals", headers=group.tokens["member"], json=proposal)
                       for _ in range(3)]
    finally:
        cluster.start()
    for answer in answers:
        assert answer.status_code == 503, answer.text
        assert answer.headers["content-type"].startswith("application/problem+json")
        assert answer.headers["retry-after"] == "5" and answer.json()["type"].endswith(":unavailable")
    outage_lines = [r for r in caplog.records if "database unreachable" in r.getMessage()]
    tracebacks = [(r.name, r.getMessage()) for r in caplog.records if r.exc_info]
    assert len(outage_lines) <= 1 and not tracebacks, tracebacks
    again = await decisions.post(f"{group.base}/proposals", headers=group.tokens["member"], json=proposal)
    for _ in range(100):  # the pool reconnects by itself once PostgreSQL is back
        if again.status_code != 503:
            break
        again = await decisions.post(f"{group.base}/proposals", headers=group.tokens["member"], json=proposal)
    assert again.status_code == 201, again.text
    conn = await asyncpg.connect(cluster.url)
    try:
        opened = await conn.fetchval("SELECT count(*) FROM events WHERE group_id = $1 AND type = $2",
                                     uuid.UUID(group.id), "decisions.ProposalOpened")
    finally:
        await conn.close()
    assert opened == 1  # the refused writes left nothing behind

