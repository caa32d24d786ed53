"""Client write-back: each coverage tile is read once (core + halo) and passed to the model once.

The job hands the kernel the window it read with the core marked (the C ABI's core window), so the
kernel does not re-tile the window: one forward pass per tile, over exactly the pixels read. The map
equals one pass over the whole image, with either backend.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
import torch
from rasdaman_scene import make_cube, published
from test_rasdaman_stores import MemoryStore

from cropcube.errors import InputError
from cropcube.inference import Classifier, kernel_library_path
from cropcube.inference.native import plan_tiles as kernel_plan_tiles
from cropcube.rasdaman.writeback.job import classify_coverage
from cropcube.rasdaman.writeback.stores import Source
from cropcube.tiling import Tile, plan_tiles

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "inference"))
from fixture_bundle import make_fixture_bundle

TILE = 16  # job tiles AND kernel tiles: a kernel re-tiling the 16 + 2 * halo window would run 4 passes


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_fixture_bundle(tmp_path_factory.mktemp("bundle") / "fixture.pt")


class ReadCounter(MemoryStore):
    """The in-memory store, recording every read window as (col, row, width, height)."""

    def __init__(self, name: str, cube: npt.NDArray[Any]) -> None:
        super().__init__(name, cube)
        self.reads: list[tuple[int, int, int, int]] = []

    def read(self, source: Source, col: int, row: int, width: int, height: int) -> npt.NDArray[Any]:
        self.reads.append((col, row, width, height))
        return super().read(source, col, row, width, height)


class PassCounter:
    """Wraps the Python backend's TorchScript module and records the input shape of every forward pass."""

    def __init__(self, module: Any) -> None:
        self.module, self.shapes = module, []

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        self.shapes.append(tuple(x.shape[2:]))
        return self.module(x)


def _cube(seed: int = 0) -> npt.NDArray[np.uint16]:
    """76 x 92 pixels of the rasdaman test scene (2 x 2 copies): tiles with a full halo on every side."""
    return np.tile(make_cube(seed)[0], (1, 2, 2))


def _plan(clf: Classifier, cube: npt.NDArray[Any]) -> list[Tile]:
    meta = clf.metadata
    return list(plan_tiles(*cube.shape[1:], TILE, meta.halo, factor=meta.downsampling_factor))


def _whole_image(bundle: Path, cube: npt.NDArray[Any]) -> npt.NDArray[np.uint8]:
    """One pass over the whole image, then the map rule every published map follows."""
    return published(cube, Classifier(bundle, backend="python", tile_size=4096).classify_array(cube))


def test_python_backend_reads_each_tile_once_and_runs_one_pass_per_tile(bundle: Path, tmp_path: Path) -> None:
    cube = _cube()
    clf = Classifier(bundle, backend="python", tile_size=TILE)
    passes = PassCounter(clf._runner.module)  # type: ignore[union-attr]  # count the real module's passes
    clf._runner.module = passes  # type: ignore[union-attr,assignment]
    store = ReadCounter("cube", cube)
    report = classify_coverage(store, "cube", "crops", clf.metadata, classifier=clf, tile_size=TILE,
                       progress_path=tmp_path / "p.json")  # fmt: skip
    tiles = _plan(clf, cube)
    assert report.tiles_written == len(tiles) == 30
    # Read once per tile: the core and its halo, clipped at the coverage edge, nothing else.
    assert store.reads == [
        (t.window_cols[0], t.window_rows[0], t.window_shape[1], t.window_shape[0]) for t in tiles
    ]
    interior = [t for t in tiles if t.window_shape == (TILE + 2 * clf.metadata.halo,) * 2]
    assert interior, "the scene must hold a tile with a full halo on every side"
    # Passed to the model once per tile, over exactly the window read.
    assert passes.shapes == [t.window_shape for t in tiles]
    np.testing.assert_array_equal(store.outputs["crops"], _whole_image(bundle, cube))


def test_native_backend_runs_one_pass_per_tile_and_equals_python(bundle: Path, tmp_path: Path) -> None:
    if not kernel_library_path().is_file():
        pytest.skip(f"C++ kernel not built at {kernel_library_path()}: run `cropcube kernel build`")
    cube = _cube()
    clf = Classifier(bundle, backend="native", tile_size=TILE)
    store = ReadCounter("cube", cube)
    classify_coverage(store, "cube", "crops", clf.metadata, classifier=clf, tile_size=TILE,
                       progress_path=tmp_path / "p.json")  # fmt: skip
    meta, tiles = clf.metadata, _plan(clf, cube)
    assert len(store.reads) == len(tiles)
    for t in tiles:  # the kernel's own plan for each (window, core) call: one tile, the whole window
        r, c = t.core_in_window
        core = (r.start, c.start, r.stop - r.start, c.stop - c.start)
        _, kernel_tiles = kernel_plan_tiles(
            *t.window_shape, clf.tile_size, meta.halo, meta.downsampling_factor, core
        )
        assert len(kernel_tiles) == 1
        assert (kernel_tiles[0].window_shape, kernel_tiles[0].core_in_window) == (t.window_shape, (r, c))
    np.testing.assert_array_equal(store.outputs["crops"], _whole_image(bundle, cube))


@pytest.mark.parametrize("core", [(8, 12, 21, 30), (5, 9, 21, 30), (0, 0, 76, 92), (60, 3, 16, 89)])
def test_core_window_maps_equal_one_pass_on_both_backends(bundle: Path, core: tuple[int, ...]) -> None:
    """A core window's maps = one pass over the image from the core's pooling alignment, cut to the core.

    The kernel keeps the core's alignment to the downsampling factor (a core at row 5 with factor 4
    is pooled as if the image started at row 1), so an aligned core equals the whole-image pass.
    """
    cube = _cube(seed=3)
    row, col, rows, cols = core
    d = 4  # the fixture bundle's downsampling factor
    anchor = (row % d, col % d)
    reference = Classifier(bundle, backend="python", tile_size=4096)
    whole = reference.run(cube[:, anchor[0] :, anchor[1] :], confidence=True, probabilities=True)
    cut = (slice(row - anchor[0], row - anchor[0] + rows), slice(col - anchor[1], col - anchor[1] + cols))
    backends = ["python"] + (["native"] if kernel_library_path().is_file() else [])
    for backend in backends:
        clf = Classifier(bundle, backend=backend, tile_size=8)
        assert clf.metadata.downsampling_factor == d
        view = cube[:, : row + rows + clf.metadata.halo, :]  # context below the core: just the halo
        got = clf.run(view, confidence=True, probabilities=True, core=core)
        assert got.classes.shape == (rows, cols)
        np.testing.assert_array_equal(got.classes, whole.classes[cut])
        assert got.confidence is not None and whole.confidence is not None
        assert np.abs(got.confidence.astype(int) - whole.confidence[cut]).max() <= 1
        assert got.probabilities is not None and whole.probabilities is not None
        np.testing.assert_allclose(got.probabilities, whole.probabilities[(slice(None), *cut)], atol=1e-5)


@pytest.mark.parametrize("backend", ["python", "native"])
@pytest.mark.parametrize("core", [(0, 0, 77, 1), (-1, 0, 4, 4), (0, 0, 0, 5), (70, 90, 8, 8)])
def test_a_core_outside_the_cube_is_refused_by_name(
    bundle: Path, backend: str, core: tuple[int, ...]
) -> None:
    if backend == "native" and not kernel_library_path().is_file():
        pytest.skip(f"C++ kernel not built at {kernel_library_path()}: run `cropcube kernel build`")
    with pytest.raises(InputError, match="is not inside the 76 x 92") as err:
        Classifier(bundle, backend=backend).run(_cube(), core=core)
    assert err.value.what == ("core" if backend == "python" else "cube")
    assert "core" in str(err.value)
