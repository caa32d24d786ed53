"""The ONE configuration reader of every run mode: the environment plus one config file.

The C++ twin is ``udf/src/config.cpp`` (used by the kernel and the C++ UDF). Both follow the rules
below and are held to one case table (``tests/inference/config_cases.json``) by
``tests/inference/test_config_rules.py``.

- The config file is ``$CROPCUBE_CONFIG`` when set (it must exist), else the first regular file of
  ``$RMANHOME/etc/cropcube.conf``, ``$XDG_CONFIG_HOME/cropcube/kernel.conf`` (or
  ``~/.config/cropcube/kernel.conf``). Only that one file is read.
- Lines are ``key = value``; ``#`` starts a comment; blank lines are ignored. Keys: ``model``,
  ``threads``, ``device``, ``precision``, ``tile_size``, ``batch_size``. An unknown key,
  a line without ``=``, an empty value, a key given twice or a bad value is an error naming the file,
  the line and the key.
- ``$CROPCUBE_MODEL``, ``$CROPCUBE_THREADS``, ``$CROPCUBE_DEVICE``, ``$CROPCUBE_PRECISION``,
  ``$CROPCUBE_TILE_SIZE`` and ``$CROPCUBE_BATCH_SIZE`` (when non-empty) override the file; a bad value is
  an error naming the variable.
- A relative ``model`` in a config file is relative to the file's folder.
- Values: threads 0..4096 (0 = library default), tile_size 0..16384 (0 = default), batch_size 0..1024
  (0 = default), device auto|cpu|cuda, precision auto|float32|bfloat16|float16.

A value left unset is None: each run mode picks its own default (the UDFs run one thread per server
process unless told otherwise, see ``UDF_DEFAULT_THREADS``).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from cropcube.errors import InputError

CONFIG_ENV = "CROPCUBE_CONFIG"
CONFIG_NAME = "cropcube.conf"
KEYS = ("model", "threads", "device", "precision", "tile_size", "batch_size")
ENV = {
    "model": "CROPCUBE_MODEL",
    "threads": "CROPCUBE_THREADS",
    "device": "CROPCUBE_DEVICE",
    "precision": "CROPCUBE_PRECISION",
    "tile_size": "CROPCUBE_TILE_SIZE",
    "batch_size": "CROPCUBE_BATCH_SIZE",
}
DEVICES = ("auto", "cpu", "cuda")
PRECISIONS = ("auto", "float32", "bfloat16", "float16")
_RANGES = {
    "threads": (4096, "an integer in 0..4096 (0 = library default)"),
    "tile_size": (16384, "an integer in 0..16384 (0 = default)"),
    "batch_size": (1024, "an integer in 0..1024 (0 = default)"),
}
_SPACE = " \t\r\n"  # what both readers trim
UDF_DEFAULT_THREADS = 1
"""Threads per server process when the configuration sets none (measured: docs/udf.md "Thread budget")."""


@dataclass(frozen=True)
class Settings:
    """What the environment and the config file set; None = unset (the run mode's default applies).

    Attributes:
        config_file: the file read, or None.
        model: bundle path, or None.
        model_source: where ``model`` came from (for messages).
        threads, tile_size, batch_size: integers as documented above.
        device: ``auto``, ``cpu`` or ``cuda``.
        precision: ``auto``, ``float32``, ``bfloat16`` or ``float16``.
    """

    config_file: Path | None = None
    model: str | None = None
    model_source: str = ""
    threads: int | None = None
    device: str | None = None
    precision: str | None = None
    tile_size: int | None = None
    batch_size: int | None = None

    def as_text(self) -> dict[str, str]:
        """Every setting as text, "" when unset (the form the C++ ``cropcube_config`` tool prints)."""
        return {
            "config_file": str(self.config_file or ""),
            "model": self.model or "",
            "threads": "" if self.threads is None else str(self.threads),
            "device": self.device or "",
            "precision": self.precision or "",
            "tile_size": "" if self.tile_size is None else str(self.tile_size),
            "batch_size": "" if self.batch_size is None else str(self.batch_size),
        }


def _value(key: str, value: str) -> str | int | None:
    """The parsed value, or None when ``value`` is not valid for ``key``."""
    if key in _RANGES:
        if not value.isascii() or not value.isdigit() or len(value) > 9 or int(value) > _RANGES[key][0]:
            return None
        return int(value)
    if key == "device":
        return value if value in DEVICES else None
    if key == "precision":
        return value if value in PRECISIONS else None
    return value


def _expected(key: str) -> str:
    if key in _RANGES:
        return _RANGES[key][1]
    return "one of " + ", ".join(DEVICES if key == "device" else PRECISIONS)


def _env(environ: Mapping[str, str], name: str) -> str | None:
    return environ.get(name) or None


def find_config_file(environ: Mapping[str, str] | None = None) -> Path | None:
    """The config file the settings are read from (see the module docstring), or None.

    Raises:
        InputError: ``$CROPCUBE_CONFIG`` names a missing file or not a regular file.
    """
    env = os.environ if environ is None else environ
    explicit = _env(env, CONFIG_ENV)
    if explicit:
        try:
            mode = Path(explicit).stat().st_mode
        except OSError:
            raise InputError(f"${CONFIG_ENV}", f"config file {explicit} does not exist") from None
        if not stat.S_ISREG(mode):
            raise InputError(f"${CONFIG_ENV}", f"config file {explicit} is not a regular file")
        return Path(explicit)
    candidates = []
    if _env(env, "RMANHOME"):
        candidates.append(f"{env['RMANHOME']}/etc/{CONFIG_NAME}")
    if _env(env, "XDG_CONFIG_HOME"):
        candidates.append(f"{env['XDG_CONFIG_HOME']}/cropcube/kernel.conf")
    elif _env(env, "HOME"):
        candidates.append(f"{env['HOME']}/.config/cropcube/kernel.conf")
    return next((Path(c) for c in candidates if Path(c).is_file()), None)


def _read_file(path: Path) -> tuple[dict[str, object], str]:
    try:
        text = path.read_bytes().decode("utf-8", "surrogateescape")
    except OSError as exc:
        raise InputError(f"config file {path}", f"cannot be read ({exc.strerror})") from None
    values: dict[str, object] = {}
    lines: dict[str, int] = {}
    model_source = ""
    for number, raw in enumerate(text.split("\n"), start=1):  # the C++ reader's getline()
        where = f"config file {path} line {number}"
        line = raw.split("#", 1)[0].strip(_SPACE)
        if not line:
            continue
        key, sep, value = line.partition("=")
        key, value = key.strip(_SPACE), value.strip(_SPACE)
        if not sep:
            raise InputError(where, f"'{line}' is not 'key = value'")
        if key not in KEYS:
            raise InputError(where, f"unknown key '{key}' (known: {', '.join(KEYS)})")
        if key in lines:
            raise InputError(where, f"'{key}' is set again (first on line {lines[key]})")
        lines[key] = number
        if not value:
            raise InputError(where, f"'{key}' has no value")
        parsed = _value(key, value)
        if parsed is None:
            raise InputError(where, f"{key} = '{value}' is not {_expected(key)}")
        if key == "model":
            folder, slash, _ = str(path).rpartition("/")  # textually, as the C++ reader does
            parsed = value if value.startswith("/") else folder + slash + value
            model_source = where
        values[key] = parsed
    return values, model_source


def read_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """The settings of this process: the config file, overridden by the environment.

    Args:
        environ: the environment to read (default ``os.environ``).

    Raises:
        InputError: a missing ``$CROPCUBE_CONFIG`` file, an unreadable config file, a bad line or
            value (naming file, line and key), or a bad environment value (naming the variable).
    """
    env = os.environ if environ is None else environ
    config_file = find_config_file(env)
    values: dict[str, object] = {}
    model_source = ""
    if config_file is not None:
        values, model_source = _read_file(config_file)
    for key, name in ENV.items():
        raw = _env(env, name)
        if raw is None:
            continue
        parsed = _value(key, raw)
        if parsed is None:
            raise InputError(f"${name}", f"'{raw}' is not {_expected(key)}")
        values[key] = parsed
        if key == "model":
            model_source = f"${name}"
    return Settings(config_file=config_file, model_source=model_source, **values)  # type: ignore[arg-type]


def resolve_model_path(model: str | os.PathLike[str] | None = None) -> Path:
    """The bundle to load.

    Order: ``model``; the settings (``$CROPCUBE_MODEL``, else the config file's ``model``); the shipped
    demo bundle.

    Raises:
        InputError: the chosen file does not exist, or the settings are invalid.
    """
    if model is not None and str(model):
        chosen, source = Path(model), "model"
    else:
        settings = read_settings()
        if settings.model:
            chosen, source = Path(settings.model), settings.model_source
        else:
            from cropcube.models import default_bundle_path

            chosen, source = default_bundle_path(), "the shipped demo bundle"
    if not chosen.is_file():
        raise InputError(str(chosen), f"bundle file does not exist (chosen from {source})")
    return chosen
