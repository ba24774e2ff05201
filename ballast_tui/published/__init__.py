"""Published links drawn as the terminal draws them: the page's SVG and its PNG preview.

The server never imports this package (the server and the TUI stay apart): it
runs `python -m ballast_tui.published.worker` beside itself and asks it for
drawings.
"""
