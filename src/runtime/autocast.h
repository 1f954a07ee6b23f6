// Mixed-precision autocast (bf16 matrix products, fp32 elsewhere) for the CPU or a GPU, in one
// place: libtorch 2.4 replaced the per-device autocast calls of 1.13 with device-type ones.
#pragma once

#include <c10/core/Device.h>

namespace mtst {

// bf16 autocast on DEVICE's type for the scope when ENABLE, restoring the previous setting.
class AutocastScope {
 public:
  AutocastScope(const c10::Device& device, bool enable);
  ~AutocastScope();
  AutocastScope(const AutocastScope&) = delete;
  AutocastScope& operator=(const AutocastScope&) = delete;

 private:
  c10::DeviceType type_;
  bool previous_;
};

// Whether CPU autocast is on (the CPU training products then run in bf16).
bool cpu_autocast_enabled();

}  // namespace mtst
