"""Typed keys for what the application and each request hold (aiohttp's `AppKey`/`RequestKey`)."""

from __future__ import annotations

import weakref
from concurrent.futures import ThreadPoolExecutor

from aiohttp import web

from ballast_tui.engine.users import User
from ballast_tui.engine.workspace import Workspace
from ballast_tui.tools.registry import Registry

WORKSPACE = web.AppKey("workspace", Workspace)
"""The workspace the server serves; owned (and closed) by whoever created the app."""

REGISTRY = web.AppKey("registry", Registry)
"""The tool registry every route calls into."""

AUTH_POOL = web.AppKey("auth_pool", ThreadPoolExecutor)
"""A small thread pool for token checks (scrypt, SQLite), kept off the event loop."""

USER = web.RequestKey("user", User)
"""The authenticated user of a request (absent on public routes)."""

WEBSOCKETS: web.AppKey[weakref.WeakSet[web.WebSocketResponse]] = web.AppKey("websockets")
"""Every open WebSocket, closed when the server shuts down (a `WeakSet`: a closed one just goes)."""
