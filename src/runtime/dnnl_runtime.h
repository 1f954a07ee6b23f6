// The process-wide oneDNN engine and the ATen <-> oneDNN type bridge shared by the oneDNN
// primitives in src/runtime. Only compiled into builds that have oneDNN (MTST_HAVE_DNNL).
#pragma once

#ifdef MTST_HAVE_DNNL

#include <ATen/ATen.h>

#include <oneapi/dnnl/dnnl.hpp>
#include <string>
#include <unordered_map>

namespace mtst {

const dnnl::engine& dnnl_engine();

dnnl::memory::data_type dnnl_type(at::ScalarType t);

// The oneDNN description of a strided ATen tensor (sizes and strides as they are).
dnnl::memory::desc dnnl_describe(const at::Tensor& t);

// The calling thread's OpenMP team size, for primitive cache keys: a oneDNN primitive keeps
// the thread count it was created with, so one made on a many-thread caller must not run on a
// one-thread batch worker (it would start its own team there and oversubscribe the cores).
std::string dnnl_threads_key();

// Attributes every mtst primitive is created with: a caller-provided (per-call) scratchpad.
dnnl::primitive_attr dnnl_attr();

// Executes PRIMITIVE with ARGS (plus a fresh scratchpad) on a new stream and waits.
void dnnl_run(const dnnl::primitive& primitive, std::unordered_map<int, dnnl::memory> args);

}  // namespace mtst

#endif
