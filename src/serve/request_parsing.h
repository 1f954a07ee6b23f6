// Validation of the servers' JSON request bodies, independent of HTTP: nesting depth, the
// "inputs" (or OpenAI "input") field as a string or a list of strings, optional flags. Every
// problem is a RequestError carrying the HTTP status and the error_type the server returns.
// Internal to src/serve.
#pragma once

#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <vector>

namespace mtst::serve {

struct RequestError : std::runtime_error {
  RequestError(int status, std::string type, const std::string& message)
      : std::runtime_error(message), status(status), type(std::move(type)) {}
  int status;
  std::string type;
};

// Parses BODY as a JSON object. Nesting deeper than MAX_DEPTH, invalid JSON (including
// invalid UTF-8 in strings) or a non-object is a 400.
nlohmann::json parse_body(const std::string& body, int max_depth = 32);

// FIELD of REQUEST as a list of texts: a string is one input; a list must hold 1..MAX_INPUTS
// strings. Missing or wrong types: 400; an empty list or too many inputs: 422.
std::vector<std::string> read_inputs(const nlohmann::json& request, const std::string& field,
                                     size_t max_inputs);

// Optional boolean KEY (400 when present and not a boolean).
bool read_flag(const nlohmann::json& request, const std::string& key, bool fallback);

}  // namespace mtst::serve
