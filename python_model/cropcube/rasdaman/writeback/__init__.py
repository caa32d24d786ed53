"""Classify a coverage tile by tile (client or UDF mode) and write the classes back as a new coverage."""
