"""The pure parts of the insights: quantiles by nearest rank, the bar chart's geometry and
text alternative, the tables' CSV, and German and English number formats."""

from __future__ import annotations

from core.i18n import I18n
from insights.charts import WIDTH, bar_chart
from insights.figures import Spread, nearest_rank
from insights.tables import Column, Table, share


def test_nearest_rank() -> None:
    assert nearest_rank([], 0.5) is None
    assert nearest_rank([7], 0.9) == 7
    values = [600, 10, 90, 30]
    assert (nearest_rank(values, 0.5), nearest_rank(values, 0.9)) == (30, 600)
    assert nearest_rank(list(range(1, 101)), 0.9) == 90
    assert Spread.of([5, 1, 3]) == Spread(3, 3, 5)


def test_bar_chart_geometry_and_description() -> None:
    chart = bar_chart("channels", "Termine nach Weg", [
        ("Per Video", 6, "6"), ("Vor Ort", 2, "2"), ("Per Telefon", 0, "0")],
        "Balkendiagramm.")
    widths = [bar.width for bar in chart.bars]
    assert widths[0] == max(widths) and widths[2] == 0 and widths[1] == round(widths[0] / 3, 1)
    assert all(bar.value_x <= WIDTH - 40 for bar in chart.bars)
    assert [bar.bar_y for bar in chart.bars] == sorted(bar.bar_y for bar in chart.bars)
    assert chart.height > chart.bars[-1].bar_y
    assert chart.description == "Balkendiagramm. Per Video: 6; Vor Ort: 2; Per Telefon: 0"
    empty = bar_chart("none", "Leer", [], "Nichts.")
    assert empty.bars == () and empty.description == "Nichts." and empty.height >= 1


def test_csv_header_iso_and_dot_decimals() -> None:
    table = Table("fees", "Fees", (Column("kind", "label", "Fees"),
                                   Column("amount_cents", "cents", "Amount"),
                                   Column("share", "share", "Share")),
                  [("charged", 4750, share(1, 3)), ("paid", 5, None)])
    assert table.csv() == "kind,amount_cents,share\r\ncharged,4750,0.3333\r\npaid,5,\r\n"
    assert table.records()[1] == {"kind": "paid", "amount_cents": 5, "share": None}


def test_number_formats() -> None:
    i18n = I18n()
    de, en = i18n.translator("de"), i18n.translator("en")
    assert (de.number(1234567), de.number(2.26, 1), de.percent(0.125)) == (
        "1.234.567", "2,3", "12,5\xa0%")
    assert (en.number(1234567), en.percent(0.3333)) == ("1,234,567", "33.3\xa0%")
