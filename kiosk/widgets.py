"""The kiosk's building blocks; their looks are in ``kv/widgets.kv``.

* :class:`Text` — every label: shaped and ordered right for Urdu and Arabic
  (:mod:`kiosk.text`), in the visitor's language, wrapping to its width.
* :class:`Icon` — a Material icon glyph, drawn as text in the theme's colour.
* :class:`BigButton` — icon, label and an optional second line; at least
  ``app.min_touch`` high (15 mm at kiosk density); mirrored for right-to-left.
* :class:`Toggle` — an on/off setting whose state shows as a ticked or empty box
  and the words, not by colour alone.
* :class:`QRCode` — a QR code for a phone, always dark on light with its quiet zone.
"""

from __future__ import annotations

from io import BytesIO
from typing import Any

import qrcode
from kivy.clock import Clock
from kivy.core.image import Image as CoreImage
from kivy.properties import BooleanProperty, ListProperty, NumericProperty, StringProperty
from kivy.uix.behaviors import ButtonBehavior
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.image import Image
from kivy.uix.label import Label

from .icons import glyph
from .text import ShapedLabel


class Text(Label):
    """A label drawn by :class:`kiosk.text.ShapedLabel` (markup is not supported)."""

    def _create_label(self) -> None:
        if isinstance(self._label, ShapedLabel):
            return
        options = {name: getattr(self, name) for name in self._font_properties}
        options["usersize"] = self.text_size
        if self.disabled:
            options["color"] = self.disabled_color
        self._label = ShapedLabel(**options)


class Icon(Text):
    name = StringProperty("")

    def on_name(self, _widget: object, name: str) -> None:
        self.text = glyph(name)

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)
        self.text = glyph(self.name)


class MirrorBox(BoxLayout):
    """A box whose row of children runs right to left when ``rtl`` is true."""

    rtl = BooleanProperty(False)
    _mirrored = False
    _ready = False

    def on_kv_post(self, _base: Any) -> None:
        self._ready = True
        self._sync()

    def on_rtl(self, *_args: Any) -> None:
        if self._ready:
            self._sync()

    def on_orientation(self, *_args: Any) -> None:
        if self._ready:
            self._sync()

    def _sync(self) -> None:
        # only a row is mirrored; a column reads top to bottom in every language
        wanted = self.rtl and self.orientation == "horizontal"
        if wanted != self._mirrored:
            children = list(self.children)
            self.clear_widgets()
            for child in children:  # children are newest first: re-adding reverses them
                self.add_widget(child)
            self._mirrored = wanted


class BigButton(ButtonBehavior, MirrorBox):
    text = StringProperty("")
    subtext = StringProperty("")
    icon = StringProperty("")
    #: "primary" (filled), "secondary" (outlined), "quiet" (for back and toggles)
    kind = StringProperty("primary")
    #: an identifier for tests and for the controller: a service code, a key, ...
    value = StringProperty("")
    font_scale = NumericProperty(1.0)
    #: the language of the label, when not the visitor's (the language buttons)
    lang = StringProperty("")
    #: as wide as its words (no wrapping), rather than as wide as its place
    fit = BooleanProperty(False)
    #: at least this high (a share of the space), if its words need less
    fill_height = NumericProperty(0)
    #: under 1 when the longest word of ``text`` is wider than its line at full size:
    #: the words are drawn a little smaller (down to ``MIN_WORD_FIT``) rather than
    #: broken in the middle ("Environmenta" / "l health" in a narrow button)
    word_fit = NumericProperty(1.0)

    MIN_WORD_FIT = 0.6

    def on_kv_post(self, base: Any) -> None:
        super().on_kv_post(base)
        label = self.ids.main_label
        self._refit = Clock.create_trigger(self._fit_words, -1)
        label.bind(width=self._refit, text=self._refit, texture_size=self._refit)

    def _fit_words(self, *_args: Any) -> None:
        label = self.ids.main_label
        core = label._label
        if self.fit or not label.text or label.width <= 1 or core is None:
            return
        full = label.font_size / self.word_fit  # the size it has when its words fit
        words = label.text.split()
        # Kivy breaks a word wider than the line (its extents, at the whole pixel size
        # it draws at); the largest whole size at which none is, measured, not scaled
        drawn = core.options["font_size"]
        size = int(full)
        try:
            while size > full * self.MIN_WORD_FIT:
                core.options["font_size"] = size
                if max(core.get_extents(word)[0] for word in words) <= label.width:
                    break
                size -= 1
        finally:
            core.options["font_size"] = drawn
        fit = 1.0 if size == int(full) else max(self.MIN_WORD_FIT, size / full)
        if fit != self.word_fit:
            self.word_fit = fit


class Toggle(ButtonBehavior, MirrorBox):
    text = StringProperty("")
    icon = StringProperty("")
    active = BooleanProperty(False)
    value = StringProperty("")
    #: the height its words need (kv); a row of toggles is as tall as its tallest
    natural_height = NumericProperty(0)


class Panel(BoxLayout):
    """A boxed area with the theme's panel colour (a notice, the typed reference)."""

    border_color = ListProperty([0, 0, 0, 1])


class QRCode(Image):
    data = StringProperty("")

    def on_data(self, _widget: object, data: str) -> None:
        if not data:
            self.texture = None
            return
        code = qrcode.QRCode(
            border=4, box_size=10, error_correction=qrcode.constants.ERROR_CORRECT_M
        )
        code.add_data(data)
        code.make(fit=True)
        picture = code.make_image(fill_color="black", back_color="white").convert("RGB")
        buffer = BytesIO()
        picture.save(buffer, format="png")
        buffer.seek(0)
        texture = CoreImage(buffer, ext="png").texture
        texture.mag_filter = "nearest"  # crisp modules, not a blur
        texture.min_filter = "nearest"
        self.texture = texture
