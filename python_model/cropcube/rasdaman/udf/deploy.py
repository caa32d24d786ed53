"""Deploying the ``crop.classify`` UDF into a rasdaman enterprise installation: the plan.

:func:`plan_deploy` and :func:`plan_undeploy` return the exact steps (builds, file installs, the
config file, service restarts, rasql statements and a smoke query) as plain data, so that tests and
``--dry-run`` show them without a server; :mod:`cropcube.rasdaman.udf.executor` runs them.

Layout in the installation (``$RMANHOME``)::

    share/rasdaman/udf/crop.so                 C++ UDF (language cpp), symbol `classify`
    share/rasdaman/udf/libcropcube_kernel.so   the inference kernel crop.so loads ($ORIGIN)
    share/rasdaman/udf/crop.py                 Python UDF (language python), function `classify`
    share/rasdaman/udf/cropcube/<bundle>.pt    the model bundle
    share/rasdaman/petascope/udf/crop.jar      WCPS class crop.Classify
    etc/cropcube.conf                          model = ... (settings of inference/config.py)

Deploying is idempotent: files are replaced atomically and the function is deleted before it is
created, so running it again upgrades in place.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from cropcube.errors import InputError

NAMESPACE = "crop"
FUNCTION_NAME = "classify"
FUNCTION = f"{NAMESPACE}.{FUNCTION_NAME}"
CPP_LIBRARY = "crop.so"
KERNEL_LIBRARY = "libcropcube_kernel.so"
PYTHON_MODULE = "crop.py"
JAVA_ARCHIVE = "crop.jar"
CONFIG_NAME = "cropcube.conf"
LANGUAGES = ("cpp", "python")
DELETE_STATEMENT = f"delete function {FUNCTION}"
DATES_FUNCTION = f"{NAMESPACE}.classify_dates"
"""``crop.classify_dates(cube, doy)``: the cube's dates as day of year (docs/udf.md "Dates")."""
DATES_DELETE_STATEMENT = f"delete function {DATES_FUNCTION}"
NOT_REGISTERED = ("not found", "441")
"""Answers of ``delete function`` meaning "nothing to delete" (rasdaman error 441)."""

PLACEHOLDER_RMANHOME = Path("$RMANHOME")
"""Where a dry run without an installation prints the installation's paths."""

SMOKE_DOMAIN = "[10:13,20:24]"
"""A non-zero origin: the smoke query checks that the result keeps the input's domain."""


def create_statement(language: str) -> str:
    """The rasql statement registering the UDF in ``language`` (``cpp`` or ``python``)."""
    if language not in LANGUAGES:
        raise InputError("--language", f"{language!r} is not one of {LANGUAGES}")
    extern = CPP_LIBRARY if language == "cpp" else PYTHON_MODULE
    return f'create function {FUNCTION} (array cube) returns array language {language} extern "{extern}"'


def create_dates_statement(language: str) -> str:
    """The rasql statement registering ``crop.classify_dates`` in ``language``."""
    extern = CPP_LIBRARY if language == "cpp" else PYTHON_MODULE
    return (
        f"create function {DATES_FUNCTION} (array cube, array doy) returns array language {language} "
        f'extern "{extern}"'
    )


def smoke_statement(n_channels: int = 28) -> str:
    """A query that needs no data: classify a constant 28-band array with a non-zero origin."""
    cell = "{" + ", ".join(f"{1000 + 37 * k}us" for k in range(n_channels)) + "}"
    return f"select sdom({FUNCTION}(marray i in {SMOKE_DOMAIN} values {cell}))"


@dataclass(frozen=True)
class RunCommand:
    """Run a program (argv, no shell)."""

    argv: tuple[str, ...]
    why: str
    cwd: Path | None = None


@dataclass(frozen=True)
class InstallFile:
    """Copy ``source`` to ``target`` atomically (temporary name, then rename)."""

    source: Path
    target: Path
    why: str
    mode: int = 0o644


@dataclass(frozen=True)
class WriteFile:
    """Write ``text`` to ``target`` atomically."""

    target: Path
    text: str
    why: str


@dataclass(frozen=True)
class RemoveFile:
    """Remove ``target`` if it exists."""

    target: Path
    why: str


@dataclass(frozen=True)
class RemoveFolder:
    """Remove ``target`` and everything in it, if it exists (only folders cropcube owns)."""

    target: Path
    why: str


@dataclass(frozen=True)
class Rasql:
    """Run a rasql statement; answers containing one of ``ignore`` are not errors."""

    statement: str
    why: str
    ignore: tuple[str, ...] = ()
    expect: str | None = None
    """Text the answer must contain (smoke checks)."""


Step = RunCommand | InstallFile | WriteFile | RemoveFile | RemoveFolder | Rasql


def project_root() -> Path:
    """The source checkout this package runs from (``udf/`` lives there)."""
    return Path(__file__).resolve().parents[4]


@dataclass(frozen=True)
class RasdamanPaths:
    """Where a rasdaman installation keeps what the UDF needs."""

    rmanhome: Path

    @property
    def udf_dir(self) -> Path:
        """UDF files (``.so`` and ``.py``)."""
        return self.rmanhome / "share" / "rasdaman" / "udf"

    @property
    def bundle_dir(self) -> Path:
        """The installed model bundle."""
        return self.udf_dir / "cropcube"

    @property
    def petascope_udf_dir(self) -> Path:
        """Petascope's WCPS UDF classes."""
        return self.rmanhome / "share" / "rasdaman" / "petascope" / "udf"

    @property
    def war(self) -> Path:
        """Petascope's web application (for compiling the WCPS class)."""
        return self.rmanhome / "share" / "rasdaman" / "war" / "rasdaman.war"

    @property
    def config(self) -> Path:
        """The cropcube config file the UDFs read."""
        return self.rmanhome / "etc" / CONFIG_NAME


@dataclass(frozen=True)
class DeployOptions:
    """What to deploy where.

    Attributes:
        rmanhome: the rasdaman installation.
        model: the bundle to install.
        language: ``cpp`` (crop.so) or ``python`` (crop.py) behind ``crop.classify``.
        source: the cropcube checkout (``udf/`` sources).
        build_dir: CMake build folder for crop.so.
        torch_cmake_prefix: CMake prefix of libtorch (the installed torch wheel).
        python_path: folders where rasdaman's Python finds cropcube and its dependencies (Python UDF).
        restart: commands that restart rasdaman (rasservers load crop.so/crop.py and the bundle once per
            process; petascope loads WCPS classes at start); empty for no restart.
        wcps: also build and install the petascope class (needs petascope's war and a JDK).
        register: restart rasdaman, register the function and run the smoke query; False = build and
            install only (e.g. while building a container image, before any server runs).
    """

    rmanhome: Path
    model: Path
    language: str = "cpp"
    source: Path = field(default_factory=project_root)
    build_dir: Path | None = None
    torch_cmake_prefix: str = ""
    python_path: tuple[Path, ...] = ()
    restart: tuple[tuple[str, ...], ...] | None = None
    wcps: bool = True
    register: bool = True

    @property
    def paths(self) -> RasdamanPaths:
        """The installation's folders."""
        return RasdamanPaths(self.rmanhome)

    def build_folder(self) -> Path:
        """The CMake build folder (default ``udf/build-rasdaman``)."""
        return self.build_dir or self.source / "udf" / "build-rasdaman"

    def restart_commands(self) -> tuple[tuple[str, ...], ...]:
        """The restart commands (default: rasdaman's stop and start scripts)."""
        if self.restart is not None:
            return self.restart
        bin_dir = self.rmanhome / "bin"
        return ((str(bin_dir / "stop_rasdaman.sh"),), (str(bin_dir / "start_rasdaman.sh"),))


def deploy_options(
    rmanhome: Path | None,
    model: Path | None,
    *,
    language: str = "cpp",
    build_dir: Path | None = None,
    restart: tuple[tuple[str, ...], ...] | None = None,
    wcps: bool = True,
    register: bool = True,
    dry_run: bool = False,
) -> DeployOptions:
    """The options of a (un)deployment from what a user gives (None = the defaults).

    Args:
        rmanhome: the installation; None only in a dry run (then the plan shows ``$RMANHOME/...``).
        model: the bundle to install (default: the packaged one).
        language: ``cpp`` or ``python``.
        build_dir: CMake build folder for crop.so.
        restart: restart commands (None = rasdaman's scripts, ``()`` = none).
        wcps: also the petascope class.
        register: restart, register and smoke-test (False = build and install only).
        dry_run: only a plan will be printed.

    Raises:
        InputError: no installation outside a dry run (the plans check the rest).
    """
    if rmanhome is None:
        if not dry_run:
            raise InputError("--rmanhome", "not given and $RMANHOME is not set")
        rmanhome = PLACEHOLDER_RMANHOME  # a dry run only prints the plan
    else:
        rmanhome = rmanhome.resolve()
    from cropcube.models import default_bundle_path  # imports torch: only when deploying

    return DeployOptions(
        rmanhome=rmanhome,
        model=(model or default_bundle_path()).resolve(),
        language=language,
        build_dir=build_dir.resolve() if build_dir else None,
        torch_cmake_prefix=default_torch_prefix(),
        python_path=default_python_path(),
        restart=restart,
        wcps=wcps,
        register=register,
    )


def _check(opts: DeployOptions, need_model: bool) -> None:
    if opts.language not in LANGUAGES:
        raise InputError("--language", f"{opts.language!r} is not one of {LANGUAGES}")
    if opts.rmanhome != PLACEHOLDER_RMANHOME and not opts.rmanhome.is_dir():
        raise InputError(str(opts.rmanhome), "RMANHOME is not a folder (set $RMANHOME or --rmanhome)")
    if need_model and not opts.model.is_file():
        raise InputError(str(opts.model), "model bundle does not exist")
    if not (opts.source / "udf" / "rasdaman" / "CMakeLists.txt").is_file():
        raise InputError(str(opts.source), "not a cropcube source checkout (no udf/rasdaman/CMakeLists.txt)")


def config_text(model: Path) -> str:
    """The ``$RMANHOME/etc/cropcube.conf`` the UDFs read (``key = value`` lines, see inference/config.py)."""
    return (
        "# Written by `cropcube rasdaman deploy`. crop.classify re-reads this file when it changes.\n"
        "# Keys: model, threads (per server process; default 1), device, precision, tile_size, batch_size.\n"
        f"model = {model}\n"
    )


def bootstrap_text(source: Path, python_path: Sequence[Path] = ()) -> str:
    """The Python UDF bootstrap ``udf/python/crop.py`` with ``SITE`` set to ``python_path``.

    Raises:
        InputError: the file has no ``SITE: tuple[str, ...] = ()`` line to fill.
    """
    text = source.read_text(encoding="utf-8")
    marker = "SITE: tuple[str, ...] = ()"
    if marker not in text:
        raise InputError(str(source), f"has no '{marker}' line for the Python UDF's folders")
    folders = ", ".join(repr(str(p)) for p in python_path)
    return text.replace(
        marker, f"SITE: tuple[str, ...] = ({folders}{',' if len(python_path) == 1 else ''})", 1
    )


def _restart_steps(opts: DeployOptions, why: str) -> list[Step]:
    return [RunCommand(tuple(cmd), why) for cmd in opts.restart_commands()]


def plan_deploy(opts: DeployOptions) -> list[Step]:
    """Every step of a deployment, in order.

    Raises:
        InputError: RMANHOME, the model or the source checkout is missing, or the language is unknown.
    """
    _check(opts, need_model=True)
    paths = opts.paths
    build = opts.build_folder()
    udf = opts.source / "udf"
    bundle = paths.bundle_dir / opts.model.name
    steps: list[Step] = []
    if opts.language == "cpp":
        configure = [
            "cmake",
            "-S",
            str(udf),
            "-B",
            str(build),
            "-DCMAKE_BUILD_TYPE=Release",
            "-DCROPCUBE_BUILD_TESTS=OFF",
            "-DCROPCUBE_RASDAMAN=ON",
            f"-DRMANHOME={opts.rmanhome}",
        ]
        if opts.torch_cmake_prefix:
            configure.append(f"-DCMAKE_PREFIX_PATH={opts.torch_cmake_prefix}")
        steps += [
            RunCommand(tuple(configure), "configure crop.so against rasdaman's headers and libraries"),
            RunCommand(
                ("cmake", "--build", str(build), "--target", "crop_udf"), "build crop.so and the kernel"
            ),
            InstallFile(
                build / "rasdaman" / CPP_LIBRARY, paths.udf_dir / CPP_LIBRARY, "install the C++ UDF", 0o755
            ),
            InstallFile(
                build / KERNEL_LIBRARY, paths.udf_dir / KERNEL_LIBRARY, "install the kernel beside it", 0o755
            ),
        ]
    else:
        steps.append(
            WriteFile(
                paths.udf_dir / PYTHON_MODULE,
                bootstrap_text(udf / "python" / PYTHON_MODULE, opts.python_path),
                "install the Python UDF bootstrap (with the folders cropcube is imported from)",
            )
        )
    steps += [
        InstallFile(opts.model, bundle, "install the model bundle"),
        WriteFile(paths.config, config_text(bundle), "point the UDF at the bundle"),
    ]
    if opts.wcps and paths.war.is_file():
        java_out = build / "petascope"
        steps += [
            RunCommand(
                (str(udf / "petascope" / "build.sh"), str(paths.war), str(java_out)),
                "compile the WCPS class crop.Classify against petascope",
            ),
            InstallFile(
                java_out / JAVA_ARCHIVE, paths.petascope_udf_dir / JAVA_ARCHIVE, "install the WCPS class"
            ),
        ]
    if not opts.register:
        return steps
    steps += _restart_steps(opts, "restart rasdaman: server processes load the new crop.so")
    steps += [
        Rasql(DELETE_STATEMENT, "remove an earlier registration (upgrade)", ignore=NOT_REGISTERED),
        Rasql(create_statement(opts.language), f"register {FUNCTION} ({opts.language})"),
        Rasql(DATES_DELETE_STATEMENT, "remove an earlier registration (upgrade)", ignore=NOT_REGISTERED),
        Rasql(create_dates_statement(opts.language), f"register {DATES_FUNCTION} ({opts.language})"),
        Rasql(smoke_statement(), "smoke query: classify a constant cube, domain kept", expect=SMOKE_DOMAIN),
    ]
    return steps


def plan_undeploy(opts: DeployOptions) -> list[Step]:
    """Every step that reverses :func:`plan_deploy` (unregister, remove files, restart).

    Raises:
        InputError: RMANHOME is missing or the language is unknown.
    """
    _check(opts, need_model=False)
    paths = opts.paths
    steps: list[Step] = [
        Rasql(DELETE_STATEMENT, f"unregister {FUNCTION}", ignore=NOT_REGISTERED),
        Rasql(DATES_DELETE_STATEMENT, f"unregister {DATES_FUNCTION}", ignore=NOT_REGISTERED),
    ]
    for target in (
        paths.udf_dir / CPP_LIBRARY,
        paths.udf_dir / KERNEL_LIBRARY,
        paths.udf_dir / PYTHON_MODULE,
        paths.petascope_udf_dir / JAVA_ARCHIVE,
        paths.config,
    ):
        steps.append(RemoveFile(target, "remove an installed file"))
    steps.append(RemoveFolder(paths.bundle_dir, "remove the installed model bundle(s)"))
    steps += _restart_steps(opts, "restart rasdaman: no server process keeps the UDF loaded")
    return steps


def describe(step: Step) -> str:
    """One line for logs and ``--dry-run`` (no credentials are ever part of a step)."""
    if isinstance(step, RunCommand):
        return f"run: {' '.join(step.argv)}"
    if isinstance(step, InstallFile):
        return f"install: {step.source} -> {step.target} (mode {step.mode:o})"
    if isinstance(step, WriteFile):
        return f"write: {step.target}"
    if isinstance(step, RemoveFile):
        return f"remove: {step.target}"
    if isinstance(step, RemoveFolder):
        return f"remove folder: {step.target}"
    return f"rasql: {step.statement}"


def default_python_path() -> tuple[Path, ...]:
    """Folders the running Python imports cropcube, torch and numpy from (for rasdaman's Python)."""
    import numpy
    import torch

    import cropcube

    folders: list[Path] = []
    for module in (cropcube, torch, numpy):
        folder = Path(module.__file__ or "").resolve().parents[1]
        if folder not in folders:
            folders.append(folder)
    return tuple(folders)


def default_torch_prefix() -> str:
    """Libtorch's CMake prefix in the running Python's torch wheel ('' without torch)."""
    try:
        import torch.utils
    except ImportError:  # pragma: no cover - torch is a dependency
        return ""
    return str(torch.utils.cmake_prefix_path)
