"""cropcube and rasdaman, one sub-package per job.

- ``jobs``: what each ``cropcube rasdaman`` command runs (every input checked before any contact).
- ``ids``: coverage ids, axis names, numbers, hosts and endpoints validated before they enter a query.
- ``grid``: petascope's conventions about the one grid type (``readers.grid.Grid``): EPSG code, square
  pixels, pixel <-> CRS subsets.
- ``transport``: the route (which transport, by one rule), petascope (WCS, WCPS, WCS-T) over HTTP, rasql
  over rasdapy3, GML, GeoTIFF tiles.
- ``ingest``: cubes and labels into coverages (wcst_import ingredients or WCS-T), resumable.
- ``writeback``: classify a coverage tile by tile and write the classes back as a new coverage.
- ``udf``: deployment of ``crop.classify`` into rasdaman enterprise.
"""
