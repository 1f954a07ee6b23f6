// free_loopback_port (see free_port.h).
#include "mtst/distributed/free_port.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "mtst/error.h"

namespace mtst {

int free_loopback_port() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t size = sizeof addr;
  const bool ok = fd >= 0 && bind(fd, reinterpret_cast<sockaddr*>(&addr), size) == 0 &&
                  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &size) == 0;
  const int error = errno;
  if (fd >= 0) close(fd);
  if (!ok) throw Error(std::string("no free loopback port: ") + std::strerror(error));
  return ntohs(addr.sin_port);
}

}  // namespace mtst
