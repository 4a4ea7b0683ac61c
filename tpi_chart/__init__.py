"""TPI Chart: charting trigger point injections at the point of care."""

__version__ = "0.2.0"
APP_NAME = "TPI Chart"
ORG_NAME = "TPI Chart"
