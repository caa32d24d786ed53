// SHA-256 (FIPS 180-4), for the bundle content hash the Python package writes (bundle/io.py).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace cropcube {

class Sha256 {
 public:
  Sha256();
  void update(const void* data, size_t n);
  void update(const std::string& s) { update(s.data(), s.size()); }
  std::string hex();  // finishes the digest; the object is spent afterwards

 private:
  void block(const uint8_t* p);
  uint32_t h_[8];
  uint8_t buf_[64];
  size_t used_ = 0;
  uint64_t bits_ = 0;
};

}  // namespace cropcube
