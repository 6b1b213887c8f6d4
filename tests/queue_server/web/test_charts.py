"""The dashboard's hand-made charts in Chromium: a long service name on a horizontal
chart is shown whole, on as many lines as it needs, never cut with an ellipsis, and the
rows make room for it (issue #10, point 15: "Environmental health and licens…")."""

from __future__ import annotations

from typing import Any

LONG_NAMES = [
    "Housing and benefits",
    "Environmental health and licensing",
    "Council tax, business rates and benefit overpayments recovery",
    "Electoral registration",
]


async def test_long_category_names_wrap_instead_of_being_cut(staff_page: Any) -> None:
    page = await staff_page("/manager", "mina")
    labels = await page.evaluate(
        """(names) => {
            const figure = WalkinCharts.bars({
                id: "long-names", title: "Visitors by service", horizontal: true,
                categories: names, series: [{name: "Visitors", values: names.map((_, i) => i + 3)}],
                format: (v) => `${v}`, integer: true, categoryHeading: "Service",
            });
            document.body.append(figure);
            return [...figure.querySelectorAll("text.chart-label")].map((label) => {
                const box = label.getBoundingClientRect();
                return {
                    lines: [...label.querySelectorAll("tspan")].map((t) => t.textContent),
                    top: box.top, bottom: box.bottom, left: box.left,
                };
            });
        }""",
        LONG_NAMES,
    )
    shown = [" ".join(label["lines"]) for label in labels]
    assert shown == LONG_NAMES  # whole, in order
    assert not any("…" in text for text in shown)
    assert [len(label["lines"]) for label in labels][:2] == [1, 2]
    assert all(len(line) <= 30 for label in labels for line in label["lines"])
    for upper, lower in zip(labels, labels[1:], strict=False):
        assert upper["bottom"] <= lower["top"] + 1, (upper, lower)  # rows never overlap
    figure = page.locator("#long-names")
    assert await figure.locator("svg").evaluate("(s) => s.getBoundingClientRect().left") <= min(
        label["left"] for label in labels
    )  # nothing falls off the chart's left edge


async def test_a_word_longer_than_a_line_is_broken_not_lost(staff_page: Any) -> None:
    page = await staff_page("/manager", "mina")
    lines = await page.evaluate(
        "() => WalkinCharts.wrapLabel('Supercalifragilisticexpialidocious-and-more-things')"
    )
    assert all(len(line) <= 30 for line in lines)
    assert (
        "".join(line.rstrip("-") for line in lines)
        == "Supercalifragilisticexpialidocious-and-more-things"
    )
