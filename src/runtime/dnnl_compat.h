// The one place where mtst's oneDNN code depends on the library's major version. oneDNN 3.0
// replaced operation descriptors with primitive-descriptor constructors, dropped the scale
// argument of eltwise post-ops and made memory descriptors opaque handles; everything else in
// src/runtime is written once against the calls below. Supported: oneDNN 2.x and 3.x.
#pragma once

#ifdef MTST_HAVE_DNNL

#include <oneapi/dnnl/dnnl.hpp>
#include <string>

#if DNNL_VERSION_MAJOR != 2 && DNNL_VERSION_MAJOR != 3
#error "mtst supports oneDNN 2.x and 3.x"
#endif

namespace mtst {

// A matmul primitive descriptor; BIAS may be null.
dnnl::matmul::primitive_desc dnnl_matmul_desc(const dnnl::memory::desc& src,
                                              const dnnl::memory::desc& weights,
                                              const dnnl::memory::desc* bias,
                                              const dnnl::memory::desc& dst,
                                              const dnnl::primitive_attr& attr);

// Inference layer normalisation over the last axis with per-channel scale and shift.
dnnl::layer_normalization_forward::primitive_desc dnnl_layer_norm_desc(
    const dnnl::memory::desc& data, float epsilon, const dnnl::primitive_attr& attr);

// Inference softmax (the numerically careful variant) along AXIS, from SRC into DST: their data
// types may differ (fp32 scores into bf16 probabilities). oneDNN 2.x calls this primitive
// softmax_v2.
#if DNNL_VERSION_MAJOR >= 3
using DnnlSoftmax = dnnl::softmax_forward;
#else
using DnnlSoftmax = dnnl::softmax_v2_forward;
#endif
DnnlSoftmax::primitive_desc dnnl_softmax_desc(const dnnl::memory::desc& src,
                                              const dnnl::memory::desc& dst, int axis,
                                              const dnnl::primitive_attr& attr);

// Appends dst = algorithm(dst; alpha, beta) to OPS.
void dnnl_append_eltwise(dnnl::post_ops& ops, dnnl::algorithm algorithm, float alpha, float beta);

// The name of a oneDNN cpu_isa value (dnnl::get_effective_cpu_isa()), e.g. "avx512_core_vnni";
// the numbering differs between 2.x and 3.x.
std::string dnnl_isa_name(unsigned isa);

// The scratchpad PRIMITIVE needs in user scratchpad mode; a zero-size descriptor when none.
dnnl::memory::desc dnnl_scratchpad_desc(const dnnl::primitive& primitive);

}  // namespace mtst

#endif
