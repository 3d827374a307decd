// Replays the fuzzing regression corpus (tests/fuzz_regressions/: inputs that once crashed,
// hung or were accepted wrongly, and the issue 10 defects) through what scripts/fuzz.sh runs
// on each input: every one must end in a result or an input_error, here and under the
// sanitizers of scripts/test-sanitize.sh.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "fuzz/fuzz_exercise.h"

namespace {

TEST(FuzzRegressions, EveryCorpusInputEndsInAResultOrAnInputError) {
  const std::filesystem::path dir =
      std::filesystem::path(SHOOTDOWN_SOURCE_DIR) / "tests" / "fuzz_regressions";
  int replayed = 0;
  for (const auto& f : std::filesystem::directory_iterator(dir)) {
    std::ifstream in(f.path(), std::ios::binary);
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_NO_THROW(sd::fuzz::exercise(text)) << f.path();
    ++replayed;
  }
  EXPECT_GE(replayed, 3);
}

}  // namespace
