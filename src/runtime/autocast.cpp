// libtorch 1.13 and 2.4+ spellings of autocast on and off (see autocast.h).
#include "runtime/autocast.h"

#include <ATen/autocast_mode.h>
#include <torch/version.h>

namespace mtst {

namespace {

#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
bool enabled(c10::DeviceType type) { return at::autocast::is_autocast_enabled(type); }
void set_enabled(c10::DeviceType type, bool on) { at::autocast::set_autocast_enabled(type, on); }
void set_bf16(c10::DeviceType type) { at::autocast::set_autocast_dtype(type, at::kBFloat16); }
#else
bool enabled(c10::DeviceType type) {
  return type == c10::kCPU ? at::autocast::is_cpu_enabled() : at::autocast::is_enabled();
}
void set_enabled(c10::DeviceType type, bool on) {
  if (type == c10::kCPU) {
    at::autocast::set_cpu_enabled(on);
  } else {
    at::autocast::set_enabled(on);
  }
}
void set_bf16(c10::DeviceType type) {
  if (type == c10::kCPU) {
    at::autocast::set_autocast_cpu_dtype(at::kBFloat16);
  } else {
    at::autocast::set_autocast_gpu_dtype(at::kBFloat16);
  }
}
#endif

}  // namespace

AutocastScope::AutocastScope(const c10::Device& device, bool enable)
    : type_(device.type()), previous_(enabled(device.type())) {
  if (enable) set_bf16(type_);
  set_enabled(type_, enable);
}

AutocastScope::~AutocastScope() {
  set_enabled(type_, previous_);
  at::autocast::clear_cache();
}

bool cpu_autocast_enabled() { return enabled(c10::kCPU); }

}  // namespace mtst
