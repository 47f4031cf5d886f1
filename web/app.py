"""The members' web app (port 8100): Litestar with Jinja2 templates, htmx served by copro itself.

Every page and form works without JavaScript; htmx (vendored in
``web/static``) only makes some steps quicker. It is a client of the three
services' public HTTP APIs and nothing more (an import contract keeps it out
of ``services``).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, pass_context
from jinja2.runtime import Context
from litestar import Litestar, Request, Response, get
from litestar.config.csrf import CSRFConfig
from litestar.contrib.jinja import JinjaTemplateEngine
from litestar.datastructures import ResponseHeader
from litestar.di import Provide
from litestar.exceptions import MethodNotAllowedException, NotFoundException, PermissionDeniedException
from litestar.middleware.session.client_side import CookieBackendConfig
from litestar.response import Redirect
from litestar.static_files import create_static_files_router
from litestar.template.config import TemplateConfig

from shared.runtime.settings import Settings, load_settings
from web.api import Api, ApiError
from web.catalogue import plain, translator
from web.pages import PAGES
from web.render import page, when, zone
from web.session import Me, NotSignedIn, web_secret, who

HERE = Path(__file__).parent
log = logging.getLogger(__name__)
HEADERS = [
    ResponseHeader(name="Content-Security-Policy", value=(
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "frame-ancestors 'none'; form-action 'self'; base-uri 'none'")),
    ResponseHeader(name="X-Content-Type-Options", value="nosniff"),
    ResponseHeader(name="Referrer-Policy", value="no-referrer"),  # sign-in codes are in links: never pass them on
]


@get("/healthz", exclude_from_csrf=True, sync_to_thread=False)
def healthz() -> dict[str, str]:
    return {"status": "ok"}


def _not_signed_in(request: Request[Any, Any, Any], _: Exception) -> Response[Any]:
    return Redirect("/welcome", status_code=303)


def _api_error(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    assert isinstance(exc, ApiError)
    status = exc.status if exc.status in (400, 403, 404, 409, 410, 413, 422, 429) else 502
    return page(request, "problem.html", None, status=status, detail=exc.detail)


def _stale_form(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """The form's anti-forgery token is missing or old (a page kept open past a browser restart): a page that says
    what to do, not a line of JSON."""
    return page(request, "problem.html", None, status=403, detail=translator()(
        "This form was opened too long ago or in another window. Go back, reload the page and send it again."))


def _wrong_method(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """A form's address opened as a page (reloaded, or bookmarked after a refusal)."""
    return page(request, "problem.html", None, status=405, detail=translator()(
        "This address only receives forms. Go back to the page the form was on."))


def _unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """A bug: logged with its traceback for the operator, a plain page for the member (never a stack trace)."""
    log.error("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
    return page(request, "problem.html", None, status=500, detail=translator()(
        "Something went wrong on our side. It has been noted; please try again, or ask your facilitator."))


def _not_found(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    return page(request, "problem.html", None, status=404, detail=translator()("There is no such page."))


def environment(settings: Settings) -> Environment:
    env = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=True, undefined=StrictUndefined,
                      trim_blocks=True, lstrip_blocks=True)
    installation = settings.time_zone

    @pass_context
    def in_zone(context: Context, value: str | datetime | None, with_time: bool = True) -> str:
        """A time in the signed-in member's group's zone (the installation's on pages for no group)."""
        me = context.get("me")
        return when(value, me.tz if isinstance(me, Me) else zone(installation), with_time)

    env.globals.update(_=translator(), plain=plain, tz_name=installation, when=in_zone)
    return env


def create_app() -> Litestar:
    settings = load_settings()
    api = Api.connect(settings)
    secret = web_secret(settings)
    secure = settings.web_base.startswith("https://")

    async def provide_me(request: Request[Any, Any, Any]) -> Me:
        return await who(request, api)

    return Litestar(
        route_handlers=[healthz, *PAGES, create_static_files_router("/static", [HERE / "static"], name="static",
                                                                    include_in_schema=False)],
        template_config=TemplateConfig(engine=JinjaTemplateEngine.from_environment(environment(settings))),
        middleware=[CookieBackendConfig(secret=secret, key="copro_session", httponly=True, samesite="lax",
                                        secure=secure, max_age=int(timedelta(days=30).total_seconds())).middleware],
        csrf_config=CSRFConfig(secret=secret.hex(), cookie_name="copro_csrf", cookie_secure=secure,
                               cookie_httponly=True, cookie_samesite="lax", header_name="x-csrftoken"),
        dependencies={"api": Provide(lambda: api, sync_to_thread=False), "me": Provide(provide_me),
                      "settings": Provide(lambda: settings, sync_to_thread=False)},
        exception_handlers={NotSignedIn: _not_signed_in, ApiError: _api_error, NotFoundException: _not_found,
                            PermissionDeniedException: _stale_form, MethodNotAllowedException: _wrong_method,
                            500: _unexpected},
        response_headers=HEADERS,
        on_shutdown=[api.close],
        openapi_config=None,
        logging_config=None,  # the process's logging is copro's (shared/runtime/logs.py), as in the services
    )
