"""The 76 BRP crop classes of the 2018 Noordoostpolder cube, as package data.

Class index 0 means "no parcel" (nodata); 1..76 are the crop classes in the order of the reference
model. Each class carries its BRP ``gewascode``, its Dutch and English names, a crop group and a
colour for maps.
"""

from __future__ import annotations

import csv
import json
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path

import numpy as np
import numpy.typing as npt

from cropcube.errors import InputError

NODATA_CLASS = 0
CROP_GROUPS = (
    "grassland",
    "cereal",
    "maize",
    "potato",
    "beet",
    "onion",
    "bulbs",
    "vegetables",
    "fruit/trees",
    "nature",
    "fallow",
    "other",
)


@dataclass(frozen=True)
class CropClass:
    """One crop class.

    Attributes:
        index: class index 1..76 (0 is reserved for "no parcel").
        gewascode: BRP crop code.
        name_nl: Dutch BRP name.
        name_en: English short name.
        group: crop group, one of :data:`CROP_GROUPS`.
        color: ``#rrggbb`` map colour.
        pixels_2018: labelled pixels of this class in the 2018 Noordoostpolder area.
    """

    index: int
    gewascode: int
    name_nl: str
    name_en: str
    group: str
    color: str
    pixels_2018: int

    @property
    def rgb(self) -> tuple[int, int, int]:
        """The colour as an (r, g, b) triple of 0..255."""
        c = self.color.lstrip("#")
        return int(c[0:2], 16), int(c[2:4], 16), int(c[4:6], 16)


@dataclass
class ClassTable:
    """An ordered table of crop classes with lookups both ways.

    Args:
        classes: the classes, indices 1..N without gaps.
        unknown_index: class index given to gewascodes that are not in the table (default 0 = nodata).
    """

    classes: tuple[CropClass, ...]
    unknown_index: int = NODATA_CLASS
    unknown_counts: Counter[int] = field(default_factory=Counter)

    def __post_init__(self) -> None:
        indices = [c.index for c in self.classes]
        if indices != list(range(1, len(indices) + 1)):
            raise InputError("class table", f"indices must run 1..{len(indices)} without gaps")
        codes = [c.gewascode for c in self.classes]
        if len(set(codes)) != len(codes):
            raise InputError("class table", "gewascodes must be unique")
        if not 0 <= self.unknown_index <= len(self.classes):
            raise InputError("unknown_index", f"{self.unknown_index} is not 0..{len(self.classes)}")
        self._by_code = {c.gewascode: c for c in self.classes}

    def __len__(self) -> int:
        return len(self.classes)

    def __iter__(self) -> Iterator[CropClass]:
        return iter(self.classes)

    @property
    def num_classes(self) -> int:
        """Number of crop classes, without the nodata class."""
        return len(self.classes)

    def by_index(self, index: int) -> CropClass:
        """Return the class with this index (1..N)."""
        if not 1 <= index <= len(self.classes):
            raise InputError("class index", f"{index} is not 1..{len(self.classes)}")
        return self.classes[index - 1]

    def by_code(self, gewascode: int) -> CropClass:
        """Return the class with this BRP gewascode."""
        try:
            return self._by_code[int(gewascode)]
        except KeyError:
            raise InputError("gewascode", f"{gewascode} is not in the class table") from None

    def index_of_code(self, gewascode: int) -> int:
        """Class index of a gewascode; unknown codes give ``unknown_index`` and are counted."""
        c = self._by_code.get(int(gewascode))
        if c is None:
            self.unknown_counts[int(gewascode)] += 1
            return self.unknown_index
        return c.index

    def codes_to_indices(self, codes: npt.ArrayLike) -> npt.NDArray[np.uint8]:
        """Map an array of gewascodes to class indices (vectorised); unknown codes are counted.

        Codes <= 0 are taken as "no parcel" and map to 0 without being counted as unknown.
        """
        arr = np.asarray(codes, dtype=np.int64)
        out = np.zeros(arr.shape, dtype=np.uint8)
        uniq, counts = np.unique(arr, return_counts=True)
        for code, n in zip(uniq.tolist(), counts.tolist(), strict=True):
            if code <= 0:
                continue
            c = self._by_code.get(code)
            if c is None:
                self.unknown_counts[code] += n
                idx = self.unknown_index
            else:
                idx = c.index
            if idx:
                out[arr == code] = idx
        return out

    def palette(self) -> dict[int, tuple[int, int, int, int]]:
        """GDAL colormap: index -> RGBA (0 is transparent black)."""
        pal: dict[int, tuple[int, int, int, int]] = {0: (0, 0, 0, 0)}
        for c in self.classes:
            pal[c.index] = (*c.rgb, 255)
        return pal

    def names(self, language: str = "en") -> list[str]:
        """Class names indexed by class index (element 0 is ``"no parcel"``)."""
        if language not in ("en", "nl"):
            raise InputError("language", f"{language!r} is not 'en' or 'nl'")
        return ["no parcel"] + [c.name_en if language == "en" else c.name_nl for c in self.classes]

    def to_records(self) -> list[dict[str, object]]:
        """The table as JSON-ready records (for bundle and coverage metadata)."""
        return [
            {
                "index": c.index,
                "gewascode": c.gewascode,
                "name_nl": c.name_nl,
                "name_en": c.name_en,
                "group": c.group,
                "color": c.color,
            }
            for c in self.classes
        ]

    def to_json(self) -> str:
        """Compact JSON of :meth:`to_records`."""
        return json.dumps(self.to_records(), ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_records(cls, records: Iterable[dict[str, object]], unknown_index: int = 0) -> ClassTable:
        """Rebuild a table from :meth:`to_records` output (pixel counts are not carried)."""
        classes = []
        for r in records:
            try:
                classes.append(
                    CropClass(
                        index=int(str(r["index"])),
                        gewascode=int(str(r["gewascode"])),
                        name_nl=str(r["name_nl"]),
                        name_en=str(r["name_en"]),
                        group=str(r["group"]),
                        color=str(r["color"]),
                        pixels_2018=int(str(r.get("pixels_2018", 0))),
                    )
                )
            except (KeyError, ValueError) as exc:
                raise InputError("class table records", f"bad record {r!r}: {exc}") from exc
        return cls(tuple(classes), unknown_index=unknown_index)


def _read_csv(path: Path | None) -> tuple[CropClass, ...]:
    if path is None:
        text = resources.files("cropcube").joinpath("resources/brp_classes.csv").read_text("utf-8")
        where = "cropcube/resources/brp_classes.csv"
    else:
        try:
            text = Path(path).read_text("utf-8")
        except OSError as exc:
            raise InputError(str(path), f"cannot read class table: {exc.strerror}") from exc
        where = str(path)
    rows = list(csv.DictReader(text.splitlines()))
    need = {"class_index", "brp_gewascode", "name_nl", "name_en", "group", "color"}
    if not rows or not need <= set(rows[0]):
        raise InputError(where, f"class table needs columns {sorted(need)}")
    out = []
    for r in rows:
        if r["group"] not in CROP_GROUPS:
            raise InputError(where, f"class {r['class_index']}: unknown group {r['group']!r}")
        out.append(
            CropClass(
                index=int(r["class_index"]),
                gewascode=int(r["brp_gewascode"]),
                name_nl=r["name_nl"],
                name_en=r["name_en"],
                group=r["group"],
                color=r["color"],
                pixels_2018=int(r.get("pixels_2018_noordoostpolder") or 0),
            )
        )
    return tuple(out)


@lru_cache(maxsize=4)
def _cached(path: str | None) -> tuple[CropClass, ...]:
    return _read_csv(Path(path) if path else None)


def load_class_table(path: str | Path | None = None, unknown_index: int = NODATA_CLASS) -> ClassTable:
    """Load the class table (the packaged 76 BRP classes by default).

    Args:
        path: an alternative CSV with the same columns.
        unknown_index: class index for gewascodes not in the table.

    Returns:
        A fresh table (its unknown-code counter starts empty).
    """
    return ClassTable(_cached(str(path) if path else None), unknown_index=unknown_index)
