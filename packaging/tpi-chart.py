"""Entry script of the desktop bundle (PyInstaller analyses from here)."""

from tpi_chart.app import main

raise SystemExit(main())
