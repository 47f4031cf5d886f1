"""The floor for a ballot over HTTP: Litestar + msgspec + asyncpg, one durable INSERT per POST.

Served exactly as ``copro serve`` serves a service (uvicorn, one worker, uvloop, httptools,
no access log), on the same PostgreSQL (``BENCH_FLOOR_DATABASE_URL``; the commit is synchronous,
as copro's appends are). ``POST /trivial/{proposal_id}`` answers the same body without touching
the database: the limit of Litestar and uvicorn themselves on this machine.

    python bench/floor.py PORT
"""

from __future__ import annotations

import os
import sys
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
import msgspec
import uvicorn
from litestar import Litestar, Request, post


class Choice(msgspec.Struct, forbid_unknown_fields=True):
    option: str


class BallotIn(msgspec.Struct, forbid_unknown_fields=True):
    choice: Choice
    reason: str | None = None


class BallotOut(msgspec.Struct):
    ballot_id: uuid.UUID
    proposal_id: uuid.UUID
    choice: Choice


POOL: list[asyncpg.Pool] = []


@asynccontextmanager
async def lifespan(_: Litestar) -> AsyncIterator[None]:
    pool = await asyncpg.create_pool(os.environ["BENCH_FLOOR_DATABASE_URL"], min_size=2, max_size=10)
    await pool.execute("CREATE TABLE IF NOT EXISTS floor_ballots (id uuid PRIMARY KEY, proposal_id uuid NOT NULL,"
                       " token text NOT NULL, body bytea NOT NULL, at timestamptz NOT NULL DEFAULT now())")
    POOL.append(pool)
    yield
    await pool.close()


@post("/groups/{group_id:uuid}/proposals/{proposal_id:uuid}/ballots")
async def ballot(request: Request, group_id: uuid.UUID, proposal_id: uuid.UUID, data: BallotIn) -> BallotOut:
    out = BallotOut(ballot_id=uuid.uuid4(), proposal_id=proposal_id, choice=data.choice)
    await POOL[0].execute("INSERT INTO floor_ballots (id, proposal_id, token, body) VALUES ($1, $2, $3, $4)",
                          out.ballot_id, proposal_id, request.headers.get("authorization", ""),
                          msgspec.json.encode(data))
    return out


@post("/trivial/{proposal_id:uuid}")
async def trivial(proposal_id: uuid.UUID, data: BallotIn) -> BallotOut:
    return BallotOut(ballot_id=uuid.uuid4(), proposal_id=proposal_id, choice=data.choice)


app = Litestar([ballot, trivial], lifespan=[lifespan])

if __name__ == "__main__":
    from shared.runtime.protocol import GuardedHttpToolsProtocol  # copro serve's httptools, header deadline

    uvicorn.run("bench.floor:app", host="127.0.0.1", port=int(sys.argv[1]), workers=1, loop="uvloop",
                http=GuardedHttpToolsProtocol, log_level="warning", access_log=False, timeout_keep_alive=5)
