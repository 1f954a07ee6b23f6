// mtst._mtst.Encoder and mtst._mtst.MultiTaskModel: a sentence encoder, or a trained
// multi-task model (its encoder + heads), loaded once. Each call releases the GIL; one object
// runs one call at a time (a mutex), so several Python threads may share it safely, and
// objects of their own run in parallel.
#include <nanobind/stl/optional.h>
#include <nanobind/stl/pair.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "bindings.h"
#include "mtst/model/padded_batch.h"
#include "mtst/model/predictor.h"
#include "mtst/model/sentence_encoder.h"
#include "mtst/model/stream_encode.h"
#include "mtst/ops/exec_plan.h"

namespace mtst::python {

namespace {

// What an Encoder or MultiTaskModel holds: the loaded model (a plain encoder, or a predictor
// whose encoder it uses), the CPU threads of its calls, and the lock of its calls.
struct Engine {
  std::unique_ptr<SentenceEncoder> plain;
  std::unique_ptr<Predictor> predictor;
  int threads = 1;
  std::string device, precision;
  std::mutex mutex;

  const SentenceEncoder& encoder() const { return plain ? *plain : predictor->encoder(); }
};

std::shared_ptr<Engine> load_engine(const std::string& dir, const std::string& device,
                                    const std::string& precision, int threads, bool tasks) {
  auto engine = std::make_shared<Engine>();
  nb::gil_scoped_release release;
  const ExecOptions exec = apply_exec_options(device, precision, threads);
  engine->threads = exec.threads;
  engine->device = device_name(exec.device);
  engine->precision = precision_name(exec.precision);
  if (tasks) {
    engine->predictor = std::make_unique<Predictor>(Predictor::load(dir, exec));
  } else {
    engine->plain = std::make_unique<SentenceEncoder>(SentenceEncoder::load(dir, exec));
  }
  return engine;
}

class Encoder {
 public:
  Encoder(const std::string& dir, const std::string& device, const std::string& precision,
          int threads)
      : engine_(load_engine(dir, device, precision, threads, false)) {}
  explicit Encoder(std::shared_ptr<Engine> engine) : engine_(std::move(engine)) {}

  // Embeddings [N, D] of TEXTS in input order; NORMALIZE -1 = the model's default.
  FloatArray encode(const std::vector<std::string>& texts, size_t batch_size, int normalize,
                    size_t max_seq_length) {
    at::Tensor out;
    {
      nb::gil_scoped_release release;
      std::lock_guard<std::mutex> lock(engine_->mutex);
      use_threads(engine_->threads);
      EncodeOptions options;
      options.batch_size = batch_size;
      options.normalize = normalize;
      options.max_seq_length = max_seq_length;
      out = engine_->encoder().encode(texts, options).embeddings;
    }
    return float_array(out);
  }

  // input_ids and attention_mask [N, T] (padded with the pad id to the longest), as HF does.
  std::pair<LongArray, LongArray> tokenize(const std::vector<std::string>& texts,
                                           size_t max_length) {
    at::Tensor ids, mask;
    {
      nb::gil_scoped_release release;
      const auto& encoder = engine_->encoder();
      const size_t limit = max_length > 0 ? max_length : encoder.max_seq_length();
      std::vector<std::vector<int64_t>> rows;
      for (const auto& text : texts) rows.push_back(encoder.tokenize(text, limit));
      PaddedBatch padded = pad_token_ids(rows, encoder.tokenizer().pad_id());
      ids = std::move(padded.input_ids);
      mask = std::move(padded.attention_mask);
    }
    return {long_array(ids), long_array(mask)};
  }

  int64_t dimension() const { return engine_->encoder().embedding_dim({}); }
  size_t max_seq_length() const { return engine_->encoder().max_seq_length(); }
  size_t max_position_embeddings() const {
    return static_cast<size_t>(engine_->encoder().config().max_position_embeddings);
  }
  bool normalizes() const { return engine_->encoder().layout().normalize; }
  const std::string& device() const { return engine_->device; }
  const std::string& precision() const { return engine_->precision; }
  int threads() const { return engine_->threads; }

 private:
  std::shared_ptr<Engine> engine_;
};

class MultiTaskModel {
 public:
  MultiTaskModel(const std::string& dir, const std::string& device, const std::string& precision,
                 int threads)
      : engine_(load_engine(dir, device, precision, threads, true)) {}

  // Per task (model order): class probabilities [N, C], exactly as `mtst predict` computes
  // them; with EMBEDDINGS, also the sentence embeddings users see [N, D].
  std::pair<std::vector<FloatArray>, std::optional<FloatArray>> predict(
      const std::vector<std::string>& texts, size_t batch_size, bool embeddings) {
    std::vector<at::Tensor> probs;
    at::Tensor emb;
    {
      nb::gil_scoped_release release;
      std::lock_guard<std::mutex> lock(engine_->mutex);
      use_threads(engine_->threads);
      const auto& predictor = *engine_->predictor;
      const auto inputs = predictor.head_inputs(texts, batch_size);
      for (const auto& logits : predictor.logits(inputs)) probs.push_back(at::softmax(logits, 1));
      if (embeddings) emb = predictor.sentence_embeddings(inputs);
    }
    std::vector<FloatArray> out;
    for (const auto& p : probs) out.push_back(float_array(p));
    std::optional<FloatArray> emb_out;
    if (embeddings) emb_out = float_array(emb);
    return {out, emb_out};
  }

  // (name, labels) of every task, in the model's order.
  std::vector<std::pair<std::string, std::vector<std::string>>> tasks() const {
    std::vector<std::pair<std::string, std::vector<std::string>>> out;
    for (const auto& t : engine_->predictor->info().tasks) out.emplace_back(t.name, t.labels);
    return out;
  }

  Encoder encoder() const { return Encoder(engine_); }

 private:
  std::shared_ptr<Engine> engine_;
};

}  // namespace

void bind_encoder(nb::module_& m) {
  m.attr("STREAM_CHUNK") = kCpuStreamChunk;
  nb::class_<Encoder>(m, "Encoder")
      .def(nb::init<const std::string&, const std::string&, const std::string&, int>(),
           nb::arg("model_dir"), nb::arg("device"), nb::arg("precision"), nb::arg("threads"))
      .def("encode", &Encoder::encode, nb::arg("texts"), nb::arg("batch_size"),
           nb::arg("normalize"), nb::arg("max_seq_length"))
      .def("tokenize", &Encoder::tokenize, nb::arg("texts"), nb::arg("max_length"))
      .def_prop_ro("dimension", &Encoder::dimension)
      .def_prop_ro("max_seq_length", &Encoder::max_seq_length)
      .def_prop_ro("max_position_embeddings", &Encoder::max_position_embeddings)
      .def_prop_ro("normalizes", &Encoder::normalizes)
      .def_prop_ro("device", &Encoder::device)
      .def_prop_ro("precision", &Encoder::precision)
      .def_prop_ro("threads", &Encoder::threads);
  nb::class_<MultiTaskModel>(m, "MultiTaskModel")
      .def(nb::init<const std::string&, const std::string&, const std::string&, int>(),
           nb::arg("model_dir"), nb::arg("device"), nb::arg("precision"), nb::arg("threads"))
      .def("predict", &MultiTaskModel::predict, nb::arg("texts"), nb::arg("batch_size"),
           nb::arg("embeddings"))
      .def_prop_ro("tasks", &MultiTaskModel::tasks)
      .def("encoder", &MultiTaskModel::encoder);
}

}  // namespace mtst::python
