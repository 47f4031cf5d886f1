"""Every page of the web app, one module per part of the group's work."""

from __future__ import annotations

from typing import Any

from web.pages import auth, facilitation, gathering, home, meetings, proposals, publications

PAGES: list[Any] = [*auth.PAGES, *home.PAGES, *proposals.PAGES, *meetings.PAGES, *gathering.PAGES,
                    *publications.PAGES, *facilitation.PAGES]
