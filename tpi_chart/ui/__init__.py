"""ui layer."""

from tpi_chart.ui import qt_feature

# Before any window module imports PySide6's classes and the app's own modules after them.
qt_feature.install()
