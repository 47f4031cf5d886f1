"""Calendar feeds: secret .ics addresses of the group's meetings (or a member's own), and the feeds themselves.

The address is the credential (calendar apps send no bearer token): only its
hash is recorded, and revoking it makes the address answer 404 at once.
"""

from __future__ import annotations

import secrets
import uuid
from typing import Any

from litestar import Controller, Request, Response, delete, get, post

from services.scheduling.context import Scheduling
from services.scheduling.domain.feeds import Issue, Revoke, feeds_decider, feeds_stream
from services.scheduling.http.access import ANY_MEMBER
from services.scheduling.http.ics import calendar_of
from services.scheduling.http.schemas import FeedOut
from shared.access.guards import acting_member, require_owner
from shared.access.principals import FACILITATORS, Authenticated
from shared.access.tokens import token_digest
from shared.domain.errors import NotFound
from shared.domain.ids import new_id, utc_now
from shared.eventlog.handler import handle, load

TAGS = ["meetings"]
FEED_PREFIX = "cal_"


def feed_token(group_id: uuid.UUID) -> str:
    """A feed address names its group, so the feed is found from that group's stream alone."""
    return f"{FEED_PREFIX}{group_id.hex}_{secrets.token_urlsafe(24)}"


def feed_group(token: str) -> uuid.UUID | None:
    if not token.startswith(FEED_PREFIX):
        return None
    try:
        return uuid.UUID(hex=token[len(FEED_PREFIX):].split("_", 1)[0])
    except ValueError:
        return None


class CalendarFeedController(Controller):
    """Issuing and revoking a group's secret calendar addresses."""

    path = "/groups/{group_id:uuid}/calendar-feeds"
    tags = TAGS

    @post("/", summary="A secret .ics address: the group's (facilitator) or your own (personal=true)")
    async def issue_feed(self, request: Request[Any, Any, Any], service: Scheduling, principal: Authenticated,
                         group_id: uuid.UUID, personal: bool = False) -> Response[FeedOut]:
        if personal:
            await service.members.admit(principal, group_id)
            acting_member(principal, "have a personal feed", ANY_MEMBER)
        else:
            await service.members.admit(principal, group_id, FACILITATORS, "issue the group's feed")
        token = feed_token(group_id)
        feed_id = new_id()
        await handle(service.store, feeds_decider, Issue(
            group_id=group_id, feed_id=feed_id, member_id=principal.member_id if personal else None,
            token_hash=token_digest(token), at=utc_now(), by=principal.member_id),
            group_id=group_id, stream_id=feeds_stream(group_id))
        url = f"{str(request.base_url).rstrip('/')}/calendar/{token}.ics"
        return Response(FeedOut(feed_id=feed_id, url=url, personal=personal), status_code=201,
                        headers={"Cache-Control": "no-store"})

    @delete("/{feed_id:uuid}", status_code=204,
            summary="Revoke a calendar feed address: your own, or (facilitator) the group's or anyone's")
    async def revoke_feed(self, service: Scheduling, principal: Authenticated, group_id: uuid.UUID,
                          feed_id: uuid.UUID) -> None:
        await service.members.admit(principal, group_id)
        feeds, _ = await load(service.store, feeds_decider, feeds_stream(group_id))
        # a personal feed is its member's (a read credential: any role may hold one); the group's, its facilitators'
        require_owner(principal, feeds.owner(feed_id), "revoke this calendar feed", or_roles=FACILITATORS,
                      owner_roles=ANY_MEMBER)
        await handle(service.store, feeds_decider, Revoke(group_id=group_id, feed_id=feed_id, at=utc_now()),
                     group_id=group_id, stream_id=feeds_stream(group_id))


class CalendarController(Controller):
    """The feeds themselves, for calendar apps."""

    path = "/calendar"
    tags = TAGS

    @get("/{token:str}", summary="A calendar feed (the secret address is the credential)", media_type="text/calendar")
    async def read_calendar_feed(self, service: Scheduling, token: str) -> Response[bytes]:
        secret = token.removesuffix(".ics")
        group_id = feed_group(secret)
        if group_id is None:
            raise NotFound("no such calendar")
        feeds, _ = await load(service.store, feeds_decider, feeds_stream(group_id))
        found = feeds.by_hash.get(token_digest(secret))
        if found is None:
            raise NotFound("no such calendar (or it was revoked)")
        if found[1] is not None and found[1] not in (await service.members.existing(group_id)).members:
            raise NotFound("no such calendar (its member has left the group)")
        meetings = await service.group_meetings(group_id)
        member = found[1]
        declined = {(m.scheduled.meeting_id, o) for m in meetings if m.scheduled and member
                    for o, who, answer in m.rsvps if who == member and answer == "no"}
        return Response(calendar_of(meetings, "copro meetings", declined), media_type="text/calendar",
                        headers={"Cache-Control": "private, max-age=300"})
