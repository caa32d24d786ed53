"""cropcube and rasdaman: petascope client, ingest, classify-and-write-back, and the UDF deployment."""
