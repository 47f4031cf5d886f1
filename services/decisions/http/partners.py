"""HTTP: a partner organisation's signing key, and its countersignature on the log's checkpoints."""

from __future__ import annotations

import base64
import uuid

from litestar import Controller, post, put

from services.decisions.context import Decisions
from services.decisions.domain.group import RegisterKey
from services.decisions.http.groups import group_out, managed
from services.decisions.http.schemas import CountersignatureOut, CountersignIn, GroupOut, KeyIn
from shared.access.principals import Authenticated
from shared.audit.signing import countersign
from shared.domain.errors import Forbidden, InvalidCommand
from shared.domain.ids import utc_now
from shared.eventlog.handler import Idempotency
from shared.web.kernel import Kernel
from shared.web.params import Position

TAGS = ["groups"]


class PartnerController(Controller):
    path = "/groups/{group_id:uuid}"
    tags = TAGS

    @put("/organisations/{organisation_id:uuid}/key",
         summary="Register a partner organisation's Ed25519 key for countersigning checkpoints (facilitator)")
    async def register_key(
        self, once: Idempotency, principal: Authenticated, service: Decisions, group_id: uuid.UUID,
        organisation_id: uuid.UUID, data: KeyIn,
    ) -> GroupOut:
        await managed(service, principal, group_id)
        if not principal.is_operator and principal.organisation_id != organisation_id:
            raise Forbidden("a facilitator registers their own organisation's key", field="organisation_id")
        command = RegisterKey(organisation_id=organisation_id, public_key=data.public_key, at=utc_now())
        group, _ = await service.on_group(group_id, command, once)
        return group_out(group)

    @post("/checkpoints/{position:int}/signatures", status_code=201,
          summary="Countersign a checkpoint with a partner organisation's key (facilitator of that organisation)")
    async def countersign_checkpoint(
        self, principal: Authenticated, service: Decisions, kernel: Kernel, group_id: uuid.UUID, position: Position,
        data: CountersignIn,
    ) -> CountersignatureOut:
        group = await managed(service, principal, group_id)
        if not principal.is_operator and principal.organisation_id != data.organisation_id:
            raise Forbidden("a facilitator countersigns for their own organisation", field="organisation_id")
        key = group.keys.get(data.organisation_id)
        if key is None:
            raise InvalidCommand("register the organisation's key first", field="organisation_id")
        try:
            signature = base64.b64decode(data.signature, validate=True)
        except ValueError:
            raise InvalidCommand("the signature is not base64", field="signature") from None
        if not await countersign(kernel.store, position, f"organisation:{data.organisation_id}",
                                 base64.b64decode(key), signature):
            raise InvalidCommand(f"the signature does not verify for checkpoint {position} with the registered key",
                                 field="signature")
        return CountersignatureOut(position=position, signer=f"organisation:{data.organisation_id}", valid=True)
