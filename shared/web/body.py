"""Reading a request body: whatever bytes arrive, a body that cannot be read is a 400 problem, never a 500.

Litestar decodes JSON with msgspec and turns only ``msgspec.DecodeError`` into
a client error; invalid UTF-8 inside a string (``UnicodeDecodeError``) and
nesting deeper than the decoder's recursion limit (``RecursionError``) escaped
as 500s. This request class is where every body is first read, so it is where
that is fixed, once, for every route of every service.
"""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request
from litestar.exceptions import SerializationException, ValidationException
from litestar.types import Empty

from shared.domain.errors import CoproError
from shared.domain.input import FrozenBody, check_input


class MalformedBody(CoproError):
    """The body is not JSON that can be read: bad syntax, invalid UTF-8, or nested too deep."""

    status = 400
    slug = "malformed-body"


class StrictRequest(Request[Any, Any, Any]):
    async def json(self) -> Any:
        """The body decoded straight into the route's ``data`` type, strictly.

        Litestar would decode to plain values and then convert them leniently (``strict=False``): ``"10"``
        became 10, ``0`` a time in 1970, ``"true"`` True. Decoding into the type at once refuses every such
        value with the field named; Litestar's conversion passes the decoded struct through unchanged.
        """
        field = self.route_handler.parsed_data_field
        try:
            if field is None:
                return await super().json()
            if self._json is Empty:
                decoded = msgspec.json.decode(await self.body(), type=field.annotation)
                if isinstance(decoded, FrozenBody):  # a Body checks itself as it is made; this one, here
                    try:
                        check_input(decoded)
                    except ValueError as exc:
                        raise msgspec.ValidationError(str(exc)) from None
                self._json = decoded
            return self._json
        except msgspec.ValidationError as exc:
            raise ValidationException(str(exc), extra=[{"message": str(exc), "key": "data", "source": "body"}]) from None
        except RecursionError:
            raise MalformedBody("the JSON body is nested too deeply", field="body") from None
        except UnicodeDecodeError as exc:
            raise MalformedBody(f"the body is not valid UTF-8 (byte {exc.start})", field="body") from None
        except (msgspec.DecodeError, SerializationException) as exc:
            raise MalformedBody(f"the body is not valid JSON: {exc}", field="body") from None



