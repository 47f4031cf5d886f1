"""What the services declare, found by module name so the kernel never imports a service statically.

Each service declares its parts under fixed names (the same file names for
the same roles): ``services.<name>.projections.PROJECTIONS``,
``services.<name>.audit.CHECKERS``, ``services.<name>.events.CONTRACT`` and
``services.<name>.subscriptions.REACTIONS``.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from typing import Any

from shared.domain.contract import EventContract
from shared.runtime.settings import SERVICE_NAMES

PROJECTION_MODULES = tuple(f"services.{name}.projections" for name in SERVICE_NAMES)
CHECKER_MODULES = tuple(f"services.{name}.audit" for name in SERVICE_NAMES)


def discover(modules: Sequence[str], attribute: str) -> list[Any]:
    """What the services declare under ``attribute`` in the given modules.

    Found by module name, so the kernel never imports a service statically.
    """
    found: list[Any] = []
    for module_name in modules:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name != module_name:
                raise
            continue
        found.extend(getattr(module, attribute, ()))
    return found


CONTRACT_MODULES = tuple(f"services.{name}.events" for name in SERVICE_NAMES)


def contracts(modules: Sequence[str] = CONTRACT_MODULES) -> list[EventContract]:
    """Every service's event contract, in service order."""
    found = []
    for module_name in modules:
        contract = getattr(importlib.import_module(module_name), "CONTRACT", None)
        if not isinstance(contract, EventContract):
            raise RuntimeError(f"{module_name} declares no CONTRACT = EventContract(...)")
        found.append(contract)
    return found


def reaction_names() -> list[str]:
    """The durable consumer name of every service's reaction (``<service>-<reaction>``): the system actors
    that write events in reaction to others."""
    return [f"{service}-{reaction.name}" for service in SERVICE_NAMES
            for reaction in discover([f"services.{service}.subscriptions"], "REACTIONS")]


def reaction_durables() -> dict[str, list[str]]:
    """Each service's durable consumer names (``<service>-<reaction>``): what its NATS user may consume."""
    return {service: [f"{service}-{reaction.name}"
                      for reaction in discover([f"services.{service}.subscriptions"], "REACTIONS")]
            for service in SERVICE_NAMES}
