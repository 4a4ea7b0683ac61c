"""TPI Chart: charting trigger point injections at the point of care."""

import os

# Pydantic looks for plugins among the entry points of every installed distribution when the
# first model is built (about 10-15 ms of each start and command); TPI Chart uses none. Set
# before any submodule imports pydantic; a value already in the environment is kept.
os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")

__version__ = "0.2.0"
APP_NAME = "TPI Chart"
ORG_NAME = "TPI Chart"
