"""TPI Chart: charting trigger point injections at the point of care."""

from tpi_chart import pydantic_plugins

# Before any submodule imports pydantic: no plugin is handed the patients' data.
pydantic_plugins.install()

__version__ = "0.2.0"
APP_NAME = "TPI Chart"
ORG_NAME = "TPI Chart"
