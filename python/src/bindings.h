// Shared pieces of the extension module mtst._mtst (nanobind): array conversion, the GIL and
// per-call CPU threads, and one bind_* function per binding file. The Python layer
// (python/mtst/*.py) checks argument types and gives the ST-shaped API; this layer is thin.
#pragma once

#include <ATen/ATen.h>
#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>

#include <cstdint>

namespace mtst::python {

namespace nb = nanobind;

using FloatArray = nb::ndarray<nb::numpy, float>;
using LongArray = nb::ndarray<nb::numpy, int64_t>;

// A numpy array over T's memory (made contiguous first), keeping T alive as its owner: no copy.
FloatArray float_array(at::Tensor t);
LongArray long_array(at::Tensor t);

// Sets the calling thread's libtorch/OpenMP team size: ATen keeps it per thread, so every
// Python thread that calls in sets its own before it computes.
void use_threads(int threads);

void bind_encoder(nb::module_& m);
void bind_training(nb::module_& m);
void bind_server(nb::module_& m);

}  // namespace mtst::python
