"""Strict input, held by construction: every request body and parameter of the three services, walked.

Each route's body type and every struct inside it must refuse unknown fields,
take times only with an offset, and bound every integer on both sides; every
integer and time in a query or path parameter likewise. A new route or field
that forgets one fails here, before any request is sent.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import msgspec
import pytest
from litestar import Litestar
from litestar.params import ParameterKwarg
from litestar.routes import HTTPRoute

from services.decisions.domain.rules import RuleIn
from shared.domain.input import BIGINT_MAX
from shared.runtime.settings import Settings
from shared.web.params import AwareTime

SERVICES = ["decisions", "scheduling", "publishing"]
DEPENDENCIES = {"principal", "service", "kernel", "once", "request", "self", "scope", "headers", "state"}


def _app(name: str) -> Litestar:
    app: Litestar = importlib.import_module(f"services.{name}.app").create_app()
    return app


def routes(app: Litestar) -> Iterator[tuple[str, str, Any]]:
    for route in app.routes:
        if isinstance(route, HTTPRoute):
            for handler in route.route_handlers:
                yield route.path, "/".join(sorted(handler.http_methods)), handler


def faults(annotation: Any, where: str, seen: set[type] | None = None) -> Iterator[str]:
    """What in a request type lets loose input through."""
    seen = set() if seen is None else seen
    yield from _faults(msgspec.inspect.type_info(annotation), where, seen)


def _faults(info: msgspec.inspect.Type, where: str, seen: set[type]) -> Iterator[str]:
    match info:
        case msgspec.inspect.StructType():
            if info.cls in seen:
                return
            seen.add(info.cls)
            if not info.forbid_unknown_fields:
                yield f"{where}: {info.cls.__name__} accepts unknown fields (derive it from shared.domain.input.Body)"
            for field in info.fields:
                yield from _faults(field.type, f"{where}.{field.name}", seen)
        case msgspec.inspect.DateTimeType():
            if info.tz is not True:
                yield f"{where}: a datetime that takes no offset (use shared.domain.input.Instant)"
        case msgspec.inspect.IntType():
            if (info.ge is None and info.gt is None) or (info.le is None and info.lt is None):
                yield f"{where}: an integer without both bounds"
            elif (info.le or info.lt or 0) > BIGINT_MAX:
                yield f"{where}: an integer bound beyond bigint"
        case msgspec.inspect.UnionType():
            for member in info.types:
                yield from _faults(member, where, seen)
        case msgspec.inspect.ListType() | msgspec.inspect.VarTupleType() | msgspec.inspect.SetType() | \
                msgspec.inspect.FrozenSetType():
            yield from _faults(info.item_type, f"{where}[]", seen)
        case msgspec.inspect.TupleType():
            for member in info.item_types:
                yield from _faults(member, f"{where}[]", seen)
        case msgspec.inspect.DictType():
            yield from _faults(info.key_type, f"{where}{{key}}", seen)
            yield from _faults(info.value_type, f"{where}{{}}", seen)
        case _:
            return


def _parameter_faults(name: str, field: Any, where: str) -> Iterator[str]:
    kwarg = field.kwarg_definition
    if field.annotation is int or field.annotation == int | None:
        bounded = isinstance(kwarg, ParameterKwarg) and kwarg.le is not None and kwarg.ge is not None
        if not bounded:
            yield f"{where} parameter {name}: an integer without both bounds (use shared.web.params)"
    if field.annotation is datetime or field.annotation == datetime | None:
        yield f"{where} parameter {name}: a time in a query takes no offset unless it is shared.web.params.Moment"


@pytest.mark.parametrize("service", SERVICES)
def test_every_request_body_and_parameter_is_strict(settings: Settings, service: str) -> None:
    found: list[str] = []
    bodies = 0
    for path, methods, handler in routes(_app(service)):
        for name, field in handler.parsed_fn_signature.parameters.items():
            where = f"{methods} {path}"
            if name == "data":
                bodies += 1
                found.extend(faults(field.raw, f"{where} body"))
            elif name not in DEPENDENCIES:
                found.extend(_parameter_faults(name, field, where))
    assert bodies >= 5, f"only {bodies} request bodies found in {service}: the walk is broken"
    assert not found, "\n".join(found)


def test_the_walk_catches_what_it_is_for() -> None:
    class Loose(msgspec.Struct):
        at: datetime
        n: int

    assert len(list(faults(Loose, "x"))) == 3
    assert list(faults(RuleIn, "rule")) == []
    assert list(_parameter_faults("after", _Field(int, None), "GET /x")) != []
    assert list(_parameter_faults("time", _Field(datetime, None), "GET /x")) != []
    assert list(_parameter_faults("time", _Field(AwareTime, None), "GET /x")) == []


@dataclass
class _Field:
    annotation: Any
    kwarg_definition: Any


def test_what_was_recorded_always_reads_while_requests_are_checked() -> None:
    """A ``FrozenBody`` is also part of recorded events (a ballot's choice): read back from the log it is never
    refused, whatever it holds; it is checked inside the request that brings it."""
    from services.decisions.events import Choice
    from services.decisions.http.schemas import BallotIn

    odd = b'{"scores": {"hall\\u0000": 3}}'
    assert msgspec.json.decode(odd, type=Choice).scores == {"hall\x00": 3}
    with pytest.raises(msgspec.ValidationError, match=r"choice\.scores"):
        msgspec.json.decode(b'{"choice": ' + odd + b"}", type=BallotIn)
