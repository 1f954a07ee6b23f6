// mtst._mtst.Server: `mtst serve` in-process. start() binds the port and serves on a
// background thread (the model loads there; /health answers 503 until it has); wait() blocks
// until stop() or, in the main thread, Ctrl-C (which stops the server, lets in-flight requests
// finish, then raises KeyboardInterrupt). A failure of the serving thread is raised by wait()
// or stop().
#include <nanobind/stl/string.h>
#include <nanobind/stl/tuple.h>

#include <atomic>
#include <chrono>
#include <exception>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>

#include "bindings.h"
#include "mtst/error.h"
#include "mtst/ops/exec_plan.h"
#include "serve/server.h"

namespace mtst::python {

namespace {

serve::ServeOptions serve_options(const std::string& model_dir, const std::string& host, int port,
                                  const std::string& device, const std::string& precision,
                                  int threads, const nb::dict& limits) {
  serve::ServeOptions o;
  o.model = model_dir;
  o.host = host;
  o.port = port;
  for (auto [key, value] : limits) {
    const auto name = nb::cast<std::string>(key);
    if (name == "max_batch_tokens")
      o.limits.max_batch_tokens = nb::cast<size_t>(value);
    else if (name == "max_batch_requests")
      o.limits.max_batch_requests = nb::cast<size_t>(value);
    else if (name == "max_concurrent_requests")
      o.limits.max_concurrent_requests = nb::cast<size_t>(value);
    else if (name == "max_client_batch_size")
      o.max_client_batch_size = nb::cast<size_t>(value);
    else if (name == "payload_limit")
      o.payload_limit = nb::cast<size_t>(value);
    else if (name == "auto_truncate")
      o.auto_truncate = nb::cast<bool>(value);
    else if (name == "http_threads")
      o.http_threads = nb::cast<size_t>(value);
    else if (name == "read_timeout")
      o.read_timeout_s = nb::cast<int>(value);
    else
      throw Error("serve: unknown option '" + name + "'");
  }
  o.exec = apply_exec_options(device, precision, threads);
  return o;
}

class Server {
 public:
  Server(const std::string& model_dir, const std::string& host, int port, const std::string& device,
         const std::string& precision, int threads, const nb::dict& limits)
      : options_(serve_options(model_dir, host, port, device, precision, threads, limits)) {
    if (!std::filesystem::is_directory(options_.model)) {
      throw Error("model " + options_.model.string() + ": no such directory");
    }
  }
  ~Server() {
    nb::gil_scoped_release release;
    halt();
  }

  int start() {
    if (server_) throw Error("this server was started already");
    nb::gil_scoped_release release;
    server_ = std::make_unique<serve::Server>(options_);
    port_ = server_->bind();
    thread_ = std::thread([this] {
      try {
        server_->run();
      } catch (...) {
        failure_ = std::current_exception();
      }
      finished_ = true;
    });
    return port_;
  }

  void wait() {
    if (!server_) throw Error("start() the server first");
    while (!finished_) {
      if (PyErr_CheckSignals() != 0) {
        nb::python_error interrupt;  // fetched: raised once the server has stopped
        stop();
        throw interrupt;
      }
      nb::gil_scoped_release release;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    stop();
  }

  void stop() {
    {
      nb::gil_scoped_release release;
      halt();
    }
    if (failure_) {
      auto failure = failure_;
      failure_ = nullptr;
      std::rethrow_exception(failure);
    }
  }

  int port() const { return port_; }

 private:
  void halt() {
    if (server_) server_->stop();
    if (thread_.joinable()) thread_.join();
  }

  serve::ServeOptions options_;
  std::unique_ptr<serve::Server> server_;
  std::thread thread_;
  std::atomic<bool> finished_{false};
  std::exception_ptr failure_;
  int port_ = 0;
};

}  // namespace

void bind_server(nb::module_& m) {
  nb::class_<Server>(m, "Server")
      .def(nb::init<const std::string&, const std::string&, int, const std::string&,
                    const std::string&, int, const nb::dict&>(),
           nb::arg("model_dir"), nb::arg("host"), nb::arg("port"), nb::arg("device"),
           nb::arg("precision"), nb::arg("threads"), nb::arg("limits"))
      .def("start", &Server::start)
      .def("wait", &Server::wait)
      .def("stop", &Server::stop)
      .def_prop_ro("port", &Server::port);
}

}  // namespace mtst::python
