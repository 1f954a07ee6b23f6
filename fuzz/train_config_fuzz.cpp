// libFuzzer target: a training config (the JSON a user writes) and one `--set key=value`
// override. The input's first line is the override when it holds '=' and does not start with
// '{'; the rest is the config file. Loading must either give a config that survives a round trip
// through to_json (the form saved inside every checkpoint), or throw mtst::Error.
#include <cstdint>
#include <string>
#include <vector>

#include "fuzz_util.h"
#include "mtst/train/train_config.h"

namespace {

// Splits INPUT into the overrides (zero or one) and the config text.
std::vector<std::string> take_override(std::string& input) {
  const auto newline = input.find('\n');
  if (newline == std::string::npos || input.empty() || input[0] == '{') return {};
  const std::string first = input.substr(0, newline);
  if (first.find('=') == std::string::npos) return {};
  input.erase(0, newline + 1);
  return {first};
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string input(reinterpret_cast<const char*>(data), size);
  const auto overrides = take_override(input);
  const auto dir = mtst::fuzz::scratch_dir();
  mtst::fuzz::write_text(dir / "train.json", input);
  try {
    const auto config = mtst::TrainConfig::from_file(dir / "train.json", overrides);
    const auto saved = config.to_json();
    if (mtst::TrainConfig::from_json(saved, dir, "round trip").to_json() != saved) {
      mtst::fuzz::invariant_broken();
    }
  } catch (const mtst::Error&) {
  }
  return 0;
}
