/*
 * A minimal, rasdaman-free description of the array a UDF receives.
 *
 * The shim (crop_udf.cc) fills it from an r_GMarray; the tests fill it by hand with exactly the
 * domains and layouts rasdaman produces. Everything that decides how cells are read lives in
 * adapter.cc and works on this view only.
 */
#ifndef CROPCUBE_UDF_ARRAY_VIEW_H
#define CROPCUBE_UDF_ARRAY_VIEW_H

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace cropcube_udf {

/* One axis of an r_Minterval: [lo, hi] inclusive, any origin (also negative). */
struct Interval {
  int64_t lo = 0;
  int64_t hi = -1;
  bool bounded = true; /* false for an open bound ('*'), which a materialised array never has */
};

/* Primitive type of every band of a cell (rasdaman names in comments). */
enum class BandType {
  UInt8,   /* char, octet is Int8 */
  Int8,    /* octet */
  UInt16,  /* ushort */
  Int16,   /* short */
  UInt32,  /* ulong */
  Int32,   /* long */
  Float32, /* float */
  Float64, /* double */
  Bool,    /* bool */
  Mixed,   /* a struct whose bands have different types */
  Other    /* complex, nested struct, ... */
};

/* How the bands of multi-band cells are linearised (rasdaman r_Band_Linearization). */
enum class BandLayout {
  PixelInterleaved = 0,   /* b0 b1 ... b(n-1) of a cell, then the next cell */
  ChannelInterleaved = 1  /* all cells of band 0, then all of band 1, ... */
};

/* The array as rasdaman hands it: cells linearised with the LAST axis fastest. */
struct ArrayView {
  std::vector<Interval> domain;       /* per axis; 2-D (E, N) or 3-D (t, E, N) */
  BandType band_type = BandType::Other;
  std::string type_name;              /* for messages, e.g. "struct { ushort Band_1, ... }" */
  int64_t n_bands = 0;                /* bands per cell (1 for a primitive cell type) */
  int64_t type_length = 0;            /* bytes per cell as rasdaman reports it */
  BandLayout band_layout = BandLayout::PixelInterleaved;
  const void* data = nullptr;
  size_t byte_size = 0;               /* bytes addressable from data */
};

/* Bytes of one band value, 0 for Mixed/Other. */
size_t band_type_size(BandType type);

/* rasdaman name of a band type ("ushort", ...). */
const char* band_type_name(BandType type);

/* The one type of a struct's bands: the common type, Mixed when they differ, Other when there are none. */
BandType common_band_type(const std::vector<BandType>& bands);

}  // namespace cropcube_udf

#endif  // CROPCUBE_UDF_ARRAY_VIEW_H
