"""The Textual app: a shell holding the backend, the bindings and the screen stack.

Everything a person sees is a screen (`screens/`) or a widget (`widgets/`);
they reach the engine only through `self.app.backend`.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import threading
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

from textual.app import App
from textual.binding import Binding
from textual.notifications import SeverityLevel

from ballast_tui.backend import Backend
from ballast_tui.crash import record_crash
from ballast_tui.engine.errors import ToolError
from ballast_tui.screens.dashboard import DashboardScreen
from ballast_tui.startup import resume_collector

HANGUP_EXIT = 128 + signal.SIGHUP
HANGUP_GRACE_S = 3.0
"""A hung-up app exits within this long even if stopping cleanly blocks; the server lock goes with it,
well within the time a relaunched app waits for the workspace (`opening.WAIT_FOR_SERVER_S`)."""
SERVICES_AT_LATEST_S = 3.0
"""The embedded server starts when the first screen is drawn, or this long after launch at the latest."""
Service = Callable[[], Awaitable[Callable[[], Awaitable[None]]]]
"""Something to run beside the app on its loop: started once the first screen is drawn, answering its
stop function."""


class BallastApp(App[None]):
    """Ballast: reactive dashboards in the terminal."""

    CSS_PATH = "app.tcss"
    TITLE = "Ballast"
    BINDINGS = [
        Binding("ctrl+q", "quit", "Quit", priority=True),
        Binding("f1", "help", "Help"),
    ]

    def __init__(
        self,
        backend: Backend,
        dashboard_id: str | None = None,
        services: Sequence[Service] = (),
        crash_log: Path | None = None,
    ) -> None:
        super().__init__()
        self.backend = backend
        self.crash_log = crash_log
        """Where the traceback of an unexpected error goes (None: Textual prints it on exit)."""
        self.crash: Exception | None = None
        """The unexpected error the app stopped on, if it did."""
        self.crash_logged: Path | None = None
        """Where its traceback was written, when it was."""
        self.start_dashboard = dashboard_id
        self.services = list(services)
        self._stops: list[Callable[[], Awaitable[None]]] = []
        self._services: asyncio.Task[None] | None = None

    def start_services(self) -> None:
        """Start the services (the embedded server) on the app's loop, once: called when the first
        screen is drawn, so serving never delays what the person sees first."""
        resume_collector()  # the process has started (see `ballast_tui.startup`)
        if self._services is None:
            self._services = asyncio.create_task(self._start_services())

    async def _start_services(self) -> None:
        for start in self.services:
            try:
                self._stops.append(await start())
            except Exception as error:  # the app still works on its own files; say why others cannot join
                self.notify(f"the embedded server did not start: {error}", severity="error", timeout=15)

    def on_mount(self) -> None:
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            # The terminal went away (a dropped SSH session): stop serving, then exit.
            asyncio.get_running_loop().add_signal_handler(signal.SIGHUP, self._hung_up)
        self.sub_title = f"{self.backend.session.user_name} · {self.backend.session.where}"
        if self.start_dashboard:
            # The board alone: the list of boards is made when the person leaves it (a faster first paint).
            self.push_screen(DashboardScreen(self.start_dashboard))
        else:
            from ballast_tui.screens.dashboards import DashboardsScreen  # (not needed to open a board)

            self.push_screen(DashboardsScreen())
        # The first screen starts them once drawn; this is for a first screen that never is.
        self.set_timer(SERVICES_AT_LATEST_S, self.start_services)

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = True,
    ) -> None:
        """Show a notification, its text exactly as given: messages carry names, titles and errors
        that users and agents wrote, so they are never read as markup (`markup` is ignored)."""
        super().notify(message, title=title, severity=severity, timeout=timeout, markup=False)

    def show_error(self, error: Exception) -> None:
        """Tell the person what was refused, in the contract's words."""
        if isinstance(error, ToolError):
            self.notify(error.message, title=error.code.replace("_", " "), severity="error", timeout=8)
        else:
            self.notify(str(error) or type(error).__name__, title="error", severity="error", timeout=8)

    def _handle_exception(self, error: Exception) -> None:
        """An unhandled error stops the app (exit status 1, Textual's rule). With a crash log, its
        traceback is written there instead of filling the terminal; `ballast` then says so in one line."""
        if self.crash is None:
            self.crash = error
            if self.crash_log is not None:
                self.crash_logged = record_crash(error, self.crash_log)
        super()._handle_exception(error)
        if self.crash_logged is not None:
            self._exit_renderables.clear()

    def action_help(self) -> None:
        self.action_show_help_panel()

    def _hung_up(self) -> None:
        # With the terminal gone, Textual's own shutdown can block writing to it for ever (seen:
        # its writer queue full of frames for a closed pty). Whatever happens, the process ends.
        deadline = threading.Timer(HANGUP_GRACE_S, os._exit, args=(HANGUP_EXIT,))
        deadline.daemon = True
        deadline.start()
        self.run_worker(self._stop_then_exit(HANGUP_EXIT), group="hangup", exclusive=True)

    async def _stop_then_exit(self, code: int) -> None:
        await self._stop_services()
        self.exit(return_code=code)

    async def _stop_services(self) -> None:
        if self._services is not None:
            await self._services  # a service half started is stopped once it is whole
        stops, self._stops = self._stops, []
        for stop in reversed(stops):
            await stop()

    async def on_unmount(self) -> None:
        await self.backend.close()
        await self._stop_services()
