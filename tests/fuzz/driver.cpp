// A deterministic stand-in for libFuzzer where it is not available (g++ builds, CI):
//   fuzz_<target> [--runs N] SEED_FILE...
// runs every seed, then N mutations of them from a fixed seed, through the target's
// LLVMFuzzerTestOneInput. The same inputs on every run and machine; a crash kills the
// process and an escaping exception is reported with the input's first bytes (exit 1).
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

constexpr uint64_t kSeed = 0x11f022;

class Mutator {
 public:
  explicit Mutator(uint64_t seed) : rng_(seed) {}

  std::string mutate(std::string s) {
    const size_t steps = 1 + pick(3);
    for (size_t i = 0; i < steps; ++i) s = mutate_once(std::move(s));
    return s;
  }

 private:
  size_t pick(size_t n) { return n == 0 ? 0 : std::uniform_int_distribution<size_t>(0, n - 1)(rng_); }

  std::string mutate_once(std::string s) {
    static const char kInteresting[] = "{}[],:\"'()0123456789-.eE \n\t\\ulltruefalseTrueFalse\x00\xff";
    static const char* const kNumbers[] = {"0", "-1", "1e400", "99999999999999999999", "4294967295",
                                           "9223372036854775807", "65504", "nan", "1.5", "3037000500"};
    const size_t at = pick(s.size() + 1);
    switch (pick(8)) {
      case 0:  // flip bits
        if (!s.empty()) s[pick(s.size())] ^= static_cast<char>(1u << pick(8));
        return s;
      case 1:  // a structural character
        if (!s.empty()) s[pick(s.size())] = kInteresting[pick(sizeof kInteresting - 1)];
        return s;
      case 2:  // truncate
        return s.substr(0, at);
      case 3: {  // duplicate a slice (repeats fields, keys, lines)
        const size_t from = pick(s.size() + 1), len = pick(std::min<size_t>(s.size() - from, 256) + 1);
        return s.insert(at, s.substr(from, len));
      }
      case 4:  // deep nesting
        return s.insert(at, std::string(1 + pick(300), pick(2) ? '[' : '{'));
      case 5:  // a number that overflows something
        return s.insert(at, kNumbers[pick(std::size(kNumbers))]);
      case 6: {  // a 4-byte little-endian length or count
        const uint32_t values[] = {0, 1, 0xFFFF, 0x10000, 0x7FFFFFFF, 0xFFFFFFF0};
        const uint32_t v = values[pick(std::size(values))];
        for (size_t i = 0; i < 4 && at + i < s.size(); ++i) s[at + i] = static_cast<char>((v >> (8 * i)) & 0xff);
        return s;
      }
      default:  // erase a slice
        return s.erase(at, pick(64));
    }
  }

  std::mt19937_64 rng_;
};

bool run(const std::string& input) {
  try {
    LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(input.data()), input.size());
    return true;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "FINDING: undocumented exception: %s\ninput (%zu bytes) begins: ", e.what(), input.size());
    for (size_t i = 0; i < input.size() && i < 200; ++i) {
      const unsigned char c = static_cast<unsigned char>(input[i]);
      std::fprintf(stderr, (c >= 32 && c < 127) ? "%c" : "\\x%02x", c);
    }
    std::fprintf(stderr, "\n");
    return false;
  }
}

}  // namespace

int main(int argc, char** argv) {
  long runs = 1000;
  std::vector<std::string> seeds;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--runs") == 0 && i + 1 < argc) {
      runs = std::strtol(argv[++i], nullptr, 10);
      continue;
    }
    std::ifstream in(argv[i], std::ios::binary);
    if (!in) {
      std::fprintf(stderr, "cannot read seed %s\n", argv[i]);
      return 2;
    }
    std::stringstream bytes;
    bytes << in.rdbuf();
    seeds.push_back(bytes.str());
  }
  if (seeds.empty()) {
    std::fprintf(stderr, "usage: %s [--runs N] SEED_FILE...\n", argv[0]);
    return 2;
  }
  for (const std::string& seed : seeds) {
    if (!run(seed)) return 1;
  }
  Mutator mutator(kSeed);
  for (long i = 0; i < runs; ++i) {
    if (!run(mutator.mutate(seeds[i % seeds.size()]))) return 1;
  }
  std::printf("%s: %zu seeds and %ld mutations, no finding\n", argv[0], seeds.size(), runs);
  return 0;
}
