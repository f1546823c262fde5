"""Horizontal bar charts drawn by the server as inline SVG (no chart library, no script, no style
attribute): each row is a label and its value on one line and a bar below it, the bar's width a
percentage of the largest value, so the chart reads at 360 px and at desk width alike."""

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

ROW_HEIGHT = 40  # px: a 14 px line of text, then a 12 px bar, then space
TEXT_Y = 15
BAR_Y = 21
BAR_HEIGHT = 12


@dataclass(frozen=True)
class Bar:
    label: str
    value: str
    width: float  # percent of the chart's width, 0–100
    y: int
    highlight: bool = False

    @property
    def text_y(self) -> int:
        return self.y + TEXT_Y

    @property
    def bar_y(self) -> int:
        return self.y + BAR_Y


@dataclass(frozen=True)
class BarChart:
    title: str
    bars: list[Bar]
    tone: str = "blue"

    @property
    def height(self) -> int:
        return ROW_HEIGHT * len(self.bars)

    @property
    def bar_height(self) -> int:
        return BAR_HEIGHT


def bar_chart(
    title: str,
    rows: list[Any],
    *,
    label: str,
    value: str,
    shown: Any = None,
    tone: str = "blue",
    highlight: Any = None,
) -> BarChart:
    """A chart of `rows` (dicts or objects): the bar of each is `row[value]` against the largest one
    (negative values draw no bar); `shown(row)` writes the number beside it (default: as is)."""

    def get(row: Any, key: str) -> Any:
        return row[key] if isinstance(row, dict) else getattr(row, key)

    numbers = [Decimal(str(get(row, value) or 0)) for row in rows]
    largest = max([n for n in numbers if n > 0], default=Decimal(0))
    bars = []
    for index, (row, number) in enumerate(zip(rows, numbers, strict=True)):
        width = float(round(number / largest * 100, 1)) if largest and number > 0 else 0.0
        bars.append(
            Bar(
                label=str(get(row, label)),
                value=shown(row) if shown else str(get(row, value)),
                width=width,
                y=index * ROW_HEIGHT,
                highlight=bool(highlight and highlight(row)),
            )
        )
    return BarChart(title=title, bars=bars, tone=tone)
