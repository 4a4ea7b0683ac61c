"""One calm, high-contrast clinical theme: a light palette and a small stylesheet.

Touch targets are at least 34 px (about 9 mm at 96 dpi, product.md §3) so a gloved finger or a
hurried click lands. Colours carry meaning only together with text or a glyph.
"""

from __future__ import annotations

from PySide6.QtGui import QColor, QFont, QPalette
from PySide6.QtWidgets import QApplication

from tpi_chart.domain.resources import resource_path

TOUCH = 34  # minimum height of anything clickable, in px

INK = "#1d2731"
MUTED = "#56636f"
PAPER = "#f6f7f8"
CARD = "#ffffff"
LINE = "#cfd6dc"
ACCENT = "#1f6fb2"
ACCENT_DARK = "#175a91"
OK = "#1d7a46"
WARN = "#a15c00"
WARN_BG = "#fff4e0"
DANGER = "#b3261e"
DANGER_BG = "#fdecea"
SELECTION = "#d6e8f7"
FACT_BG = "#eef1f4"

# Spin box arrows drawn from files: once a style sheet styles a spin box, Qt draws no arrows.
ARROW_UP = resource_path("ui/arrow-up.svg").as_posix()
ARROW_DOWN = resource_path("ui/arrow-down.svg").as_posix()

STYLESHEET = f"""
QWidget {{ color: {INK}; }}
QMainWindow, QStackedWidget > QWidget {{ background: {PAPER}; }}
QToolTip {{ color: {INK}; background: {CARD}; border: 1px solid {LINE}; padding: 4px; }}
QPushButton, QToolButton {{
    min-height: {TOUCH}px; padding: 0 12px; border: 1px solid {LINE}; border-radius: 6px;
    background: {CARD};
}}
QPushButton:hover, QToolButton:hover {{ border-color: {ACCENT}; }}
QPushButton:checked, QToolButton:checked {{
    background: {ACCENT}; color: white; border-color: {ACCENT_DARK};
}}
QPushButton:disabled, QToolButton:disabled {{ color: #9aa5ae; background: #eef0f2; }}
QPushButton[role="primary"] {{
    background: {ACCENT}; color: white; border-color: {ACCENT_DARK}; font-weight: 600;
}}
QPushButton[role="primary"]:disabled {{ background: #9dbbd6; color: white; }}
QPushButton[role="nrs"] {{ min-width: 34px; padding: 0; font-weight: 600; }}
QLineEdit, QComboBox, QSpinBox, QDoubleSpinBox, QDateEdit, QPlainTextEdit {{
    min-height: {TOUCH - 4}px; border: 1px solid {LINE}; border-radius: 4px; padding: 0 6px;
    background: {CARD};
}}
QLineEdit:focus, QComboBox:focus, QSpinBox:focus, QDoubleSpinBox:focus, QDateEdit:focus,
QPlainTextEdit:focus {{
    border: 2px solid {ACCENT};
}}
QAbstractSpinBox {{ padding-right: 24px; }}
QAbstractSpinBox::up-button, QAbstractSpinBox::down-button {{
    subcontrol-origin: border; width: 22px; background: {FACT_BG}; border-left: 1px solid {LINE};
}}
QAbstractSpinBox::up-button {{ subcontrol-position: top right; border-top-right-radius: 4px; }}
QAbstractSpinBox::down-button {{
    subcontrol-position: bottom right; border-bottom-right-radius: 4px;
}}
QAbstractSpinBox::up-button:hover, QAbstractSpinBox::down-button:hover {{
    background: {SELECTION};
}}
QAbstractSpinBox::up-arrow {{ image: url({ARROW_UP}); width: 10px; height: 6px; }}
QAbstractSpinBox::down-arrow {{ image: url({ARROW_DOWN}); width: 10px; height: 6px; }}
QPushButton:focus, QToolButton:focus {{ border: 2px solid {ACCENT_DARK}; }}
QCheckBox:focus, QRadioButton:focus {{ background: {SELECTION}; border-radius: 4px; }}
QTableView:focus, QListView:focus, QTreeView:focus {{ border: 2px solid {ACCENT}; }}
QWidget[role="nrsRow"]:focus {{ border: 2px solid {ACCENT_DARK}; border-radius: 4px; }}
QLineEdit[invalid="true"], QComboBox[invalid="true"], QDateEdit[invalid="true"],
QDoubleSpinBox[invalid="true"] {{ border: 2px solid {DANGER}; }}
QLabel[role="error"] {{ color: {DANGER}; }}
QLabel[role="muted"] {{ color: {MUTED}; }}
QLabel[role="title"] {{ font-size: 17px; font-weight: 600; }}
QLabel[role="section"] {{ font-weight: 600; color: {MUTED}; text-transform: uppercase; }}
QLabel[role="big"] {{ font-size: 20px; font-weight: 600; }}
QLabel[role="fact"] {{
    color: {INK}; background: {FACT_BG}; border: 1px solid {LINE}; border-radius: 4px;
    padding: 2px 8px;
}}
QLabel[role="fact-alert"] {{
    color: {DANGER}; background: {DANGER_BG}; border: 1px solid {DANGER}; border-radius: 4px;
    padding: 2px 8px; font-weight: 600;
}}
QFrame[role="card"] {{ background: {CARD}; border: 1px solid {LINE}; border-radius: 8px; }}
QFrame[role="banner-error"] {{
    background: {DANGER_BG}; border: 1px solid {DANGER}; border-radius: 6px;
}}
QFrame[role="banner-warn"] {{
    background: {WARN_BG}; border: 1px solid {WARN}; border-radius: 6px;
}}
QTableView, QListView, QTreeView {{
    background: {CARD}; border: 1px solid {LINE}; border-radius: 6px; gridline-color: #e4e8eb;
    selection-background-color: {SELECTION}; selection-color: {INK};
}}
QHeaderView::section {{
    background: #eef1f4; color: {MUTED}; border: none; border-bottom: 1px solid {LINE};
    padding: 4px 6px; font-weight: 600;
}}
QTabWidget::pane {{ border: 1px solid {LINE}; border-radius: 6px; background: {CARD}; top: -1px; }}
QTabBar::tab {{
    min-height: {TOUCH - 4}px; padding: 0 14px; border: 1px solid {LINE}; border-bottom: none;
    border-top-left-radius: 6px; border-top-right-radius: 6px; background: #eef1f4;
    margin-right: 2px;
}}
QTabBar::tab:selected {{ background: {CARD}; font-weight: 600; }}
QProgressBar {{
    border: 1px solid {LINE}; border-radius: 4px; background: #eef1f4; text-align: center;
    min-height: 10px; max-height: 10px;
}}
QProgressBar::chunk {{ background: {OK}; border-radius: 3px; }}
QProgressBar[level="near"]::chunk {{ background: {WARN}; }}
QProgressBar[level="over"]::chunk {{ background: {DANGER}; }}
QCheckBox {{ min-height: 28px; spacing: 8px; }}
QCheckBox::indicator {{ width: 20px; height: 20px; }}
QGroupBox {{ border: 1px solid {LINE}; border-radius: 6px; margin-top: 12px; padding-top: 6px;
    background: {CARD}; }}
QGroupBox::title {{ subcontrol-origin: margin; left: 8px; padding: 0 4px; color: {MUTED};
    font-weight: 600; }}
QStatusBar {{ background: #eef1f4; }}
"""


#: Given to a new QApplication, which then starts with the Fusion style at no cost; choosing it
#: with `setStyle` afterwards has PySide6 wrap the style and build its many enums (9 ms before
#: the sign-in dialog's first paint).
STYLE_ARGUMENTS = ("-style", "Fusion")


def apply_theme(app: QApplication, *, style_chosen: bool = False) -> None:
    """Palette + stylesheet + a legible default font for the whole application, on the Fusion
    style (`style_chosen`: the application was started with `STYLE_ARGUMENTS`)."""
    if not style_chosen:
        app.setStyle("Fusion")
    palette = QPalette()
    palette.setColor(QPalette.ColorRole.Window, QColor(PAPER))
    palette.setColor(QPalette.ColorRole.WindowText, QColor(INK))
    palette.setColor(QPalette.ColorRole.Base, QColor(CARD))
    palette.setColor(QPalette.ColorRole.AlternateBase, QColor("#f3f6f8"))
    palette.setColor(QPalette.ColorRole.Text, QColor(INK))
    palette.setColor(QPalette.ColorRole.Button, QColor(CARD))
    palette.setColor(QPalette.ColorRole.ButtonText, QColor(INK))
    palette.setColor(QPalette.ColorRole.Highlight, QColor(SELECTION))
    palette.setColor(QPalette.ColorRole.HighlightedText, QColor(INK))
    palette.setColor(QPalette.ColorRole.ToolTipBase, QColor(CARD))
    palette.setColor(QPalette.ColorRole.ToolTipText, QColor(INK))
    palette.setColor(QPalette.ColorRole.PlaceholderText, QColor(MUTED))
    palette.setColor(QPalette.ColorRole.Link, QColor(ACCENT))
    app.setPalette(palette)
    font = QFont(app.font())
    if font.pointSizeF() < 10.5:
        font.setPointSizeF(10.5)
    app.setFont(font)
    app.setStyleSheet(STYLESHEET)


def repolish(widget: object) -> None:
    """Re-apply the stylesheet after a dynamic property (role, invalid, level) changed."""
    style = widget.style()  # type: ignore[attr-defined]
    style.unpolish(widget)
    style.polish(widget)
