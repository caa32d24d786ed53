/*
 * cropcube_udf_run: run the crop.classify adapter on a raw array file, exactly as the shim does
 * inside rasserver (same validation, strides, per-process bundle from $CROPCUBE_MODEL / config).
 *
 *   cropcube_udf_run --domain 100:149,-20:9 --type ushort --bands 28 --layout pixel [--repeat N] IN.raw OUT.raw
 *
 * --repeat N: classify N more times after the first call (a warm server process) and print
 * "calls N median_s M p90_s P" (scripts/bench_udf_threads.py measures the thread budget with it).
 *
 * IN.raw: the cells as rasdaman linearises them (last axis fastest). OUT.raw: uint8 [E][N], N fastest.
 * Prints the output domain ("[100:149,-20:9]") on stdout; errors go to stderr with exit status 1.
 */
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

#include "adapter.h"

namespace {

using cropcube_udf::ArrayView;
using cropcube_udf::BandLayout;
using cropcube_udf::BandType;
using cropcube_udf::Interval;
using cropcube_udf::UdfError;

std::vector<Interval> parse_domain(const std::string& text) {
  std::vector<Interval> domain;
  std::stringstream axes(text);
  std::string axis;
  while (std::getline(axes, axis, ',')) {
    const size_t colon = axis.find(':');
    if (colon == std::string::npos) throw UdfError("--domain axis '" + axis + "' is not lo:hi");
    try {
      domain.push_back(Interval{std::stoll(axis.substr(0, colon)), std::stoll(axis.substr(colon + 1)), true});
    } catch (const std::exception&) {
      throw UdfError("--domain axis '" + axis + "' is not lo:hi with integers");
    }
  }
  return domain;
}

BandType parse_type(const std::string& name) {
  for (BandType t : {BandType::UInt8, BandType::Int8, BandType::UInt16, BandType::Int16, BandType::UInt32,
                     BandType::Int32, BandType::Float32, BandType::Float64}) {
    if (name == cropcube_udf::band_type_name(t)) return t;
  }
  throw UdfError("--type '" + name + "' is not a rasdaman primitive type name");
}

int run(int argc, char** argv) {
  ArrayView view;
  int repeat = 0;
  std::string in_path, out_path;
  std::vector<std::string> positional;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const bool has_value = i + 1 < argc;
    if (arg == "--domain" && has_value) {
      view.domain = parse_domain(argv[++i]);
    } else if (arg == "--type" && has_value) {
      view.band_type = parse_type(argv[++i]);
      view.type_name = argv[i];
    } else if (arg == "--bands" && has_value) {
      view.n_bands = std::atoll(argv[++i]);
    } else if (arg == "--repeat" && has_value) {
      repeat = std::atoi(argv[++i]);
    } else if (arg == "--layout" && has_value) {
      const std::string layout = argv[++i];
      if (layout != "pixel" && layout != "channel") throw UdfError("--layout must be pixel or channel");
      view.band_layout = layout == "pixel" ? BandLayout::PixelInterleaved : BandLayout::ChannelInterleaved;
    } else {
      positional.push_back(arg);
    }
  }
  if (positional.size() != 2) throw UdfError("usage: cropcube_udf_run --domain D --type T --bands B --layout L IN OUT");
  view.type_length = view.n_bands * static_cast<int64_t>(cropcube_udf::band_type_size(view.band_type));

  std::ifstream in(positional[0], std::ios::binary);
  if (!in) throw UdfError("cannot read input file '" + positional[0] + "'");
  const std::vector<char> cells((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  view.data = cells.data();
  view.byte_size = cells.size();

  const cropcube_udf::SharedModel model = cropcube_udf::process_model();
  const cropcube_udf::Plan plan = cropcube_udf::plan_classification(view, cropcube_udf::model_shape(model.get()));
  std::vector<uint8_t> classes(plan.out_cells);
  cropcube_udf::classify_into(plan, model.get(), classes.data(), classes.size());
  std::vector<double> seconds;
  for (int i = 0; i < repeat; ++i) {  // warm calls, as a rasserver process serves them (model per call)
    const auto start = std::chrono::steady_clock::now();
    const cropcube_udf::SharedModel again = cropcube_udf::process_model();
    cropcube_udf::classify_into(plan, again.get(), classes.data(), classes.size());
    seconds.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }

  const std::string tmp = positional[1] + ".part";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(classes.data()), static_cast<std::streamsize>(classes.size()));
    if (!out) throw UdfError("cannot write output file '" + positional[1] + "'");
  }
  if (std::rename(tmp.c_str(), positional[1].c_str()) != 0) {
    throw UdfError("cannot write output file '" + positional[1] + "'");
  }
  std::printf("[%lld:%lld,%lld:%lld]\n", static_cast<long long>(plan.out_domain[0].lo),
              static_cast<long long>(plan.out_domain[0].hi), static_cast<long long>(plan.out_domain[1].lo),
              static_cast<long long>(plan.out_domain[1].hi));
  if (!seconds.empty()) {
    std::sort(seconds.begin(), seconds.end());
    std::printf("calls %zu median_s %.6f p90_s %.6f\n", seconds.size(), seconds[seconds.size() / 2],
                seconds[std::min(seconds.size() - 1, seconds.size() * 9 / 10)]);
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 1;
  }
}
