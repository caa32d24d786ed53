/*
 * cropcube inference kernel: plain C ABI over a libtorch model bundle.
 *
 * One kernel serves every run mode (rasdaman UDF, client job, local CLI). No C++ exception crosses
 * this ABI: every function returns a status code, and cropcube_last_error() gives the text of the
 * last failure on the calling thread.
 *
 * Strides are in ELEMENTS (not bytes) and may be any int64; the kernel checks that every element it
 * will touch lies within [0, n_elements) counted from data (so a negative stride is accepted only
 * where it stays within that range) before reading or writing anything; else CROPCUBE_E_SHAPE.
 * Examples for a 28-band (T=7, C=4) cube of H rows x W cols:
 *   band-planar image  (28,H,W):  date=4*H*W band=H*W  row=W     col=1
 *   pixel-interleaved  (H,W,28):  date=4     band=1    row=28*W  col=28
 *   rasdaman [E][N] 28-band struct cells, pixel-interleaved (E = col, N = row, N fastest):
 *                                 date=4     band=1    row=28    col=28*H
 *   rasdaman 3-D [t][E][N] with 4-band cells:
 *                                 date=4*W*H band=1    row=4     col=4*H
 */
#ifndef CROPCUBE_KERNEL_H
#define CROPCUBE_KERNEL_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CROPCUBE_ABI_VERSION 2 /* 2: core window and dates (doy) in cropcube_input, cropcube_get_info, cropcube_plan_tiles */

typedef enum cropcube_status {
  CROPCUBE_OK = 0,
  CROPCUBE_E_INVALID_ARGUMENT = 1, /* NULL pointer, bad enum, bad option */
  CROPCUBE_E_IO = 2,               /* bundle file missing or unreadable */
  CROPCUBE_E_BAD_BUNDLE = 3,       /* not a TorchScript file or not a cropcube bundle */
  CROPCUBE_E_SHAPE = 4,            /* band count, extent or strides do not fit */
  CROPCUBE_E_VALUE = 5,            /* NaN/inf in the input (with CROPCUBE_NONFINITE_ERROR) */
  CROPCUBE_E_RUNTIME = 6,          /* the model failed to run */
  CROPCUBE_E_OUT_OF_MEMORY = 7,
  CROPCUBE_E_DEVICE = 8            /* CUDA asked for but not available, or a device error */
} cropcube_status;

typedef enum cropcube_dtype { CROPCUBE_UINT16 = 0, CROPCUBE_INT16 = 1, CROPCUBE_FLOAT32 = 2 } cropcube_dtype;

typedef enum cropcube_device { CROPCUBE_DEVICE_AUTO = 0, CROPCUBE_DEVICE_CPU = 1, CROPCUBE_DEVICE_CUDA = 2 } cropcube_device;

typedef enum cropcube_precision {
  CROPCUBE_PRECISION_AUTO = 0, /* float32, or a reduced precision only where parity was verified */
  CROPCUBE_PRECISION_FLOAT32 = 1,
  CROPCUBE_PRECISION_BFLOAT16 = 2,
  CROPCUBE_PRECISION_FLOAT16 = 3
} cropcube_precision;

typedef enum cropcube_nonfinite {
  CROPCUBE_NONFINITE_ERROR = 0,  /* NaN/inf in float input -> CROPCUBE_E_VALUE */
  CROPCUBE_NONFINITE_NODATA = 1  /* a pixel with any NaN/inf band becomes class 0 */
} cropcube_nonfinite;

typedef struct cropcube_options {
  int32_t device;          /* cropcube_device */
  int32_t num_threads;     /* CPU intra-op threads, 0 = library default */
  int32_t tile_size;       /* core tile edge in pixels (rounded to the downsampling factor), 0 = default */
  int32_t batch_size;      /* tiles per forward pass, 0 = default */
  int32_t precision;       /* cropcube_precision */
  int32_t nonfinite;       /* cropcube_nonfinite */
} cropcube_options;

typedef struct cropcube_input {
  const void* data;
  size_t n_elements;       /* elements addressable from data (bounds check) */
  int32_t dtype;           /* cropcube_dtype */
  int64_t n_dates, n_bands;      /* T (within the bundle's calendar range), C (the bundle's) */
  int64_t height, width;         /* image rows, cols (>= 1) */
  int64_t stride_date, stride_band, stride_row, stride_col; /* elements */
  /* Core window: the pixels to classify, rows [core_row, core_row + core_rows) and cols likewise,
   * inside the height x width extent; the rest of the extent is context (a halo the caller already
   * read). All four 0 = the whole extent. The output holds the core only (core_rows x core_cols). A
   * caller whose window is one core plus the bundle's halo gets exactly one forward pass. */
  int64_t core_row, core_col, core_rows, core_cols;
  /* Day of year (1..366) of each of the n_dates dates, strictly increasing; NULL = the bundle's own
   * default dates (then n_dates must be their number). A bundle of format 2 takes any n_dates within
   * its calendar's range and any days within its season; a format-1 bundle only its fixed dates. */
  const float* doy;
} cropcube_input;

typedef struct cropcube_output {
  uint8_t* classes;        /* required: class index per pixel, 0 = nodata */
  uint8_t* confidence;     /* optional (NULL): round(255 * max softmax probability), 0 on nodata */
  size_t n_elements;       /* elements addressable from each of classes/confidence */
  int64_t stride_row, stride_col; /* elements, shared by classes and confidence */
  /* Optional (NULL): softmax probability per class k (class index k + 1) and pixel, e.g. for parcel
   * voting; 0 for all k on nodata pixels. */
  float* probabilities;
  size_t prob_n_elements;
  int64_t prob_stride_class, prob_stride_row, prob_stride_col;
} cropcube_output;

typedef struct cropcube_model cropcube_model;

/* What a handle runs with: the bundle's facts and the effective options (defaults resolved). */
typedef struct cropcube_info {
  int64_t n_dates, n_bands, n_classes, halo, downsampling_factor;
  int64_t tile_size;       /* core tile edge in use (the requested one rounded to the downsampling factor) */
  int64_t batch_size;      /* tiles per forward pass */
  int32_t device;          /* CROPCUBE_DEVICE_CPU or CROPCUBE_DEVICE_CUDA (never AUTO) */
  int32_t num_threads;     /* requested CPU threads; 0 = sized per batch to the free CPUs */
  int32_t precision;       /* the precision in use (never AUTO) */
  int32_t nonfinite;       /* cropcube_nonfinite */
  /* The calendars the bundle accepts: n_dates within [min_dates, max_dates] (n_dates above is the
   * default calendar's), days of year within [season_start, season_end]. */
  int64_t min_dates, max_dates;
  double season_start, season_end;
} cropcube_info;

/* Library version string and ABI version. */
const char* cropcube_version(void);
int cropcube_abi_version(void);

/* Fill options with defaults (auto device, default threads/tile/batch, auto precision, error on NaN). */
void cropcube_default_options(cropcube_options* opts);

/* Text of the last error on this thread ("" when none). Valid until the next call on this thread. */
const char* cropcube_last_error(void);

/*
 * Resolve the bundle path when the caller has none: $CROPCUBE_MODEL, else the `model = PATH` line of
 * the config file ($CROPCUBE_CONFIG, else $RMANHOME/etc/cropcube.conf, else
 * $XDG_CONFIG_HOME/cropcube/kernel.conf or ~/.config/cropcube/kernel.conf). Writes a NUL-terminated
 * path into buf.
 */
int cropcube_resolve_model_path(char* buf, size_t buf_len);

/*
 * Open a bundle (path NULL = cropcube_resolve_model_path). Bundles are cached per process, keyed by
 * path and content hash, and shared between handles; a changed file is reloaded on the next open.
 * Thread-safe. opts NULL = defaults.
 */
int cropcube_open(const char* path, const cropcube_options* opts, cropcube_model** out);

/* Release a handle (NULL is ignored). */
void cropcube_close(cropcube_model* model);

/* The bundle's metadata JSON (owned by the handle, valid until cropcube_close). NULL on NULL. */
const char* cropcube_metadata_json(const cropcube_model* model);

/* Bundle facts the adapters need. Return CROPCUBE_E_INVALID_ARGUMENT on NULL. */
int cropcube_model_info(const cropcube_model* model, int64_t* n_dates, int64_t* n_bands, int64_t* n_classes,
                        int64_t* halo, int64_t* downsampling_factor);

/* The handle's effective settings and bundle facts. CROPCUBE_E_INVALID_ARGUMENT on NULL. */
int cropcube_get_info(const cropcube_model* model, cropcube_info* info);

/*
 * The tile plan cropcube_classify runs (no model needed): the core window core[4] = {row, col, rows,
 * cols} (NULL = the whole extent) of a height x width extent cut into cores of the effective tile size
 * (tile_size, 0 = default, rounded up to downsampling_factor), each read with `halo` pixels of context
 * clipped to the extent. Writes the effective tile size, the tile count, and up to max_tiles tiles as 8
 * int64 each: core row0, row1, col0, col1, window row0, row1, col0, col1 ([start, stop)). tiles may be
 * NULL with max_tiles 0 to ask for the count; a too small max_tiles is CROPCUBE_E_INVALID_ARGUMENT.
 */
int cropcube_plan_tiles(int64_t height, int64_t width, int32_t tile_size, int64_t downsampling_factor, int64_t halo,
                        const int64_t* core, int64_t* effective_tile_size, int64_t* tiles, size_t max_tiles,
                        size_t* n_tiles);

/*
 * Classify: tiled inference (tile + halo, aligned to the downsampling factor, centre-crop stitching),
 * equal to whole-image inference; only the input's core window is classified (see cropcube_input).
 * Pixels whose bands are all equal to the bundle's nodata value get
 * class 0. Thread-safe on one handle. Nothing is written to the output on failure... except that a
 * failure after some tiles were written leaves those tiles; callers that need all-or-nothing write to a
 * scratch buffer.
 */
int cropcube_classify(cropcube_model* model, const cropcube_input* input, const cropcube_output* output);

#ifdef __cplusplus
}
#endif

#endif /* CROPCUBE_KERNEL_H */
