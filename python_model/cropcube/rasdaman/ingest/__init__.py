"""Getting cubes and labels into rasdaman: wcst_import ingredients or WCS-T, resumable."""
