// Deterministic random streams: one master seed, one derived stream per named user.
// No global RNG anywhere in the model.
#pragma once
#include <cstdint>
#include <string_view>

namespace sd::sim {

inline constexpr std::uint64_t splitmix64_gamma = 0x9e3779b97f4a7c15ULL;

inline std::uint64_t splitmix64_mix(std::uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

inline std::uint64_t splitmix64(std::uint64_t& x) {
  return splitmix64_mix(x += splitmix64_gamma);
}

class rng {
 public:
  // Stream `name`/`index` of master seed `seed`: independent of how many other streams exist.
  rng(std::uint64_t seed, std::string_view name, std::uint64_t index = 0)
      : rng(seed ^ fnv1a(name), index) {}
  std::uint64_t next() { return splitmix64(state_); }
  // Uniform in [0, n), n > 0.
  std::uint64_t below(std::uint64_t n) { return next() % n; }
  // What the i-th call of below(n) (from 0) returns, counting from now, without drawing:
  // splitmix64 is counter-based, so the stream can be read at any position.
  std::uint64_t below_at(std::uint64_t i, std::uint64_t n) const {
    return splitmix64_mix(state_ + (i + 1) * splitmix64_gamma) % n;
  }

 private:
  friend class rng_family;
  rng(std::uint64_t seeded_name, std::uint64_t index)
      : state_(seeded_name ^ (index * 0xd1b54a32d192ed03ULL)) {}
  static std::uint64_t fnv1a(std::string_view name) {
    std::uint64_t h = 1469598103934665603ULL;
    for (char c : name) h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ULL;
    return h;
  }
  std::uint64_t state_;
};

// The streams `name`/0, `name`/1, ... of one seed, the same as rng(seed, name, index), with
// the name hashed once: one stream per CPU of a 4096-CPU machine.
class rng_family {
 public:
  rng_family(std::uint64_t seed, std::string_view name) : seeded_name_(seed ^ rng::fnv1a(name)) {}
  rng operator[](std::uint64_t index) const { return {seeded_name_, index}; }

 private:
  std::uint64_t seeded_name_;
};

}  // namespace sd::sim
