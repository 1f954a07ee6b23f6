// oneDNN 2.x and 3.x spellings of the calls declared in dnnl_compat.h.
#include "runtime/dnnl_compat.h"

#ifdef MTST_HAVE_DNNL

#include <cstdio>

#include "runtime/dnnl_runtime.h"

namespace mtst {

namespace {
constexpr auto kInference = dnnl::prop_kind::forward_inference;
// An ISA value the tables below do not name: older ones, or newer than this build knows.
std::string other_isa_name(unsigned isa) {
  if (isa <= 0x3) return "sse41/avx";
  char hex[16];
  std::snprintf(hex, sizeof hex, "0x%x", isa);
  return std::string("isa ") + hex;
}

const auto kScaleShift =
    dnnl::normalization_flags::use_scale | dnnl::normalization_flags::use_shift;
}  // namespace

#if DNNL_VERSION_MAJOR >= 3

dnnl::matmul::primitive_desc dnnl_matmul_desc(const dnnl::memory::desc& src,
                                              const dnnl::memory::desc& weights,
                                              const dnnl::memory::desc* bias,
                                              const dnnl::memory::desc& dst,
                                              const dnnl::primitive_attr& attr) {
  if (bias == nullptr) return {dnnl_engine(), src, weights, dst, attr};
  return {dnnl_engine(), src, weights, *bias, dst, attr};
}

dnnl::layer_normalization_forward::primitive_desc dnnl_layer_norm_desc(
    const dnnl::memory::desc& data, float epsilon, const dnnl::primitive_attr& attr) {
  return {dnnl_engine(), kInference, data, data, epsilon, kScaleShift, attr};
}

DnnlSoftmax::primitive_desc dnnl_softmax_desc(const dnnl::memory::desc& src,
                                              const dnnl::memory::desc& dst, int axis,
                                              const dnnl::primitive_attr& attr) {
  return {dnnl_engine(), kInference, dnnl::algorithm::softmax_accurate, src, dst, axis, attr};
}

void dnnl_append_eltwise(dnnl::post_ops& ops, dnnl::algorithm algorithm, float alpha, float beta) {
  ops.append_eltwise(algorithm, alpha, beta);
}

std::string dnnl_isa_name(unsigned isa) {
  switch (isa) {
    case 0x7:
      return "avx2";
    case 0xf:
      return "avx2_vnni";
    case 0x1f:
      return "avx2_vnni_2";
    case 0x27:
      return "avx512_core";
    case 0x67:
      return "avx512_core_vnni";
    case 0xe7:
      return "avx512_core_bf16";
    case 0x1ef:
      return "avx512_core_fp16";
    case 0xfef:
      return "avx512_core_amx";
    case 0x1fef:
      return "avx512_core_amx_fp16";
    default:
      return other_isa_name(isa);
  }
}

dnnl::memory::desc dnnl_scratchpad_desc(const dnnl::primitive& primitive) {
  const_dnnl_memory_desc_t md =
      dnnl_primitive_desc_query_md(primitive.get_primitive_desc(), dnnl_query_scratchpad_md, 0);
  if (md == nullptr || dnnl_memory_desc_get_size(md) == 0) return {};
  dnnl_memory_desc_t copy = nullptr;
  dnnl::error::wrap_c_api(dnnl_memory_desc_clone(&copy, md), "could not clone a scratchpad desc");
  return dnnl::memory::desc(copy);  // takes ownership of the copy
}

#else  // oneDNN 2.x

dnnl::matmul::primitive_desc dnnl_matmul_desc(const dnnl::memory::desc& src,
                                              const dnnl::memory::desc& weights,
                                              const dnnl::memory::desc* bias,
                                              const dnnl::memory::desc& dst,
                                              const dnnl::primitive_attr& attr) {
  if (bias == nullptr) return {dnnl::matmul::desc(src, weights, dst), attr, dnnl_engine()};
  return {dnnl::matmul::desc(src, weights, *bias, dst), attr, dnnl_engine()};
}

dnnl::layer_normalization_forward::primitive_desc dnnl_layer_norm_desc(
    const dnnl::memory::desc& data, float epsilon, const dnnl::primitive_attr& attr) {
  return {dnnl::layer_normalization_forward::desc(kInference, data, epsilon, kScaleShift), attr,
          dnnl_engine()};
}

DnnlSoftmax::primitive_desc dnnl_softmax_desc(const dnnl::memory::desc& src,
                                              const dnnl::memory::desc& dst, int axis,
                                              const dnnl::primitive_attr& attr) {
  const DnnlSoftmax::desc desc(kInference, dnnl::algorithm::softmax_accurate, src, dst, axis);
  return {desc, attr, dnnl_engine()};
}

void dnnl_append_eltwise(dnnl::post_ops& ops, dnnl::algorithm algorithm, float alpha, float beta) {
  ops.append_eltwise(1.0f, algorithm, alpha, beta);
}

std::string dnnl_isa_name(unsigned isa) {
  switch (isa) {
    case 0x7:
      return "avx2";
    case 0x407:
      return "avx2_vnni";
    case 0x27:
      return "avx512_core";
    case 0x67:
      return "avx512_core_vnni";
    case 0xe7:
      return "avx512_core_bf16";
    case 0x3e7:
      return "avx512_core_amx";
    default:
      return other_isa_name(isa);
  }
}

dnnl::memory::desc dnnl_scratchpad_desc(const dnnl::primitive& primitive) {
  const dnnl_memory_desc_t* md =
      dnnl_primitive_desc_query_md(primitive.get_primitive_desc(), dnnl_query_scratchpad_md, 0);
  if (md == nullptr || dnnl_memory_desc_get_size(md) == 0) return {};
  return dnnl::memory::desc(*md);
}

#endif

}  // namespace mtst

#endif
