/* The reference TCP echo server for bench/: the least a correct epoll echo can do. One thread,
 * level-triggered epoll, a read straight into a send, and a per-connection buffer only when the
 * peer does not keep up. Usage: raw_epoll_echo PORT (0: ephemeral, printed on stderr). */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_PENDING (256 * 1024)

struct conn {
  int fd;
  char *out;
  size_t out_len;
};

static void drop(int ep, struct conn *c) {
  epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
  close(c->fd);
  free(c->out);
  free(c);
}

static void want(int ep, struct conn *c) {
  struct epoll_event ev = {.events = c->out_len ? (c->out_len < MAX_PENDING ? EPOLLIN | EPOLLOUT : EPOLLOUT) : EPOLLIN,
                           .data.ptr = c};
  epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
}

int main(int argc, char **argv) {
  signal(SIGPIPE, SIG_IGN);
  int port = argc > 1 ? atoi(argv[1]) : 0;
  int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  int one = 1;
  setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  if (bind(lfd, (struct sockaddr *)&sa, sizeof sa) || listen(lfd, SOMAXCONN)) {
    perror("bind/listen");
    return 1;
  }
  socklen_t len = sizeof sa;
  getsockname(lfd, (struct sockaddr *)&sa, &len);
  fprintf(stderr, "listening on 127.0.0.1:%d\n", ntohs(sa.sin_port));
  int ep = epoll_create1(0);
  struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
  epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
  static char buf[65536];
  struct epoll_event events[256];
  for (;;) {
    int n = epoll_wait(ep, events, 256, -1);
    for (int i = 0; i < n; i++) {
      struct conn *c = events[i].data.ptr;
      if (!c) {
        int fd;
        while ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
          setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
          c = calloc(1, sizeof *c);
          c->fd = fd;
          struct epoll_event cev = {.events = EPOLLIN, .data.ptr = c};
          epoll_ctl(ep, EPOLL_CTL_ADD, fd, &cev);
        }
        continue;
      }
      if (c->out_len && (events[i].events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) {
        ssize_t w = send(c->fd, c->out, c->out_len, MSG_NOSIGNAL);
        if (w < 0 && errno != EAGAIN) {
          drop(ep, c);
          continue;
        }
        if (w > 0) {
          memmove(c->out, c->out + w, c->out_len - (size_t)w);
          c->out_len -= (size_t)w;
        }
        want(ep, c);
        continue;
      }
      if (events[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP)) {
        ssize_t r = recv(c->fd, buf, sizeof buf, 0);
        if (r == 0 || (r < 0 && errno != EAGAIN)) {
          drop(ep, c); /* simplification: no half-close handling in the reference */
          continue;
        }
        if (r < 0) {
          continue;
        }
        /* Bytes already queued go first, or the echo would come back out of order. */
        ssize_t w = c->out_len ? 0 : send(c->fd, buf, (size_t)r, MSG_NOSIGNAL);
        if (w < 0 && errno != EAGAIN) {
          drop(ep, c);
          continue;
        }
        if (w < 0) {
          w = 0;
        }
        if (w < r) {
          c->out = realloc(c->out, c->out_len + (size_t)(r - w));
          memcpy(c->out + c->out_len, buf + w, (size_t)(r - w));
          c->out_len += (size_t)(r - w);
          want(ep, c);
        }
      }
    }
  }
}
