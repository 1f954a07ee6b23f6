// The one exception type of mtst: a message a user can act on (which file, key or line,
// and what was expected). The CLI turns it into one line on stderr and a non-zero exit.
#pragma once

#include <stdexcept>
#include <string>

namespace mtst {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace mtst
