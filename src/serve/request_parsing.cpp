// Request-body validation for the server (see request_parsing.h).
#include "serve/request_parsing.h"

namespace mtst::serve {

nlohmann::json parse_body(const std::string& body, int max_depth) {
  // The nesting depth is checked before parsing, so a deeply nested body costs one scan and
  // never deep recursion.
  int depth = 0;
  bool in_string = false, escaped = false;
  for (char c : body) {
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > max_depth) {
        throw RequestError(400, "InvalidRequest",
                           "JSON nested deeper than " + std::to_string(max_depth) + " levels");
      }
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(body);
  } catch (const nlohmann::json::exception& e) {
    throw RequestError(400, "InvalidRequest", std::string("malformed JSON: ") + e.what());
  }
  if (!j.is_object()) throw RequestError(400, "InvalidRequest", "the body must be a JSON object");
  return j;
}

std::vector<std::string> read_inputs(const nlohmann::json& request, const std::string& field,
                                     size_t max_inputs) {
  if (!request.contains(field)) {
    throw RequestError(400, "InvalidRequest", "missing field \"" + field + "\"");
  }
  const auto& v = request.at(field);
  if (v.is_string()) return {v.get<std::string>()};
  if (!v.is_array()) {
    throw RequestError(400, "InvalidRequest",
                       "\"" + field + "\" must be a string or a list of strings");
  }
  if (v.empty()) throw RequestError(422, "Validation", "\"" + field + "\" is an empty list");
  if (v.size() > max_inputs) {
    throw RequestError(422, "Validation",
                       "\"" + field + "\" has " + std::to_string(v.size()) +
                           " inputs; the limit is " + std::to_string(max_inputs) +
                           " (--max-client-batch-size)");
  }
  std::vector<std::string> out;
  out.reserve(v.size());
  for (const auto& item : v) {
    if (!item.is_string()) {
      throw RequestError(400, "InvalidRequest", "\"" + field + "\" must hold only strings");
    }
    out.push_back(item.get<std::string>());
  }
  return out;
}

bool read_flag(const nlohmann::json& request, const std::string& key, bool fallback) {
  if (!request.contains(key) || request.at(key).is_null()) return fallback;
  if (!request.at(key).is_boolean()) {
    throw RequestError(400, "InvalidRequest", "\"" + key + "\" must be true or false");
  }
  return request.at(key).get<bool>();
}

}  // namespace mtst::serve
