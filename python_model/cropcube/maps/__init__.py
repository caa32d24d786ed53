"""Crop-map products: the quicklook with its legend (and the class palette, attribute tables, STAC)."""
