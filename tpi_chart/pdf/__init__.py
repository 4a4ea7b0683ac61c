"""pdf layer: the note drawn by reportlab, signed and validated by pyHanko (offline: the
stand-ins of `pdf.offline` are installed before anything here imports pyHanko)."""

from tpi_chart.pdf import offline

offline.install()
