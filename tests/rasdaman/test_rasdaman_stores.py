"""The write-back job over any store: cell types kept as they are, unreadable types refused by name."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from rasdaman_scene import ToyClassifier, make_cube, reference_classes, toy_metadata

from cropcube.errors import InputError
from cropcube.inference.result import ClassMaps
from cropcube.rasdaman.writeback.job import classify_coverage
from cropcube.rasdaman.writeback.stores import Source


class MemoryStore:
    """A store holding one input array and the outputs in memory (implements writeback.stores.Store)."""

    where = "memory://"

    def __init__(self, name: str, cube: np.ndarray) -> None:
        self.name, self.cube = name, cube
        self.outputs: dict[str, np.ndarray] = {}
        self.dtypes_read: set[str] = set()

    def describe(self, name: str) -> Source:
        if name != self.name:
            raise InputError(name, "no such array")
        return Source(name, self.cube.shape[2], self.cube.shape[1], self.cube.shape[0])

    def read(self, source: Source, col: int, row: int, width: int, height: int) -> np.ndarray:
        window = self.cube[:, row : row + height, col : col + width]
        self.dtypes_read.add(window.dtype.name)
        return window

    def output_owner(self, name: str, source: Source, window: tuple[int, int, int, int]) -> str | None:
        return "" if name in self.outputs else None

    def delete(self, name: str) -> None:
        del self.outputs[name]

    def create_output(self, name: str, source: Source, window: tuple[int, int, int, int], info: Any) -> None:
        self.outputs[name] = np.zeros((window[3], window[2]), np.uint8)

    def writer(self, name: str, source: Source, window: tuple[int, int, int, int]) -> Any:
        store = self

        class Writer:
            def write(self, col: int, row: int, array: np.ndarray) -> None:
                store.outputs[name][row : row + array.shape[0], col : col + array.shape[1]] = array

        return Writer()


class TypeRecorder(ToyClassifier):
    def __init__(self) -> None:
        super().__init__()
        self.dtypes: set[str] = set()

    def run(self, cube: np.ndarray, *, core: tuple[int, int, int, int] | None = None) -> ClassMaps:
        self.dtypes.add(cube.dtype.name)
        return super().run(cube.astype(np.uint16), core=core)


@pytest.mark.parametrize("dtype", ["uint16", "int16", "float32"])
def test_cells_keep_their_type(dtype: str, tmp_path: Path) -> None:
    cube, _ = make_cube()
    store = MemoryStore("cube", cube.astype(dtype))
    clf = TypeRecorder()
    classify_coverage(store, "cube", "crops", toy_metadata(), classifier=clf, tile_size=16,
                      progress_path=tmp_path / "p.json")  # fmt: skip
    assert store.dtypes_read == {dtype} and clf.dtypes == {dtype}  # no cast on the way to the kernel
    np.testing.assert_array_equal(store.outputs["crops"], reference_classes(cube))


@pytest.mark.parametrize("dtype", ["uint8", "uint32", "float64"])
def test_cell_types_the_model_cannot_read_are_refused_by_name(dtype: str, tmp_path: Path) -> None:
    cube, _ = make_cube()
    store = MemoryStore("cube", cube.astype(dtype))
    with pytest.raises(InputError, match=rf"tile r0_c0 of cube: cells are {dtype}; the model reads uint16"):
        classify_coverage(store, "cube", "crops", toy_metadata(), classifier=ToyClassifier(), tile_size=16,
                          progress_path=tmp_path / "p.json")  # fmt: skip
