"""rasdaman Python UDF ``crop.classify``: a bootstrap. The logic is ``cropcube.rasdaman.udf.python_udf``.

Registered (enterprise edition) with::

    create function crop.classify (array cube) returns array language python extern "crop.py"

``cropcube rasdaman deploy --language python`` installs this file with ``SITE`` set to the folders
cropcube, torch and numpy are imported from, for a rasdaman whose Python does not already see them.
"""

from __future__ import annotations

import sys
from typing import Any

SITE: tuple[str, ...] = ()  # written by `cropcube rasdaman deploy`; keep on one line


def classify(cube: Any) -> Any:
    """Crop class per (E, N) cell of the array rasdaman passes (see ``python_udf.classify``)."""
    for folder in reversed(SITE):
        if folder not in sys.path:
            sys.path.insert(0, folder)
    try:
        from cropcube.rasdaman.udf.python_udf import classify as run
    except ImportError as exc:
        raise ValueError(
            f"crop.classify: cannot import cropcube ({exc}); deploy with `cropcube rasdaman deploy "
            "--language python`, which writes its folders into this file"
        ) from None
    return run(cube)
