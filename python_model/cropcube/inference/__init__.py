"""Inference: one tiling plan, two backends (C++ kernel via ctypes, pure-Python torch), file classification.

from cropcube.inference import Classifier, classify_file
clf = Classifier()                       # $CROPCUBE_MODEL, config file, or the shipped demo bundle
classes = clf.classify_array(cube)       # (28, H, W) -> uint8 (H, W), 0 = nodata
summary = classify_file("cube.tif", "crops.tif")
"""

from cropcube.inference.classifier import Classifier
from cropcube.inference.config import resolve_model_path
from cropcube.inference.files import ClassifySummary, classify_file
from cropcube.inference.native import KernelError, NativeModel, kernel_library_path
from cropcube.inference.result import ClassMaps
from cropcube.tiling import DEFAULT_TILE_SIZE, Tile, effective_tile_size, plan_tiles

__all__ = [
    "DEFAULT_TILE_SIZE",
    "ClassMaps",
    "Classifier",
    "ClassifySummary",
    "KernelError",
    "NativeModel",
    "Tile",
    "classify_file",
    "effective_tile_size",
    "kernel_library_path",
    "plan_tiles",
    "resolve_model_path",
]
