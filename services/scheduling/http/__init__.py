"""Scheduling's HTTP API: one controller per resource."""

from __future__ import annotations

from services.scheduling.http.attendees import AttendeeController
from services.scheduling.http.calendar import CalendarController, CalendarFeedController
from services.scheduling.http.gatherings import GatheringController
from services.scheduling.http.meetings import MeetingController
from services.scheduling.http.roles import RoleController
from services.scheduling.http.table_plan import PrintoutController, TablePlanController

CONTROLLERS = [MeetingController, CalendarFeedController, CalendarController, GatheringController, RoleController,
               AttendeeController, TablePlanController, PrintoutController]
