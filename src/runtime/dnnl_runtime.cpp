// oneDNN engine singleton and type/shape bridging from ATen tensors.
#include "runtime/dnnl_runtime.h"

#ifdef MTST_HAVE_DNNL

#include <omp.h>

#include <string>

#include "mtst/error.h"
#include "runtime/dnnl_compat.h"

namespace mtst {

const dnnl::engine& dnnl_engine() {
  static const dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

dnnl::memory::data_type dnnl_type(at::ScalarType t) {
  switch (t) {
    case at::kFloat:
      return dnnl::memory::data_type::f32;
    case at::kBFloat16:
      return dnnl::memory::data_type::bf16;
    default:
      throw Error(std::string("oneDNN: unsupported dtype ") + at::toString(t));
  }
}

dnnl::memory::desc dnnl_describe(const at::Tensor& t) {
  return dnnl::memory::desc(dnnl::memory::dims(t.sizes().begin(), t.sizes().end()),
                            dnnl_type(t.scalar_type()),
                            dnnl::memory::dims(t.strides().begin(), t.strides().end()));
}

std::string dnnl_threads_key() { return "|threads=" + std::to_string(omp_get_max_threads()); }

dnnl::primitive_attr dnnl_attr() {
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  return attr;
}

void dnnl_run(const dnnl::primitive& primitive, std::unordered_map<int, dnnl::memory> args) {
  // Each execution gets its own scratchpad: the same primitive may run on several batch
  // workers at once, and a library-owned scratchpad would be shared between them.
  at::Tensor scratch;
  const dnnl::memory::desc scratch_md = dnnl_scratchpad_desc(primitive);
  const size_t bytes = scratch_md.get_size();
  if (bytes > 0) {
    scratch = at::empty({static_cast<int64_t>(bytes)}, at::kByte);
    args.insert_or_assign(DNNL_ARG_SCRATCHPAD,
                          dnnl::memory(scratch_md, dnnl_engine(), scratch.data_ptr()));
  }
  dnnl::stream stream(dnnl_engine());
  primitive.execute(stream, args);
  stream.wait();
}

}  // namespace mtst

#endif
