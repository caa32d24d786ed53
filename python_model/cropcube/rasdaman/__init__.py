"""cropcube and rasdaman, one sub-package per job.

- ``ids``: coverage ids, axis names, numbers and endpoints validated before they enter a query.
- ``grid``: a coverage's grid (CRS, origin, resolution) and pixel <-> CRS subsets.
- ``transport``: petascope (WCS, WCPS, WCS-T) over HTTP, rasql over rasdapy3, GML, GeoTIFF tiles.
- ``ingest``: cubes and labels into coverages (wcst_import ingredients or WCS-T), resumable.
- ``writeback``: classify a coverage tile by tile and write the classes back as a new coverage.
- ``udf``: deployment of ``crop.classify`` into rasdaman enterprise.
"""
