"""Boards drawn as the terminal draws them, without a terminal: a published link's SVG and PNG
preview (`worker`), and a member's text drawing for `ballast show` and `dashboard_render` (`text`).

The server and the tools never import this package (the server and the TUI stay apart, and the
engine imports no Textual): they run `python -m ballast_tui.published.worker` or
`python -m ballast_tui.published.text` beside themselves and ask them for drawings.
"""
