"""File input/output shared by every part of cropcube: atomic writes and GeoTIFF/COG writing."""

from cropcube.io.atomic import atomic_output
from cropcube.io.geotiff import write_geotiff

__all__ = ["atomic_output", "write_geotiff"]
