// The process-wide oneDNN engine and the ATen <-> oneDNN type bridge shared by the oneDNN
// primitives in src/runtime. Only compiled into builds that have oneDNN (MTST_HAVE_DNNL).
#pragma once

#ifdef MTST_HAVE_DNNL

#include <ATen/ATen.h>

#include <oneapi/dnnl/dnnl.hpp>
#include <unordered_map>

namespace mtst {

const dnnl::engine& dnnl_engine();

dnnl::memory::data_type dnnl_type(at::ScalarType t);

// The oneDNN description of a strided ATen tensor (sizes and strides as they are).
dnnl::memory::desc dnnl_describe(const at::Tensor& t);

// Executes PRIMITIVE with ARGS on a fresh stream and waits (CPU streams are cheap).
void dnnl_run(const dnnl::primitive& primitive, const std::unordered_map<int, dnnl::memory>& args);

}  // namespace mtst

#endif
