// Reading JSON files with errors that name the file (and, through the helpers, the key).
// Only parsing and typed lookups; no schema logic lives here.
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

namespace mtst {

// Parses PATH as JSON; throws mtst::Error naming the file when it is missing or malformed.
nlohmann::json read_json_file(const std::filesystem::path& path);

// j[key] as T; throws mtst::Error "<where>: key '<key>' ..." when absent or of the wrong type.
template <typename T>
T json_required(const nlohmann::json& j, const std::string& key, const std::string& where);

// j[key] as T, or fallback when absent or null; a present value of the wrong type throws.
template <typename T>
T json_optional(const nlohmann::json& j, const std::string& key, const T& fallback,
                const std::string& where);

// J as compact JSON for an error message: never throws (invalid UTF-8 in a string, possible in
// values built from command-line text, is shown as U+FFFD) and is cut to MAX_CHARS.
std::string json_for_message(const nlohmann::json& j, size_t max_chars = 200);

}  // namespace mtst
