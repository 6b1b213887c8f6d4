"""Wording and writing: complete catalogues, and right-to-left text shaped and ordered."""

from __future__ import annotations

import pytest
from PIL import Image

from kiosk import i18n
from kiosk.text import LATIN, NEUTRAL, SCRIPT, ShapedLabel, font_path, register_fonts


def test_six_languages_ship_complete() -> None:
    shipped = i18n.shipped_languages()
    assert shipped[0] == "en" and set(shipped) >= {"en", "cy", "pl", "ro", "ur", "ar"}
    for code in shipped:
        if code != "en":
            assert list(i18n.problems(code)) == [], code


def test_messages_in_kv_files_are_found() -> None:
    ids = {m.id if isinstance(m.id, str) else m.id[0] for m in i18n.source_messages()}
    assert {"Back", "Larger text", "Done", "Start again"} <= ids  # from .kv files
    assert "Touch here to start" in ids and "Council tax" in ids  # N_() in Python


def test_language_facts_come_from_cldr() -> None:
    assert [(i18n.language(c).own_name, i18n.language(c).rtl) for c in ("cy", "ur", "ar")] == [
        ("Cymraeg", False),
        ("اردو", True),
        ("العربية", True),
    ]
    t = i18n.Translator("ar")
    minutes = [t.plural("Estimated wait: about {n} minute", "x", n) for n in (1, 2, 5)]
    assert "دقيقة واحدة" in minutes[0] and "دقيقتين" in minutes[1] and "5 دقائق" in minutes[2]


def _label(text: str, language: str) -> ShapedLabel:
    register_fonts()
    label = ShapedLabel(text=text, font_size=40, font_name="KioskSans", text_language=language)
    label.resolve_font_name()
    return label


def test_rtl_line_runs_are_in_visual_order() -> None:
    label = _label("رقمك (مثلاً BK-7Q2M4)", "ar")
    runs = label._visual_runs(label.text)
    # right to left: the reference ends up leftmost, the brackets mirrored around it
    assert runs == [
        ("(", NEUTRAL),
        ("BK-7Q2M4", LATIN),
        ("مثلاً ", SCRIPT),
        (")", NEUTRAL),
        ("رقمك ", SCRIPT),
    ]


def test_latin_words_in_an_rtl_line_stay_one_run_in_their_order() -> None:
    """A centre's name inside an Arabic label: "Leeds Merrion House" reads left to
    right as one run (it was cut at its spaces and shown "House Merrion Leeds")."""
    label = _label("مركز Leeds Merrion House للإسكان", "ar")
    runs = label._visual_runs(label.text)
    assert ("Leeds Merrion House", LATIN) in runs
    assert [kind for _run, kind in runs].count(LATIN) == 1


def test_urdu_is_shaped_in_nastaliq() -> None:
    label = _label("خوش آمدید", "ur")
    assert label._script_font().path == font_path("urdu")
    joined = label.get_extents("خوش")[0]
    apart = sum(label.get_extents(ch)[0] for ch in "خوش")
    assert joined < apart  # the letters join: shaped, not drawn one by one


@pytest.mark.parametrize("language", ["ur", "ar"])
def test_rtl_text_is_drawn_right_aligned(language: str) -> None:
    label = _label("خوش آمدید" if language == "ur" else "أهلًا وسهلًا", language)
    label.options["halign"] = "auto"
    label.options["text_size"] = (600, None)
    label.usersize = (600, None)
    label.refresh()
    texture = label.texture
    pixels = Image.frombytes("RGBA", texture.size, bytes(texture.pixels))
    alpha = pixels.getchannel("A")
    left, _top, right, _bottom = alpha.getbbox()
    assert right > texture.width - 40 and left > 200  # ink hugs the right edge
