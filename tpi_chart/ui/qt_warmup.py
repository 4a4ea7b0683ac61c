"""PySide6's classes made ready while the sign-in dialog waits for the person.

PySide6 builds a Qt class's Python type, with every enum of it, the first time Python touches the
class; some touches build dozens: the first QStyle (its 11 enums), the first widget returned by
a call such as `viewport()` (PySide6 looks for its most derived class and builds the widget
classes it passes, QWizard and QFileDialog among them), the first brush (QGradient's 180
presets) and the first QAction. The main window touches all of them as it opens, after Sign in
is pressed: 63 enums, about 20 ms of its 180 ms with the last visit reopened.

`warm_up` touches them before, on the GUI thread (a PySide6 type must not be built on two threads
at once; the app's background import has finished by then), while the person types: a fraction
of the second they take. Nothing it makes is shown or kept.
"""

from __future__ import annotations

from PySide6.QtGui import QAction, QBrush, QColor
from PySide6.QtWidgets import QApplication, QGraphicsView


def warm_up() -> None:
    QApplication.style()
    view = QGraphicsView()
    view.viewport()
    QBrush(QColor("#000000"))
    QAction("warm-up", view)  # text and parent, as the window's: that overload names QIcon
    view.deleteLater()
