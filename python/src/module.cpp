// The extension module mtst._mtst: registers mtst::Error as mtst.Error (a ValueError) and the
// bindings of each binding file.
#include <ATen/Parallel.h>
#include <nanobind/nanobind.h>

#include <vector>

#include "bindings.h"
#include "mtst/error.h"
#include "mtst/runtime/exec_options.h"

namespace mtst::python {

template <typename Array, typename T>
Array tensor_array(at::Tensor t) {
  t = t.contiguous();
  auto* owner = new at::Tensor(t);
  nb::capsule keep(owner, [](void* p) noexcept { delete static_cast<at::Tensor*>(p); });
  std::vector<size_t> shape(t.sizes().begin(), t.sizes().end());
  return Array(owner->data_ptr<T>(), shape.size(), shape.data(), keep);
}

FloatArray float_array(at::Tensor t) { return tensor_array<FloatArray, float>(t.to(at::kFloat)); }
LongArray long_array(at::Tensor t) { return tensor_array<LongArray, int64_t>(t.to(at::kLong)); }

void use_threads(int threads) {
  (void)at::get_num_threads();  // ATen's first call on a thread sets the global count: first
  at::set_num_threads(threads);
}

}  // namespace mtst::python

NB_MODULE(_mtst, m) {
  namespace nb = nanobind;
  m.doc() = "mtst's native core (use the mtst package, not this module)";
  m.attr("__version__") = MTST_VERSION;
  m.attr("source_dir") = MTST_SOURCE_DIR;
  nb::exception<mtst::Error>(m, "Error", PyExc_ValueError);
  mtst::keep_freed_memory();
  m.def("physical_cores", &mtst::physical_cores);
  mtst::python::bind_encoder(m);
  mtst::python::bind_training(m);
  mtst::python::bind_server(m);
}
