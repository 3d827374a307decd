// libFuzzer target for what users type: scenario files, program files, and the values of
// --set/--cost/--knob (fuzz/fuzz_exercise.h). Run: scripts/fuzz.sh SECONDS.
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz/fuzz_exercise.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size > 64 * 1024) return 0;  // scenario files are a few dozen lines
  sd::fuzz::exercise(std::string(reinterpret_cast<const char*>(data), size));
  return 0;
}
