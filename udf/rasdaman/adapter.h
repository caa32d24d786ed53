/*
 * crop.classify adapter: maps the array rasdaman hands a UDF onto the cropcube kernel.
 *
 * Accepted inputs (cells linearised with the last axis fastest, as rasdaman does):
 *   2-D (E, N) array whose cells have T*C bands (the reference layout, 28 ushort bands date-major);
 *   3-D (t, E, N) array whose cells have C bands, with T time slices.
 * Bands may be pixel- or channel-interleaved (read from the array, never assumed).
 * Orientation: rasdaman's a[e][n] has N index 0 at the northern edge (grid order E(0), N(1)), so the
 * image the model sees is image[row = n][col = e]: a pure transpose, done by strides, never copied.
 * Output: uint8 class per (E, N) cell, same domain as the input's (E, N) axes, 0 = nodata.
 *
 * Every function here reports problems by throwing UdfError with a message naming the input and the
 * problem; the shim converts it into rasdaman's UDF error at the outermost boundary.
 */
#ifndef CROPCUBE_UDF_ADAPTER_H
#define CROPCUBE_UDF_ADAPTER_H

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "array_view.h"
#include "cropcube/kernel.h"

namespace cropcube_udf {

/* The one error type of the adapter; its message is what the rasdaman user reads. */
class UdfError : public std::runtime_error {
 public:
  explicit UdfError(const std::string& message) : std::runtime_error("crop.classify: " + message) {}
};

/* What the model needs to know about its input (from the bundle). */
struct ModelShape {
  int64_t n_dates = 0;  /* T */
  int64_t n_bands = 0;  /* C */
};

/* How to read the input and where the output goes. */
struct Plan {
  cropcube_input input{};            /* strided view of the input cells for the kernel */
  std::vector<Interval> out_domain;  /* 2-D (E, N): the input's spatial axes, origin kept */
  int64_t e_extent = 0;
  int64_t n_extent = 0;
  size_t out_cells = 0;              /* E * N */
  int64_t out_stride_row = 0;        /* output [e][n], N fastest: row (n) = 1, col (e) = N */
  int64_t out_stride_col = 0;
};

/*
 * Validate the view against the model and describe it as kernel strides. With `doy` (the day of year
 * of each date, crop.classify_dates) T is its length, and the kernel reads the dates from it (the
 * vector must outlive the classification); without, T is the bundle's default calendar. Throws UdfError.
 */
Plan plan_classification(const ArrayView& view, const ModelShape& model, const std::vector<float>* doy = nullptr);

/* The day-of-year values of crop.classify_dates' second argument: a 1-D array of one-number cells
 * (any integer or float type), converted to float. Throws UdfError naming "dates". */
std::vector<float> read_doy(const ArrayView& view);

/* Read T and C from an open bundle. Throws UdfError. */
ModelShape model_shape(const cropcube_model* model);

/*
 * Classify the planned input with an open model into out[0 .. plan.out_cells), [e][n] order, N
 * fastest. On failure the content of out is undefined (the caller owns and discards it). Throws
 * UdfError.
 */
void classify_into(const Plan& plan, cropcube_model* model, uint8_t* out, size_t out_len);

/* A model handle shared by the calls that use it; closed when the last one lets go. */
using SharedModel = std::shared_ptr<cropcube_model>;

/*
 * The bundle of this server process, with the kernel options of the settings (udf/src/config.hpp:
 * $CROPCUBE_MODEL / $CROPCUBE_THREADS / ... over `model = PATH`, `threads = N`, ... in $CROPCUBE_CONFIG
 * or $RMANHOME/etc/cropcube.conf). Threads default to kUdfDefaultThreads per process.
 *
 * Live reload, cheap per call: every call stat()s the config file and the bundle (and reads the
 * settings' environment variables); only when one of them changed (path, inode, size, mtime or ctime)
 * are the settings re-read or the bundle re-opened. A bundle changed less than 2 s ago is opened on every
 * call (the kernel then compares its content hash): file times are too coarse to tell two rewrites
 * within one clock tick apart. A bundle that changes while it is being opened (a writer
 * rewriting it in place) is opened again, up to three times; a bundle that cannot be opened is an error
 * naming it, and nothing is cached, so the next call tries again. Calls in flight keep the handle they
 * started with. Thread-safe. Throws UdfError naming the path and the problem.
 */
SharedModel process_model();

/* Threads per server process when the settings name none (docs/udf.md, "Thread budget"). */
constexpr int32_t kUdfDefaultThreads = 1;

/* The kernel options the settings ask for (threads default kUdfDefaultThreads). Throws UdfError. */
cropcube_options udf_options();

/*
 * The text of the one rasdaman error the UDF raises: rasdaman's own text for UDF error 448 (from its
 * error table, `table_text`) with every placeholder filled or removed, then ": " and `detail`. Falls back
 * to a fixed text when the table's text is missing or has placeholders this function does not know.
 */
std::string udf_error_text(const std::string& table_text, const std::string& detail);

}  // namespace cropcube_udf

#endif  // CROPCUBE_UDF_ADAPTER_H
