"""The docs UI at ``/schema`` and the OpenAPI document it shows, served entirely by copro.

Litestar's render plugins load their scripts, styles and favicon from a CDN,
so without internet access ``/schema`` was a blank page. Swagger UI is
vendored in ``shared/web/swagger_ui/`` (version and licence in its
``VENDORED.md``) and served from ``/schema/assets/``; the page embeds the
finished document (``shared/web/openapi.py``) and loads nothing from elsewhere.
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

from litestar import Request, Response, Router, get
from litestar.enums import MediaType, OpenAPIMediaType
from litestar.exceptions import NotFoundException
from litestar.openapi.plugins import OpenAPIRenderPlugin

from shared.web.openapi import openapi_document

SWAGGER_UI_VERSION = "5.35.0"
ASSETS = Path(__file__).with_name("swagger_ui")
_MEDIA_TYPES = {".js": "text/javascript", ".css": "text/css", ".png": "image/png"}  # Litestar adds the charset
_SERVED = {p.name: p for p in ASSETS.iterdir() if p.suffix in _MEDIA_TYPES}


@get("/assets/{name:str}", include_in_schema=False)
async def docs_asset(name: str) -> Response[bytes]:
    """One vendored file of Swagger UI (cached by browsers for a day)."""
    path = _SERVED.get(name)
    if path is None:
        raise NotFoundException("no such asset")
    return Response(path.read_bytes(), media_type=_MEDIA_TYPES[path.suffix],
                    headers={"Cache-Control": "public, max-age=86400"})


class OpenAPIJson(OpenAPIRenderPlugin):
    """``/schema/openapi.json``: the finished document, not Litestar's raw one."""

    def __init__(self) -> None:
        super().__init__(path="/openapi.json", media_type=OpenAPIMediaType.OPENAPI_JSON)

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        return self.render_json(request, openapi_document(request.app))


class LocalSwaggerUI(OpenAPIRenderPlugin):
    """Swagger UI from copro's own assets, with the bearer token box ("Authorize") the security scheme enables."""

    def __init__(self) -> None:
        super().__init__(path=["/", "/swagger"], media_type=MediaType.HTML, favicon="", style="")

    def receive_router(self, router: Router) -> None:
        router.register(docs_asset)

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        document = openapi_document(request.app)
        assets = f"{request.scope.get('root_path', '')}/schema/assets"
        spec = json.dumps(document).replace("</", "<\\/")  # nothing in a summary can end the script
        return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(document["info"]["title"])}</title>
<link rel="icon" type="image/png" href="{assets}/favicon-32x32.png">
<link rel="stylesheet" href="{assets}/swagger-ui.css">
<style>body {{ margin: 0 }}</style>
</head>
<body>
<div id="swagger-ui"></div>
<script src="{assets}/swagger-ui-bundle.js"></script>
<script src="{assets}/swagger-ui-standalone-preset.js"></script>
<script>
window.ui = SwaggerUIBundle({{
  spec: {spec},
  dom_id: "#swagger-ui",
  deepLinking: true,
  validatorUrl: null,
  persistAuthorization: true,
  presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
  layout: "BaseLayout"
}});
</script>
</body>
</html>
""".encode()
