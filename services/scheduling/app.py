"""The scheduling service: meetings, events, roles and sign-ups, attendees and table plans (port 8102)."""

from __future__ import annotations

from typing import get_args

from litestar import Litestar

from services.scheduling import api, gathering_api
from services.scheduling.domain.feeds import FeedEvent
from services.scheduling.domain.gathering import Gathering, GatheringEvent
from services.scheduling.domain.meetings import Meeting, MeetingEvent
from services.scheduling.time_proposals import SUBSCRIPTIONS
from shared.access.roster import Members
from shared.eventlog.handler import StateCache
from shared.web.plugin import service_app


async def _start(app: Litestar) -> None:
    members = Members(app.state.store)
    meetings: StateCache[Meeting] = StateCache()
    gatherings: StateCache[Gathering] = StateCache()
    app.state.update(members=members, meetings=meetings, gatherings=gatherings, member_resolver=members.resolve)
    app.state.on_forget.extend([members.cache.clear, meetings.clear, gatherings.clear])


def create_app() -> Litestar:
    return service_app(
        "scheduling",
        [*api.ROUTES, *gathering_api.ROUTES],
        description="Meetings, events, roles and sign-ups, attendees and table plans.",
        on_start=[_start],
        subscriptions=SUBSCRIPTIONS,
        event_types=[*get_args(MeetingEvent), *get_args(FeedEvent), *get_args(GatheringEvent)],
    )
