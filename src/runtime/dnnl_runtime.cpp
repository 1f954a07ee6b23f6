// oneDNN engine singleton and type/shape bridging from ATen tensors.
#include "runtime/dnnl_runtime.h"

#ifdef MTST_HAVE_DNNL

#include <string>

#include "mtst/error.h"

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

void dnnl_run(const dnnl::primitive& primitive, const std::unordered_map<int, dnnl::memory>& args) {
  dnnl::stream stream(dnnl_engine());
  primitive.execute(stream, args);
  stream.wait();
}

}  // namespace mtst

#endif
