"""The OpenAPI 3.1 document of the running app, served at ``GET /api/v1/openapi.json``.

It is generated, not written by hand: every route of the app's router when the
document is first asked for (so routes added by any module appear), plus one
path per tool, ``POST /api/v1/tools/{tool}``, whose request body is the tool's
own pydantic JSON Schema. Routes listed in `routes.ROUTE_DOCS` get their exact
answers; any other route gets a generic entry (its handler's docstring as the
summary, path parameters, and an undescribed answer), so nothing goes
unlisted. Errors always have the contract's shape, one schema per status
naming the codes that status may carry.

Modules: `schema` (constants, helpers, the contract's errors), `routes` (what is
known of each route), `router` (operations read from the router), `tools` (one
operation per tool), `document` (the whole, and its route).
"""

from ballast_server.openapi.document import build_openapi, openapi_json, setup_openapi
from ballast_server.openapi.schema import OPENAPI_PATH

__all__ = ["OPENAPI_PATH", "build_openapi", "openapi_json", "setup_openapi"]
