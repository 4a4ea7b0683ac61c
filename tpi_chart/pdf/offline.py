"""pyHanko without its HTTP clients.

TPI Chart signs with the clinic's own authority and validates offline: the authority's
revocation list is in the clinic's database and pyHanko's validation context is made with
`allow_fetching=False` (`pdf.pades`). Nothing in this app ever asks a server for a timestamp, a
certificate or revocation data.

pyHanko imports its aiohttp clients whether they are used or not (`pyhanko.sign.timestamps` and
`pyhanko.sign.validation.ades` at module level), and with them aiohttp, yarl, multidict and
their kin: about 380 ms of pyHanko's import and 9 MiB resident here, paid by the first signature
of each window and by every `tpi-chart sign` and `verify` (measured: CHANGELOG, issue 15).
The stand-ins below take those two modules' places before pyHanko is imported. Each refuses to
be constructed, so a fetch is impossible in this process rather than merely switched off: a
forged certificate's CRL or CA-issuer address is never requested.

Installed by the `tpi_chart.pdf` package itself, so it is in place before `pdf.pades` imports
pyHanko; a process that imported pyHanko's real clients first keeps them.
"""

from __future__ import annotations

import sys
from types import ModuleType


class OfflineOnly(RuntimeError):
    """Something asked pyHanko for a network client: a bug here, never a user's mistake."""


class _Refused:
    def __init__(self, *_args: object, **_kwargs: object) -> None:
        raise OfflineOnly(
            f"TPI Chart signs and verifies offline; pyHanko's {type(self).__name__} is not "
            "available in this app"
        )


class HTTPTimeStamper(_Refused):
    """Stands in for `pyhanko.sign.timestamps.aiohttp_client.HTTPTimeStamper`."""


class AIOHttpFetcherBackend(_Refused):
    """Stands in for `pyhanko_certvalidator.fetchers.aiohttp_fetchers.AIOHttpFetcherBackend`."""


#: Module name -> what the rest of pyHanko imports from it.
STAND_INS: dict[str, dict[str, type[_Refused]]] = {
    "pyhanko.sign.timestamps.aiohttp_client": {"HTTPTimeStamper": HTTPTimeStamper},
    "pyhanko_certvalidator.fetchers.aiohttp_fetchers": {
        "AIOHttpFetcherBackend": AIOHttpFetcherBackend
    },
}


def install() -> None:
    for name, names in STAND_INS.items():
        if name in sys.modules:
            continue
        module = ModuleType(name, f"TPI Chart's offline stand-in ({__name__})")
        module.__dict__.update(names)
        module.__all__ = list(names)  # type: ignore[attr-defined]
        sys.modules[name] = module
