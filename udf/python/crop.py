"""rasdaman Python UDFs ``crop.classify`` and ``crop.classify_dates``: a bootstrap.

The logic is ``cropcube.rasdaman.udf.python_udf``. Registered (enterprise edition) with::

    create function crop.classify (array cube) returns array language python extern "crop.py"
    create function crop.classify_dates (array cube, array doy) returns array language python extern "crop.py"

``crop.classify(cube)`` runs the bundle's default dates; ``crop.classify_dates(cube, doy)`` takes the
day of year of each of the cube's dates (docs/udf.md "Dates").

``cropcube rasdaman deploy --language python`` installs this file with ``SITE`` set to the folders
cropcube, torch and numpy are imported from, for a rasdaman whose Python does not already see them.
"""

from __future__ import annotations

import sys
from typing import Any

SITE: tuple[str, ...] = ()  # written by `cropcube rasdaman deploy`; keep on one line


def _logic(function: str) -> Any:
    """The module with the UDFs' logic, from the deployed folders."""
    for folder in reversed(SITE):
        if folder not in sys.path:
            sys.path.insert(0, folder)
    try:
        from cropcube.rasdaman.udf import python_udf
    except ImportError as exc:
        raise ValueError(
            f"{function}: cannot import cropcube ({exc}); deploy with `cropcube rasdaman deploy "
            "--language python`, which writes its folders into this file"
        ) from None
    return python_udf


def classify(cube: Any) -> Any:
    """Crop class per (E, N) cell of the array rasdaman passes (see ``python_udf.classify``)."""
    return _logic("crop.classify").classify(cube)


def classify_dates(cube: Any, doy: Any) -> Any:
    """Crop class per (E, N) cell, the cube's dates given as day of year (``python_udf.classify_dates``)."""
    return _logic("crop.classify_dates").classify_dates(cube, doy)
