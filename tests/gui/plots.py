"""What the tests read off pyqtgraph plots."""
import pyqtgraph as pg


def plot_notes(plot) -> list[str]:
    """The plain text of each note (TextItem) shown in a PlotWidget: an empty plot says what fills it."""
    return [item.textItem.toPlainText() for item in plot.getPlotItem().items
            if isinstance(item, pg.TextItem) and item.isVisible()]
