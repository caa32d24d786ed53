"""Constants shared by the UDF tests: the checkout root and the real scene's cutout."""

from __future__ import annotations

from pathlib import Path

from rasterio.windows import Window

ROOT = Path(__file__).resolve().parents[2]
S2_TIF = "flevoland_2018_s2_100px/s2_flevoland_2018_100x100_7dates_x_4bands_dn.tif"
# A non-square window with a non-zero origin: a missed transpose or re-basing cannot go unnoticed.
WINDOW = Window(col_off=7, row_off=12, width=41, height=63)
