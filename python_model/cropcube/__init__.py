"""cropcube: crop-type segmentation of Sentinel-2 time series, inside, beside or without rasdaman."""

__version__ = "0.1.0"

from cropcube.classes import ClassTable, CropClass, load_class_table
from cropcube.cube_spec import REFERENCE_2018_SPEC, CubeSpec

__all__ = ["REFERENCE_2018_SPEC", "ClassTable", "CropClass", "CubeSpec", "__version__", "load_class_table"]
