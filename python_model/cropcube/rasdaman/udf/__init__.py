"""The UDF crop.classify: deployment into rasdaman enterprise and the Python UDF entry point."""
