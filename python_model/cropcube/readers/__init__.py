"""Readers of real data: Sentinel-2 cubes, band files, SAFE products, netCDF stacks, BRP parcels, labels.

The cube API that the rest of cropcube uses::

    from cropcube.readers import Grid, open_cube, read_cube, read_label_raster
"""

from cropcube.readers.cube import CubeInfo, open_cube, read_cube, read_label_raster, read_single_band
from cropcube.readers.grid import Grid

__all__ = ["CubeInfo", "Grid", "open_cube", "read_cube", "read_label_raster", "read_single_band"]
