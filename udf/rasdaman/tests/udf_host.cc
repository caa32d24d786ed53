/*
 * A host for crop.so that behaves like a database server: it loads the library with
 * dlopen(RTLD_NOW | RTLD_LOCAL) (every symbol resolved at load time, none of crop.so's leaking into the
 * process), looks up `classify`, hands it r_GMarrays and catches what it throws. The host exports no
 * symbol of its own to crop.so (it is linked without -rdynamic; its copy of rasdaman's client libraries
 * stays private, as in rasserver), so crop.so must resolve everything itself.
 *
 * Built twice from this file:
 *   cropcube_udf_host    arrays built here (raw files, a fixed scene, bad arrays); no network code at all.
 *   cropcube_udf_client  (-DCROPCUBE_UDF_CLIENT) also fetches arrays from a rasdaman server with
 *                        rasodmg (r_Database, r_OQL_Query): exactly the r_GMarrays the client library
 *                        materialises from the server's answer.
 *
 * Usage:
 *   HOST CROP_SO raw --domain 100:149,-20:9 --type ushort --bands 28 --layout pixel|channel IN.raw OUT.raw
 *   HOST CROP_SO selftest          scene in 4 layouts (same map), nodata, 10 bad arrays, calls after errors
 *   HOST CROP_SO bad               only the bad arrays: each must come back as one clean r_Error
 *   CLIENT CROP_SO query HOST PORT 'select ...' OUT.raw    (user/password: $CROPCUBE_RASDAMAN_USER/_PASSWORD,
 *                                                         default rasguest)
 * Output: OUT.raw holds the classes as crop.so returns them ([e][n], n fastest); stdout says
 * "domain [lo:hi,lo:hi]". `query` also writes the cells it received to OUT.raw.input, and exits 4 when
 * crop.so refused the array with a clean r_Error (no unfilled placeholder). Exit status 0 = all fine, 1 = a check failed or an error, 2 = usage.
 */
#include <dlfcn.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <iterator>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "raslib/basetype.hh"
#include "raslib/error.hh"
#include "raslib/minterval.hh"
#include "raslib/mddtypes.hh"
#include "raslib/sinterval.hh"
#include "rasodmg/gmarray.hh"

#ifdef CROPCUBE_UDF_CLIENT
#include "loggingutils.hh"
#include "rasodmg/database.hh"
#include "rasodmg/iterator.hh"
#include "rasodmg/oqlquery.hh"
#include "rasodmg/ref.hh"
#include "rasodmg/set.hh"
#include "rasodmg/transaction.hh"
INITIALIZE_EASYLOGGINGPP
#endif

namespace {

using ClassifyFn = r_GMarray* (*)(r_GMarray*);

int g_failures = 0;

void check(bool ok, const std::string& what) {
  if (!ok) {
    std::fprintf(stderr, "CHECK failed: %s\n", what.c_str());
    ++g_failures;
  }
}

using ClassifyDatesFn = r_GMarray* (*)(r_GMarray*, r_GMarray*);
ClassifyDatesFn g_classify_dates = nullptr;  // crop.classify_dates, looked up beside classify

ClassifyFn load(const char* library) {
  void* handle = dlopen(library, RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    std::fprintf(stderr, "dlopen(%s, RTLD_NOW | RTLD_LOCAL) failed: %s\n", library, dlerror());
    std::exit(1);
  }
  void* symbol = dlsym(handle, "classify");
  if (symbol == nullptr) {
    std::fprintf(stderr, "%s has no symbol `classify`: %s\n", library, dlerror());
    std::exit(1);
  }
  g_classify_dates = reinterpret_cast<ClassifyDatesFn>(dlsym(handle, "classify_dates"));
  if (g_classify_dates == nullptr) {
    std::fprintf(stderr, "%s has no symbol `classify_dates`: %s\n", library, dlerror());
    std::exit(1);
  }
  return reinterpret_cast<ClassifyFn>(symbol);
}

std::string domain_text(const r_Minterval& domain) {
  std::ostringstream s;
  s << domain;
  std::string text = s.str();
  text.erase(std::remove(text.begin(), text.end(), ' '), text.end());
  return text;
}

/* The result of one call: the output array, or the text of the r_Error it threw. */
struct Outcome {
  std::unique_ptr<r_GMarray> array;
  std::string error;
  bool other_exception = false;
};

Outcome call(const std::function<r_GMarray*(r_GMarray*)>& classify, r_GMarray* input) {
  Outcome outcome;
  try {
    outcome.array.reset(classify(input));
  } catch (const r_Error& e) {
    outcome.error = e.what();
    if (outcome.error.empty()) outcome.error = "(empty r_Error)";
  } catch (...) {
    outcome.other_exception = true;
    outcome.error = "an exception other than r_Error";
  }
  return outcome;
}

std::string struct_type(const std::string& band_type, int bands, int dims) {
  if (bands == 1) return "marray <" + band_type + ", " + std::to_string(dims) + ">";
  std::string type = "marray <struct { ";
  for (int b = 0; b < bands; ++b) type += (b ? ", " : "") + band_type + " b" + std::to_string(b);
  return type + " }, " + std::to_string(dims) + ">";
}

size_t band_size(const std::string& t) {
  if (t == "char" || t == "octet" || t == "bool") return 1;
  if (t == "ushort" || t == "short") return 2;
  if (t == "double") return 8;
  return 4;
}

/* An r_GMarray as rasdaman materialises one: domain, cell type, band linearisation, the bytes. */
std::unique_ptr<r_GMarray> make_array(const std::string& domain, const std::string& band_type, int bands,
                                      r_Band_Linearization layout, const std::vector<char>& bytes,
                                      long long size_override = -1) {
  r_Minterval dom(domain.c_str());
  const r_Bytes cell = r_Bytes(band_size(band_type) * size_t(bands));
  auto array = std::make_unique<r_GMarray>(dom, cell, nullptr, nullptr, false);
  array->set_type_structure(struct_type(band_type, bands, int(dom.dimension())).c_str());
  array->set_band_linearization(layout);
  const size_t n = size_override >= 0 ? size_t(size_override) : bytes.size();
  char* data = new char[n > 0 ? n : 1];
  std::memcpy(data, bytes.data(), std::min(n, bytes.size()));
  array->set_array(data);
  array->set_array_size(r_Bytes(n));
  return array;
}

bool write_output(const Outcome& outcome, const std::string& path) {
  const r_GMarray& a = *outcome.array;
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(a.get_array(), std::streamsize(a.get_array_size()));
  std::printf("domain %s\n", domain_text(a.spatial_domain()).c_str());
  return bool(out);
}

int report(const Outcome& outcome, const std::string& out_path) {
  if (!outcome.array) {
    std::fprintf(stderr, "error: %s\n", outcome.error.c_str());
    return 1;
  }
  return write_output(outcome, out_path) ? 0 : 1;
}

/* raw: the cells of a file, as cropcube_udf_run reads them. */
int run_raw(ClassifyFn classify, int argc, char** argv) {
  std::string domain, type = "ushort", layout = "pixel";
  int bands = 28;
  std::vector<std::string> files;
  for (int i = 0; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--domain" && i + 1 < argc) domain = "[" + std::string(argv[++i]) + "]";
    else if (arg == "--type" && i + 1 < argc) type = argv[++i];
    else if (arg == "--bands" && i + 1 < argc) bands = std::atoi(argv[++i]);
    else if (arg == "--layout" && i + 1 < argc) layout = argv[++i];
    else files.push_back(arg);
  }
  if (files.size() != 2 || domain.empty()) return 2;
  std::ifstream in(files[0], std::ios::binary);
  const std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto array = make_array(domain, type, bands,
                          layout == "channel" ? r_Band_Linearization::ChannelInterleaved
                                              : r_Band_Linearization::PixelInterleaved,
                          bytes);
  return report(call(classify, array.get()), files[1]);
}

/* A scene (T=7 x C=4 ushort bands), as [e][n] cells in either band layout, 2-D or 3-D. */
std::vector<char> scene_cells(int64_t E, int64_t N, bool three_d, bool channel) {
  const int64_t T = 7, C = 4, TC = T * C;
  std::vector<uint16_t> v(size_t(TC * E * N));
  auto value = [&](int64_t t, int64_t c, int64_t e, int64_t n) {
    return uint16_t(300 + ((n / 5) * 7 + (e / 4) * 3 + (t * C + c) * 11) % 17 * 250 + (e * 31 + n * 17) % 97);
  };
  for (int64_t t = 0; t < T; ++t)
    for (int64_t c = 0; c < C; ++c)
      for (int64_t e = 0; e < E; ++e)
        for (int64_t n = 0; n < N; ++n) {
          int64_t i;
          if (!three_d) i = channel ? ((t * C + c) * E + e) * N + n : (e * N + n) * TC + t * C + c;
          else i = channel ? ((c * T + t) * E + e) * N + n : ((t * E + e) * N + n) * C + c;
          v[size_t(i)] = (e == 2 && n == 3) ? 0 : value(t, c, e, n);  // one nodata cell
        }
  std::vector<char> bytes(v.size() * 2);
  std::memcpy(bytes.data(), v.data(), bytes.size());
  return bytes;
}

/* "" when the error text has none of rasdaman's placeholders left unfilled, else a complaint. */
std::string checked_text(const Outcome& o) {
  for (const char* placeholder : {"$errorNo", "$lineNo", "$columnNo", "$token"})
    if (o.error.find(placeholder) != std::string::npos) return "error text has an unfilled placeholder: " + o.error;
  return "";
}

void run_bad(ClassifyFn classify) {
  struct Bad {
    const char* name;
    std::function<std::unique_ptr<r_GMarray>()> make;
    const char* needle;
  };
  const auto cells = scene_cells(6, 5, false, false);
  const std::vector<Bad> bads = {
      {"char cells", [&] { return make_array("[0:3,0:3]", "char", 1, r_Band_Linearization::PixelInterleaved, std::vector<char>(16, 7)); }, "char"},
      {"27 bands", [&] { return make_array("[0:1,0:1]", "ushort", 27, r_Band_Linearization::PixelInterleaved, std::vector<char>(4 * 27 * 2, 1)); }, "27 bands"},
      {"1-D", [&] { return make_array("[0:29]", "ushort", 28, r_Band_Linearization::PixelInterleaved, cells); }, "1-D"},
      {"4-D", [&] { return make_array("[0:0,0:0,0:5,0:4]", "ushort", 28, r_Band_Linearization::PixelInterleaved, cells); }, "4-D"},
      {"3-D with 5 time slices", [&] { return make_array("[0:4,0:1,0:1]", "ushort", 4, r_Band_Linearization::PixelInterleaved, std::vector<char>(5 * 4 * 4 * 2, 1)); }, "5 time slices"},
      {"too few bytes", [&] { return make_array("[0:5,0:4]", "ushort", 28, r_Band_Linearization::PixelInterleaved, cells, (long long)cells.size() - 2); }, "bytes"},
      {"too many bytes", [&] { return make_array("[0:5,0:4]", "ushort", 28, r_Band_Linearization::PixelInterleaved, cells, (long long)cells.size() + 56); }, "bytes"},
      {"mixed band types", [&] {
         auto a = make_array("[0:1,0:1]", "ushort", 28, r_Band_Linearization::PixelInterleaved, std::vector<char>(4 * 56, 1));
         std::string t = "marray <struct { float f0";
         for (int b = 1; b < 28; ++b) t += ", ushort b" + std::to_string(b);
         a->set_type_structure((t + " }, 2>").c_str());
         return a; }, "mixed"},
      {"double cells", [&] { return make_array("[0:1,0:1]", "double", 28, r_Band_Linearization::PixelInterleaved, std::vector<char>(4 * 28 * 8, 0)); }, "double"},
      {"no data pointer", [&] {
         auto a = make_array("[0:5,0:4]", "ushort", 28, r_Band_Linearization::PixelInterleaved, cells);
         delete[] a->get_array();
         a->set_array(nullptr);
         return a; }, "no data"},
  };
  for (const Bad& bad : bads) {
    std::unique_ptr<r_GMarray> input = bad.make();
    const Outcome o = call(classify, input.get());
    check(!o.array, std::string(bad.name) + ": expected an error, got a result");
    check(!o.other_exception, std::string(bad.name) + ": threw something other than r_Error");
    check(o.error.find(bad.needle) != std::string::npos && o.error.find("crop.classify: ") != std::string::npos,
          std::string(bad.name) + ": error '" + o.error + "' does not name '" + bad.needle + "'");
    const std::string placeholder = checked_text(o);
    check(placeholder.empty(), std::string(bad.name) + ": " + placeholder);
    std::printf("bad %-24s -> %s\n", bad.name, o.error.c_str());
  }
  check(call(classify, nullptr).error.find("no input array") != std::string::npos, "NULL input: clean error");
}

/* crop.classify_dates: the bundle's own dates (from the .doy file make_udf_test_bundle.py writes beside
 * it) give crop.classify's map; bad dates arrays are clean errors naming "dates". */
void run_dates(int64_t E, int64_t N, const std::vector<char>& reference) {
  const char* model = std::getenv("CROPCUBE_MODEL");
  const std::string bundle = model ? model : "";
  std::ifstream file(bundle.substr(0, bundle.rfind('.')) + ".doy");
  std::vector<float> days{std::istream_iterator<float>(file), std::istream_iterator<float>()};
  check(!days.empty(), "the test bundle's .doy file is readable");
  if (days.empty()) return;
  auto as_bytes = [](const std::vector<float>& v) {
    return std::vector<char>(reinterpret_cast<const char*>(v.data()), reinterpret_cast<const char*>(v.data() + v.size()));
  };
  auto dates_call = [&](const std::string& domain, const std::string& type, const std::vector<char>& bytes) {
    auto input = make_array("[-4:4,100:105]", "ushort", 28, r_Band_Linearization::PixelInterleaved,
                            scene_cells(E, N, false, false));
    auto doy = make_array(domain, type, 1, r_Band_Linearization::PixelInterleaved, bytes);
    return call([&](r_GMarray* cube) { return g_classify_dates(cube, doy.get()); }, input.get());
  };
  const std::string span = "[0:" + std::to_string(days.size() - 1) + "]";
  const Outcome same = dates_call(span, "float", as_bytes(days));
  check(same.array && std::vector<char>(same.array->get_array(), same.array->get_array() + E * N) == reference,
        "classify_dates with the bundle's own dates equals classify: " + same.error);
  std::vector<float> other = days;
  other.back() -= 1;  // a format-1 bundle takes only its fixed dates: refused, never substituted
  check(dates_call(span, "float", as_bytes(other)).error.find("fixed dates") != std::string::npos,
        "other dates for a fixed-calendar bundle: clean error");
  check(dates_call("[0:2]", "float", as_bytes({100, 150, 200})).error.find("dates") != std::string::npos,
        "3 dates for a 28-band cube: clean error");
  check(dates_call("[0:1,0:2]", "float", as_bytes(std::vector<float>(6, 100.f))).error.find("1-D") != std::string::npos,
        "a 2-D dates array: clean error");
}

int run_selftest(ClassifyFn classify) {
  const int64_t E = 9, N = 6;  // non-square: a transpose cannot go unnoticed
  std::vector<char> reference;
  for (bool three_d : {false, true})
    for (bool channel : {false, true}) {
      const auto cells = scene_cells(E, N, three_d, channel);
      const std::string domain = three_d ? "[0:6,-4:4,100:105]" : "[-4:4,100:105]";
      auto input = make_array(domain, "ushort", three_d ? 4 : 28,
                              channel ? r_Band_Linearization::ChannelInterleaved
                                      : r_Band_Linearization::PixelInterleaved,
                              cells);
      const Outcome o = call(classify, input.get());
      const std::string name = std::string(three_d ? "3-D" : "2-D") + (channel ? " channel" : " pixel");
      if (!o.array) {
        check(false, name + ": " + o.error);
        continue;
      }
      check(domain_text(o.array->spatial_domain()) == "[-4:4,100:105]", name + ": output keeps the (E, N) domain");
      check(o.array->get_array_size() == size_t(E * N) && o.array->get_type_length() == 1, name + ": uint8 cells");
      std::vector<char> got(o.array->get_array(), o.array->get_array() + o.array->get_array_size());
      check(got[size_t(2 * N + 3)] == 0, name + ": the nodata cell is class 0");
      if (reference.empty()) reference = got;
      check(got == reference, name + ": same map as 2-D pixel-interleaved");
    }
  run_dates(E, N, reference);
  run_bad(classify);
  // Errors leave the library usable: a good call after the bad ones still works.
  auto again = make_array("[-4:4,100:105]", "ushort", 28, r_Band_Linearization::PixelInterleaved,
                          scene_cells(E, N, false, false));
  const Outcome o = call(classify, again.get());
  check(o.array != nullptr && std::vector<char>(o.array->get_array(), o.array->get_array() + E * N) == reference,
        "a call after the errors gives the same map");
  std::printf("%s\n", g_failures ? "selftest FAILED" : "selftest passed");
  return g_failures ? 1 : 0;
}

#ifdef CROPCUBE_UDF_CLIENT
/* Every array a query returns, fetched with rasodmg, classified by crop.so as the server would. */
int run_query(ClassifyFn classify, const char* host, int port, const char* query, const std::string& out) {
  common::LogConfiguration logging;
  logging.configClientLogging();
  const char* user = std::getenv("CROPCUBE_RASDAMAN_USER");
  const char* password = std::getenv("CROPCUBE_RASDAMAN_PASSWORD");
  r_Database database;
  r_Transaction transaction{&database};
  r_Set<r_Ref<r_GMarray>> result;
  try {
    database.set_servername(host, port);
    database.set_useridentification(user ? user : "rasguest", password ? password : "rasguest");
    database.open("RASBASE");
    transaction.begin(r_Transaction::read_only);
    r_OQL_Query q(query);
    r_oql_execute(q, result, &transaction);
  } catch (const r_Error& e) {
    std::fprintf(stderr, "rasdaman error %lu: %s\n", e.get_errorno(), e.what());
    return 3;
  }
  int status = 0;
  int index = 0;
  for (r_Iterator<r_Ref<r_GMarray>> it = result.create_iterator(); it.not_done(); it++, ++index) {
    r_Ref<r_GMarray> array = *it;
    std::printf("input %d: domain %s, %lu-byte cells, %s\n", index, domain_text(array->spatial_domain()).c_str(),
                (unsigned long)array->get_type_length(),
                array->get_band_linearization() == r_Band_Linearization::ChannelInterleaved ? "channel" : "pixel");
    {  // the cells as received, so that a test can classify the same bytes in the bare host
      std::ofstream cells(out + ".input" + (index ? "." + std::to_string(index) : ""), std::ios::binary);
      cells.write(array->get_array(), std::streamsize(array->get_array_size()));
    }
    const Outcome o = call(classify, &*array);
    if (o.array) {
      status |= write_output(o, index == 0 ? out : out + "." + std::to_string(index)) ? 0 : 1;
    } else {
      std::printf("error: %s\n", o.error.c_str());
      status |= checked_text(o).empty() && !o.other_exception ? 4 : 1;
    }
  }
  transaction.abort();
  database.close();
  return status;
}
#endif

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s CROP_SO raw|selftest|bad|query ...\n", argv[0]);
    return 2;
  }
  const ClassifyFn classify = load(argv[1]);
  const std::string command = argv[2];
  if (command == "raw") return run_raw(classify, argc - 3, argv + 3);
  if (command == "selftest") return run_selftest(classify);
  if (command == "bad") {
    run_bad(classify);
    return g_failures ? 1 : 0;
  }
#ifdef CROPCUBE_UDF_CLIENT
  if (command == "query" && argc == 7) return run_query(classify, argv[3], std::atoi(argv[4]), argv[5], argv[6]);
#endif
  std::fprintf(stderr, "unknown command or wrong arguments: %s\n", command.c_str());
  return 2;
}
