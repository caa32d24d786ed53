/*
 * What rasdaman's client libraries need besides themselves, provided INSIDE crop.so, so that crop.so
 * resolves every symbol it uses (it is linked with -Wl,--no-undefined) and asks nothing of the server
 * process that loads it.
 *
 * crop.so carries its own copy of librasodmg.a / libraslib.a (r_GMarray, r_Minterval, r_Error, type
 * parsing), hidden (-Wl,--exclude-libs,ALL): a community rasserver exports none of these symbols (its
 * dynamic symbol table holds only weak template instantiations; see docs/udf.md, "Which build fits which
 * server"). Their object code references, besides libeasyloggingpp.a and libmymalloc_cln.a (linked in
 * whole), exactly three symbols of rasdaman's client/server transport:
 *
 *   ClientComm::setDatabase, ClientComm::setTransaction   (r_Database::open, r_Transaction::begin)
 *   RasnetClientComm::RasnetClientComm(const std::string&, int)   (r_Database::open)
 *
 * A UDF never opens a database: it receives an array and returns one. Linking the real transport would
 * pull gRPC, protobuf and rasnet's generated protobuf messages into crop.so, a second copy of what the
 * server itself runs on. Instead they are defined here to throw, so that a (never expected) call is an
 * ordinary rasdaman error, not a missing symbol that ends the server process.
 */
#include <string>

#include "clientcomm/clientcomm.hh"
#include "raslib/error.hh"

// The easylogging++ storage the rasdaman library code logs through. rasdaman programs define it with
// this macro in their main file; crop.so has its own (hidden) one. The crash handler it declares is off
// (ELPP_DISABLE_DEFAULT_CRASH_HANDLING, as rasdaman builds it): no signal handlers are installed.
#include "logging.hh"
INITIALIZE_EASYLOGGINGPP

namespace {
[[noreturn]] void no_transport(const char* what) {
  throw r_Error((std::string("crop.classify: ") + what +
                 " is not available inside a UDF (crop.so carries no rasdaman client transport)")
                    .c_str());
}
}  // namespace

void ClientComm::setDatabase(r_Database*) { no_transport("ClientComm::setDatabase"); }

void ClientComm::setTransaction(r_Transaction*) { no_transport("ClientComm::setTransaction"); }

// rasnetclientcomm.hh is not installed with rasdaman's headers; only the constructor's symbol is needed,
// and it throws before touching the object, so this minimal declaration is all it takes.
class RasnetClientComm {
 public:
  RasnetClientComm(const std::string& host, int port);
};

RasnetClientComm::RasnetClientComm(const std::string&, int) { no_transport("a connection to rasmgr"); }
