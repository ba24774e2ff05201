"""Terminal cells as a PNG: the segments of a drawn screen painted on a fixed grid with Pillow.

Every character is placed on its own cell (10x20 px by default), so box
drawing, block elements and braille line up as they do in a terminal whatever
the font's own advance. The font is DejaVu Sans Mono, shipped with the
package, so the picture is the same on every machine.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from functools import cache
from importlib import resources

from PIL import Image, ImageDraw, ImageFont
from rich.color import blend_rgb
from rich.color_triplet import ColorTriplet
from rich.segment import Segment
from rich.style import Style
from rich.terminal_theme import SVG_EXPORT_THEME, TerminalTheme

CELL_W = 10
CELL_H = 20
FONT_SIZE = 17  # DejaVu Sans Mono's ascent + descent at 17 px is 20 px: vertical lines meet

FONT_FILES = {False: "DejaVuSansMono.ttf", True: "DejaVuSansMono-Bold.ttf"}

BRAILLE = range(0x2800, 0x2900)
# Braille dot bits, as (column, row) of the 2x4 dot grid (Unicode's order).
BRAILLE_DOTS = ((0, 0), (0, 1), (0, 2), (1, 0), (1, 1), (1, 2), (0, 3), (1, 3))


@cache
def _font(bold: bool) -> ImageFont.FreeTypeFont:
    data = resources.files("ballast_tui.published").joinpath("fonts", FONT_FILES[bold]).read_bytes()
    return ImageFont.truetype(io.BytesIO(data), FONT_SIZE)


def _colors(style: Style, theme: TerminalTheme) -> tuple[ColorTriplet, ColorTriplet]:
    """Foreground and background of a style, as Rich's own SVG export resolves them."""
    fg = theme.foreground_color if style.color is None or style.color.is_default else None
    bg = theme.background_color if style.bgcolor is None or style.bgcolor.is_default else None
    color = fg or style.color.get_truecolor(theme)  # type: ignore[union-attr]
    bgcolor = bg or style.bgcolor.get_truecolor(theme)  # type: ignore[union-attr]
    if style.reverse:
        color, bgcolor = bgcolor, color
    if style.dim:
        color = blend_rgb(color, bgcolor, 0.4)
    return color, bgcolor


def _braille(draw: ImageDraw.ImageDraw, left: int, top: int, bits: int, color: tuple[int, ...]) -> None:
    """One braille cell as its dots: two columns of four, each dot 3 px square."""
    for bit, (column, row) in enumerate(BRAILLE_DOTS):
        if bits & (1 << bit):
            x, y = left + 2 + column * 4, top + 1 + row * 5
            draw.rectangle((x, y, x + 2, y + 2), fill=color)


def paint(
    lines: Iterable[list[Segment]],
    size: tuple[int, int],
    *,
    theme: TerminalTheme = SVG_EXPORT_THEME,
    background: tuple[int, int, int] | None = None,
    padding: tuple[int, int] = (0, 5),
) -> bytes:
    """A PNG of exactly `size` pixels with `lines` (rows of segments) painted from the top left.

    Rows and columns beyond the picture are cut; the rest of it is `background`
    (by default the background of the first cell, so the margins match the screen).
    """
    width, height = size
    lines = list(lines)
    if background is None and lines and lines[0]:
        background = tuple(_colors(lines[0][0].style or Style(), theme)[1])  # type: ignore[assignment]
    fill = background or tuple(theme.background_color)
    image = Image.new("RGB", size, fill)
    draw = ImageDraw.Draw(image)
    pad_x, pad_y = padding
    for row, line in enumerate(lines):
        top = pad_y + row * CELL_H
        if top >= height:
            break
        column = 0
        for text, style, control in line:
            if control:
                continue
            color, bgcolor = _colors(style or Style(), theme)
            font = _font(bool(style and style.bold))
            for char in text:
                left = pad_x + column * CELL_W
                if left >= width:
                    break
                draw.rectangle((left, top, left + CELL_W - 1, top + CELL_H - 1), fill=tuple(bgcolor))
                if ord(char) in BRAILLE:  # the font has no braille: plotext's lines are dots
                    _braille(draw, left, top, ord(char) - BRAILLE.start, tuple(color))
                elif not char.isspace():
                    draw.text((left, top), char, font=font, fill=tuple(color))
                column += 1
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()
