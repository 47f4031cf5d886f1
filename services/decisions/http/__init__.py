"""The decisions HTTP API: one Controller per resource."""

from __future__ import annotations

from litestar import Controller

from services.decisions.http.auditing import AuditController
from services.decisions.http.ballots import BallotController, CommentController
from services.decisions.http.groups import GroupController, RuleController, TimeZoneController
from services.decisions.http.members import MemberController, TokenController
from services.decisions.http.partners import PartnerController
from services.decisions.http.proposals import ProposalController
from services.decisions.http.sign_in import SignInController

CONTROLLERS: list[type[Controller]] = [
    GroupController, RuleController, TimeZoneController, MemberController, TokenController, PartnerController,
    ProposalController, BallotController, CommentController, AuditController, SignInController,
]
