"""``BoardText``: a line of text (or a paragraph wrapped to its width) drawn from a cache
of textures, for a board that must draw a call within a frame or two without a GPU.

Kivy's ``Label`` is the board's dearest part on Mesa's software OpenGL (llvmpipe), in
three ways this widget avoids:

- a ``Label`` renders its texture again when its *colour* changes, and the flash of a new
  call changes three labels' colours four times. Here the texture is white and the
  colour is a ``Color`` instruction in front of it: a flash re-renders nothing;
- a ``Label`` writes new text into the texture it already has when the size is the same
  ("H023" -> "H024"), and writing into a texture that a frame still being rasterised
  reads waits for that frame (30-50 ms at 1920x1080). Here each new text gets a new
  texture, and a text shown before (a counter's name, a heading) gets its old one back
  from the cache, drawn once;
- with ``text_size: self.size`` a ``Label``'s texture is the whole widget, mostly
  transparent pixels that software GL blends on every frame. Here the texture is the
  text's own extent, placed by ``halign``/``valign``.

Import only after Kivy is configured.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from kivy.clock import Clock
from kivy.core.text import Label as CoreLabel
from kivy.graphics import Color, Rectangle
from kivy.graphics.texture import Texture
from kivy.properties import (
    BooleanProperty,
    ColorProperty,
    ListProperty,
    NumericProperty,
    ObjectProperty,
    OptionProperty,
    StringProperty,
)
from kivy.uix.widget import Widget

#: textures kept for re-use: the board's headings, counters at two sizes, the numbers and
#: captions of the last few calls (a 24-vmin number at 1080p is about 0.8 MB)
CACHED_TEXTURES = 96


class LruCache:
    """Keeps the ``size`` most recently used values: ``get(key, make)`` returns the
    cached value or ``make()``'s; ``made`` counts the calls to ``make``."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[tuple[Any, ...], Any] = OrderedDict()
        self.made = 0

    def get(self, key: tuple[Any, ...], make: Any) -> Any:
        try:
            self._items.move_to_end(key)
            return self._items[key]
        except KeyError:
            value = self._items[key] = make()
            self.made += 1
            while len(self._items) > self.size:
                self._items.popitem(last=False)
            return value


TEXTURES = LruCache(CACHED_TEXTURES)
WIDTHS = LruCache(4 * CACHED_TEXTURES)


def text_width(text: str, font_name: str, font_size: float, bold: bool) -> int:
    """The width of ``text`` on one line, in pixels (cached)."""

    def measure() -> int:
        label = CoreLabel(font_name=font_name, font_size=font_size, bold=bold)
        return int(label.get_extents(text)[0])

    return int(WIDTHS.get((text, font_name, round(font_size, 2), bold), measure))


def text_texture(
    text: str,
    font_name: str,
    font_size: float,
    bold: bool,
    width: int | None = None,
    wrap: bool = False,
    halign: str = "left",
) -> Texture:
    """A white texture of ``text`` (cached). ``width``: the most it may take, or None;
    a line too long is shortened with an ellipsis unless ``wrap``, which breaks it onto
    several lines aligned by ``halign``."""

    def render() -> Texture:
        label = CoreLabel(
            text=text,
            font_name=font_name,
            font_size=font_size,
            bold=bold,
            color=(1, 1, 1, 1),
            text_size=(width, None),
            halign=halign if wrap else "left",
            shorten=not wrap and width is not None,
            shorten_from="right",
            split_str="",  # cut anywhere ("Riverside Customer S…"), as Label does
        )
        label.refresh()  # a new texture, filled when first drawn
        return label.texture

    key = (text, font_name, round(font_size, 2), bold, width, wrap, halign)
    return TEXTURES.get(key, render)


class BoardText(Widget):
    """Text in a box: one line, shortened with an ellipsis if it does not fit, or
    (``wrap``) as many lines as it needs within the width."""

    text = StringProperty("")
    font_name = StringProperty("BoardSans")
    font_size = NumericProperty(15)
    bold = BooleanProperty(False)
    #: changing it costs nothing: the texture is white, tinted when drawn
    color = ColorProperty([1, 1, 1, 1])
    halign = OptionProperty("left", options=["left", "center", "right"])
    valign = OptionProperty("middle", options=["top", "middle", "bottom"])
    wrap = BooleanProperty(False)
    texture = ObjectProperty(None, allownone=True)
    texture_size = ListProperty([0, 0])

    def __init__(self, **kwargs: Any) -> None:
        self._limit: int | None = None
        # before the frame is drawn, after this frame's property changes (and layout)
        self._render_soon = Clock.create_trigger(self._render, -1)
        super().__init__(**kwargs)
        with self.canvas:
            self._tint = Color(rgba=self.color)
            self._rect = Rectangle(size=(0, 0))
        for name in ("text", "font_name", "font_size", "bold", "wrap"):
            self.fbind(name, self._render_soon)
        self.fbind("width", self._width_changed)
        self.fbind("halign", self._halign_changed)
        for name in ("pos", "size", "valign", "texture_size"):
            self.fbind(name, self._place)
        self.fbind("color", self._recolour)
        self._render_soon()

    def _wanted_limit(self) -> int | None:
        if not self.text:
            return None
        if self.wrap:
            return max(1, int(self.width))
        natural = text_width(self.text, self.font_name, self.font_size, self.bold)
        return max(1, int(self.width)) if natural > self.width else None

    def _width_changed(self, *_: Any) -> None:
        if self._wanted_limit() != self._limit:
            self._render_soon()
        else:
            self._place()

    def _halign_changed(self, *_: Any) -> None:
        if self.wrap:  # the lines are aligned inside the texture
            self._render_soon()
        else:
            self._place()

    def _render(self, *_: Any) -> None:
        self._limit = self._wanted_limit()
        if self.text:
            self.texture = text_texture(
                self.text,
                self.font_name,
                self.font_size,
                self.bold,
                self._limit,
                self.wrap,
                self.halign,
            )
            self.texture_size = list(self.texture.size)
        else:
            self.texture = None
            self.texture_size = [0, 0]
        self._rect.texture = self.texture
        self._place()

    def _place(self, *_: Any) -> None:
        width, height = self.texture_size
        if self.halign == "center":
            x = self.center_x - width / 2
        elif self.halign == "right":
            x = self.right - width
        else:
            x = self.x
        if self.valign == "top":
            y = self.top - height
        elif self.valign == "bottom":
            y = self.y
        else:
            y = self.center_y - height / 2
        self._rect.pos = (int(x), int(y))
        self._rect.size = (width, height)

    def _recolour(self, *_: Any) -> None:
        self._tint.rgba = self.color
