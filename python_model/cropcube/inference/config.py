"""Which bundle to use when the caller names none (the same chain as the C++ kernel's)."""

from __future__ import annotations

import os
from pathlib import Path

from cropcube.errors import InputError


def _config_files() -> list[Path]:
    files = []
    if os.environ.get("CROPCUBE_CONFIG"):
        files.append(Path(os.environ["CROPCUBE_CONFIG"]))
    if os.environ.get("RMANHOME"):
        files.append(Path(os.environ["RMANHOME"]) / "etc" / "cropcube.conf")
    if os.environ.get("XDG_CONFIG_HOME"):
        files.append(Path(os.environ["XDG_CONFIG_HOME"]) / "cropcube" / "kernel.conf")
    else:
        files.append(Path.home() / ".config" / "cropcube" / "kernel.conf")
    return files


def _model_from_config(path: Path) -> str | None:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError:
        return None
    for line in lines:
        key, sep, value = line.split("#", 1)[0].partition("=")
        if sep and key.strip() == "model" and value.strip():
            return value.strip()
    return None


def resolve_model_path(model: str | os.PathLike[str] | None = None) -> Path:
    """The bundle to load.

    Order: ``model``; ``$CROPCUBE_MODEL``; the ``model = PATH`` line of the first config file that has
    one (``$CROPCUBE_CONFIG``, ``$RMANHOME/etc/cropcube.conf``, ``$XDG_CONFIG_HOME/cropcube/kernel.conf``
    or ``~/.config/cropcube/kernel.conf``); the shipped demo bundle.

    Raises:
        InputError: the chosen file does not exist, or ``$CROPCUBE_CONFIG`` names a missing file.
    """
    if model is not None and str(model):
        chosen, source = Path(model), "model"
    elif os.environ.get("CROPCUBE_MODEL"):
        chosen, source = Path(os.environ["CROPCUBE_MODEL"]), "$CROPCUBE_MODEL"
    else:
        config = os.environ.get("CROPCUBE_CONFIG")
        if config and not Path(config).is_file():
            raise InputError("$CROPCUBE_CONFIG", f"config file {config} does not exist")
        found = next(((c, m) for c in _config_files() if (m := _model_from_config(c))), None)
        if found:
            chosen, source = Path(found[1]), f"config file {found[0]}"
        else:
            from cropcube.models import default_bundle_path

            chosen, source = default_bundle_path(), "the shipped demo bundle"
    if not chosen.is_file():
        raise InputError(str(chosen), f"bundle file does not exist (chosen from {source})")
    return chosen
