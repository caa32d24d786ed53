/*
 * crop.so: the rasdaman (enterprise) C++ UDF `crop.classify`, the only file that touches r_GMarray.
 *
 * Registered with
 *   create function crop.classify (array cube) returns array language cpp extern "crop.so"
 *   create function crop.classify_dates (array cube, array doy) returns array language cpp extern "crop.so"
 * rasdaman resolves the C symbol from the part after the namespace: `classify`, `classify_dates`.
 *
 * Everything else (validation, layouts, orientation, the per-process bundle) is in adapter.cc and is
 * tested without rasdaman. Error reporting: inside, every failure is a C++ exception; at this outermost
 * boundary they are all caught and turned into ONE r_Error with rasdaman's UDF error number 448
 * ("General error reported by the language template when executing the UDF", bin/errtxts) whose text
 * (placeholders filled) names the problem. rasserver sends what() to the client verbatim. r_Error is how rasdaman's own code reports a failed query to the client; rasserver
 * catches it around query evaluation and sends the text to the client instead of dying. Nothing else
 * (std::bad_alloc, c10::Error, ...) can leave this function, and no buffer outlives a failure.
 */
#include <cstring>
#include <exception>
#include <memory>
#include <new>
#include <sstream>
#include <string>
#include <vector>

#include "adapter.h"
#include "raslib/attribute.hh"
#include "raslib/basetype.hh"
#include "raslib/error.hh"
#include "raslib/minterval.hh"
#include "raslib/mddtypes.hh"
#include "raslib/sinterval.hh"
#include "raslib/structuretype.hh"
#include "raslib/type.hh"
#include "rasodmg/gmarray.hh"

namespace {

/* rasdaman's error number for "General error reported by the language template when executing the UDF". */
constexpr unsigned int kUdfError = 448;

cropcube_udf::BandType band_type_of(r_Type::r_Type_Id id) {
  using cropcube_udf::BandType;
  switch (id) {
    case r_Type::CHAR: return BandType::UInt8;
    case r_Type::OCTET: return BandType::Int8;
    case r_Type::USHORT: return BandType::UInt16;
    case r_Type::SHORT: return BandType::Int16;
    case r_Type::ULONG: return BandType::UInt32;
    case r_Type::LONG: return BandType::Int32;
    case r_Type::FLOAT: return BandType::Float32;
    case r_Type::DOUBLE: return BandType::Float64;
    case r_Type::BOOL: return BandType::Bool;
    default: return BandType::Other;
  }
}

/* Band type and count from the cell type (struct of primitives, or one primitive). */
void read_cell_type(r_GMarray& cube, cropcube_udf::ArrayView& view) {
  using cropcube_udf::BandType;
  const r_Base_Type* base = cube.get_base_type_schema();
  if (base == nullptr) {
    throw cropcube_udf::UdfError("input array carries no cell type; cannot tell its bands");
  }
  std::ostringstream description;  // e.g. "struct { ushort Band_1, ... }" (name() says only "Structure")
  base->print_status(description);
  view.type_name = description.str();
  if (view.type_name.size() > 120) view.type_name = view.type_name.substr(0, 117) + "...";
  if (base->type_id() == r_Type::STRUCTURETYPE) {
    const auto* structure = static_cast<const r_Structure_Type*>(base);
    std::vector<BandType> bands;
    for (const r_Attribute& attribute : structure->getAttributes()) {
      bands.push_back(band_type_of(attribute.type_of().type_id()));
    }
    view.n_bands = static_cast<int64_t>(bands.size());
    view.band_type = cropcube_udf::common_band_type(bands);
  } else {
    view.n_bands = 1;
    view.band_type = band_type_of(base->type_id());
  }
}

cropcube_udf::ArrayView view_of(r_GMarray& cube) {
  cropcube_udf::ArrayView view;
  const r_Minterval& domain = cube.spatial_domain();
  for (r_Dimension i = 0; i < domain.dimension(); ++i) {
    const r_Sinterval& axis = domain[i];
    cropcube_udf::Interval interval;
    interval.bounded = axis.is_low_fixed() && axis.is_high_fixed();
    if (interval.bounded) {
      interval.lo = axis.low();
      interval.hi = axis.high();
    }
    view.domain.push_back(interval);
  }
  if (cube.get_cell_linearization() != r_Cell_Linearization::ColumnMajor) {
    // ColumnMajor is rasdaman's name for "last axis fastest", the only order rasdaman produces.
    throw cropcube_udf::UdfError("input cells are not linearised with the last axis fastest");
  }
  read_cell_type(cube, view);
  view.type_length = static_cast<int64_t>(cube.get_type_length());
  view.band_layout = cube.get_band_linearization() == r_Band_Linearization::ChannelInterleaved
                         ? cropcube_udf::BandLayout::ChannelInterleaved
                         : cropcube_udf::BandLayout::PixelInterleaved;
  view.data = cube.get_array();
  view.byte_size = cube.get_array_size();
  return view;
}

r_GMarray* classify_or_throw(r_GMarray* cube, r_GMarray* dates) {
  if (cube == nullptr) throw cropcube_udf::UdfError("no input array");
  const cropcube_udf::ArrayView view = view_of(*cube);
  std::vector<float> doy;
  if (dates != nullptr) doy = cropcube_udf::read_doy(view_of(*dates));
  const cropcube_udf::SharedModel model = cropcube_udf::process_model();  // reloaded when the files change
  const cropcube_udf::Plan plan = cropcube_udf::plan_classification(view, cropcube_udf::model_shape(model.get()),
                                                                   dates != nullptr ? &doy : nullptr);

  std::unique_ptr<char[]> classes(new char[plan.out_cells]);
  cropcube_udf::classify_into(plan, model.get(), reinterpret_cast<uint8_t*>(classes.get()), plan.out_cells);

  r_Minterval domain(2);  // the input's (E, N) axes, origin kept: same grid as the input
  for (const cropcube_udf::Interval& axis : plan.out_domain) domain << r_Sinterval(axis.lo, axis.hi);
  std::unique_ptr<r_GMarray> result(new r_GMarray(domain, 1, nullptr, nullptr, false));
  result->set_type_structure("marray <char, 2>");
  result->set_array(classes.release());  // owned (delete[]) by the r_GMarray from here on
  result->set_array_size(plan.out_cells);
  return result.release();
}

/* Every failure becomes one r_Error (see the file comment); nothing else leaves the UDF. */
r_GMarray* classify_guarded(r_GMarray* cube, r_GMarray* dates) {
  std::string message;
  try {
    return classify_or_throw(cube, dates);
  } catch (const cropcube_udf::UdfError& e) {
    message = e.what();
  } catch (const r_Error& e) {
    message = std::string("crop.classify: rasdaman error: ") + e.what();
  } catch (const std::bad_alloc&) {
    message = "crop.classify: out of memory";
  } catch (const std::exception& e) {
    message = std::string("crop.classify: internal error: ") + e.what();
  } catch (...) {
    message = "crop.classify: unknown internal error";
  }
  // rasdaman's text for error 448 carries placeholders ($errorNo, $lineNo, ...) that only the query
  // parser fills; the client prints what() as it is, so the text is completed here.
  r_Error error(kUdfError);
  error.set_what(cropcube_udf::udf_error_text(error.what(), message).c_str());
  throw error;
}

}  // namespace

/* crop.classify(cube): the bundle's default dates. */
extern "C" __attribute__((visibility("default"))) r_GMarray* classify(r_GMarray* cube) {
  return classify_guarded(cube, nullptr);
}

/* crop.classify_dates(cube, doy): the day of year of each of the cube's dates (1-D array), e.g. filled
 * by the WCPS class from the coverage's time axis; checked by the kernel against the bundle's calendar. */
extern "C" __attribute__((visibility("default"))) r_GMarray* classify_dates(r_GMarray* cube, r_GMarray* doy) {
  return classify_guarded(cube, doy);  // NULL dates (not from rasdaman): the default calendar
}
