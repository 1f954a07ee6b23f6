// Reading JSON files with errors that name the file and key.
#include "mtst/io/json_file.h"

#include <fstream>
#include <sstream>
#include <vector>

#include "mtst/error.h"

namespace mtst {

nlohmann::json read_json_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error("cannot open " + path.string());
  try {
    return nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    throw Error(path.string() + ": not valid JSON (" + e.what() + ")");
  }
}

namespace {

template <typename T>
T convert(const nlohmann::json& value, const std::string& key, const std::string& where) {
  try {
    if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
      if (!value.is_number_integer()) throw Error("");
      if constexpr (std::is_unsigned_v<T>) {
        if (value.get<int64_t>() < 0) throw Error("");
      }
    } else if constexpr (std::is_floating_point_v<T>) {
      if (!value.is_number()) throw Error("");
    } else if constexpr (std::is_same_v<T, bool>) {
      if (!value.is_boolean()) throw Error("");
    } else if constexpr (std::is_same_v<T, std::string>) {
      if (!value.is_string()) throw Error("");
    } else if constexpr (std::is_same_v<T, std::vector<std::string>>) {
      if (!value.is_array()) throw Error("");
      for (const auto& item : value) {
        if (!item.is_string()) throw Error("");
      }
    }
    return value.get<T>();
  } catch (const std::exception&) {
    throw Error(where + ": key '" + key + "' has the wrong type (got " + json_for_message(value) +
                ")");
  }
}

}  // namespace

std::string json_for_message(const nlohmann::json& j, size_t max_chars) {
  std::string text = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  if (text.size() > max_chars) text = text.substr(0, max_chars) + "...";
  return text;
}

template <typename T>
T json_required(const nlohmann::json& j, const std::string& key, const std::string& where) {
  if (!j.is_object() || !j.contains(key) || j.at(key).is_null()) {
    throw Error(where + ": missing required key '" + key + "'");
  }
  return convert<T>(j.at(key), key, where);
}

template <typename T>
T json_optional(const nlohmann::json& j, const std::string& key, const T& fallback,
                const std::string& where) {
  if (!j.is_object() || !j.contains(key) || j.at(key).is_null()) return fallback;
  return convert<T>(j.at(key), key, where);
}

template int64_t json_required<int64_t>(const nlohmann::json&, const std::string&,
                                        const std::string&);
template double json_required<double>(const nlohmann::json&, const std::string&,
                                      const std::string&);
template std::string json_required<std::string>(const nlohmann::json&, const std::string&,
                                                const std::string&);
template bool json_required<bool>(const nlohmann::json&, const std::string&, const std::string&);
template int64_t json_optional<int64_t>(const nlohmann::json&, const std::string&, const int64_t&,
                                        const std::string&);
template double json_optional<double>(const nlohmann::json&, const std::string&, const double&,
                                      const std::string&);
template std::string json_optional<std::string>(const nlohmann::json&, const std::string&,
                                                const std::string&, const std::string&);
template size_t json_required<size_t>(const nlohmann::json&, const std::string&,
                                      const std::string&);
template std::vector<std::string> json_required<std::vector<std::string>>(const nlohmann::json&,
                                                                          const std::string&,
                                                                          const std::string&);
template bool json_optional<bool>(const nlohmann::json&, const std::string&, const bool&,
                                  const std::string&);

}  // namespace mtst
