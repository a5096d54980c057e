/* The reference UDP echo for bench/: recvfrom, sendto, nothing else.
 * Usage: raw_udp_echo PORT (0: ephemeral, printed on stderr). */
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>

int main(int argc, char **argv) {
  int port = argc > 1 ? atoi(argv[1]) : 0;
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  if (bind(fd, (struct sockaddr *)&sa, sizeof sa)) {
    perror("bind");
    return 1;
  }
  socklen_t len = sizeof sa;
  getsockname(fd, (struct sockaddr *)&sa, &len);
  fprintf(stderr, "listening on 127.0.0.1:%d\n", ntohs(sa.sin_port));
  static char buf[65536];
  for (;;) {
    struct sockaddr_storage from;
    socklen_t flen = sizeof from;
    ssize_t n = recvfrom(fd, buf, sizeof buf, 0, (struct sockaddr *)&from, &flen);
    if (n >= 0) {
      sendto(fd, buf, (size_t)n, 0, (struct sockaddr *)&from, flen);
    }
  }
}
