"""The gathering's attendees: members register people (up to capacity, then a waitlist); the member who
registered someone (or a facilitator) may cancel that registration, and no one else."""

from __future__ import annotations

import uuid

from litestar import Controller, post

from services.scheduling.context import Scheduling
from services.scheduling.domain.attendees import CancelRegistration, Person, Register
from services.scheduling.http.access import member_and_organisation
from services.scheduling.http.gatherings import GATHERING, TAGS
from services.scheduling.http.schemas import AttendeeIn, GatheringOut, RegistrationOut, gathering_out
from shared.access.guards import require_owner
from shared.access.principals import FACILITATORS, Authenticated
from shared.domain.errors import NotFound
from shared.domain.ids import new_id, utc_now


class AttendeeController(Controller):
    """Registrations for one gathering of the group."""

    path = GATHERING + "/attendees"
    tags = TAGS

    @post("/", summary="Register an attendee (up to capacity, then the waitlist)")
    async def register_attendee(self, service: Scheduling, principal: Authenticated, group_id: uuid.UUID,
                       gathering_id: uuid.UUID, data: AttendeeIn) -> RegistrationOut:
        await service.members.admit(principal, group_id)
        member, _ = member_and_organisation(principal, "register an attendee")
        person = Person(attendee_id=new_id(), name=data.name, perspective=data.perspective,
                        organisation=data.organisation, needs=tuple(data.needs), seat_with=tuple(data.seat_with),
                        not_with=tuple(data.not_with), by=member)
        g = await service.on_gathering(group_id, gathering_id, Register(person=person, at=utc_now()))
        return RegistrationOut(attendee_id=person.attendee_id, waitlisted=person.attendee_id in g.attendees.waitlist)

    @post("/{attendee_id:uuid}/cancel", status_code=200, summary="Cancel a registration")
    async def cancel_attendee(self, service: Scheduling, principal: Authenticated, group_id: uuid.UUID,
                              gathering_id: uuid.UUID, attendee_id: uuid.UUID) -> GatheringOut:
        await service.members.admit(principal, group_id)
        person = (await service.gathering(group_id, gathering_id)).attendees.people.get(attendee_id)
        if person is None:
            raise NotFound("no such registration")
        # a registration is its registrant's to cancel; a facilitator manages the gathering's
        require_owner(principal, person.by, "cancel this registration", or_roles=FACILITATORS)
        return gathering_out(await service.on_gathering(group_id, gathering_id, CancelRegistration(
            attendee_id=attendee_id, at=utc_now())))
