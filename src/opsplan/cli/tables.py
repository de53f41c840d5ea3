"""Tables for people on any terminal width: cells wrap (a long word folds) instead of being cut,
so a failure reason or a metric name is never hidden behind an ellipsis; `--json` is for scripts."""

from __future__ import annotations

from collections.abc import Collection, Sequence

from rich.cells import cell_len
from rich.table import Table
from rich.text import Text

Cell = str | Text  # a Text when the cell has a style (a failed status in red)


def wrapping_table(headers: Sequence[str], rows: Sequence[Sequence[Cell]], *, whole: Collection[int] = (),
                   right: Collection[int] = (), title: str | None = None) -> Table:
    """A borderless table whose cells wrap. Columns listed in `whole` (indexes) are never broken:
    each keeps its widest cell's width (a metric name, a time) and the other columns wrap around
    them; `right` columns are right-aligned (figures)."""
    table = Table(box=None, title=title, title_justify="left", title_style="bold", header_style="bold",
                  pad_edge=False)
    for index, header in enumerate(headers):
        widest = max([cell_len(header)] + [cell_len(str(row[index])) for row in rows])
        table.add_column(header, overflow="fold", no_wrap=index in whole, min_width=widest if index in whole else None,
                         justify="right" if index in right else "left")
    for row in rows:
        table.add_row(*row)
    return table
