/*
 * The wire between berth-vm's shim on the host (berth-vm-shim.c) and its agent in the guest
 * (berth-vm-agent.c), and between the shim and the clients on its control socket (`berth-vm
 * start` in wire.ts, exec relays). One header, because three programs must agree on every byte.
 *
 * A frame is: type (1 byte), session (u32, big-endian), length (u32, big-endian), payload.
 * Session 0 is the container's own process; exec sessions get numbers of their own. Payloads
 * of START and EXEC are records: "key=value" strings, each ending in a NUL byte, so that no
 * JSON parser has to live in the guest.
 *
 * Host -> guest: START, EXEC, STDIN, STDIN_EOF, SIGNAL ("<signal> <all>"), WINSIZE ("<rows>
 * <cols>"), PS (no payload). Guest -> host: READY (the guest kernel's release, once the root is
 * mounted), STARTED (the process's pid in the guest), FAILED (why it could not run, in runc's
 * words), STDOUT, STDERR, EXIT (the status, or 128 + the signal that killed it), PROCS (the
 * answer to PS: "<uptime seconds> <clock ticks per second>" on its first line, then a line
 * "<uid> <pid> <ppid> <tty_nr> <cpu ticks> <start ticks> <command>" per process of the
 * container, in its pid namespace).
 */
#ifndef BERTH_VM_WIRE_H
#define BERTH_VM_WIRE_H

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum {
  F_START = 'S',
  F_EXEC = 'E',
  F_STDIN = 'I',
  F_STDIN_EOF = 'D',
  F_SIGNAL = 'K',
  F_WINSIZE = 'W',
  F_PS = 'L',
  F_READY = 'Y',
  F_STARTED = 'P',
  F_FAILED = 'F',
  F_STDOUT = '1',
  F_STDERR = '2',
  F_EXIT = 'X',
  F_PROCS = 'T',
};

#define FRAME_HEADER 9
/* Larger frames are refused: a peer that sends one is broken or hostile. */
#define FRAME_MAX (1u << 20)

struct frame {
  int type;
  uint32_t session;
  uint32_t len;
  unsigned char *data; /* malloc'd, len bytes plus a NUL, owned by the caller */
};

/* Bytes waiting to be written to a non-blocking descriptor. */
struct obuf {
  unsigned char *p;
  size_t len, off, cap;
};

static void ob_append(struct obuf *b, const void *d, size_t n) {
  if (b->off && b->off == b->len) b->off = b->len = 0;
  if (b->len + n > b->cap) {
    if (b->off) {
      memmove(b->p, b->p + b->off, b->len - b->off);
      b->len -= b->off;
      b->off = 0;
    }
    if (b->len + n > b->cap) {
      size_t cap = b->cap ? b->cap : 4096;
      while (cap < b->len + n) cap *= 2;
      unsigned char *p = realloc(b->p, cap);
      if (!p) abort();
      b->p = p;
      b->cap = cap;
    }
  }
  memcpy(b->p + b->len, d, n);
  b->len += n;
}

static void put32(unsigned char *p, uint32_t v) {
  p[0] = v >> 24;
  p[1] = v >> 16;
  p[2] = v >> 8;
  p[3] = v;
}

static uint32_t get32(const unsigned char *p) {
  return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static void ob_frame(struct obuf *b, int type, uint32_t session, const void *d, size_t n) {
  unsigned char h[FRAME_HEADER];
  h[0] = (unsigned char)type;
  put32(h + 1, session);
  put32(h + 5, (uint32_t)n);
  ob_append(b, h, sizeof h);
  if (n) ob_append(b, d, n);
}

static int ob_pending(const struct obuf *b) { return b->len > b->off; }

/* Writes what it can; 0 when all is written or the descriptor is full, -1 on an error. */
static int ob_flush(struct obuf *b, int fd) {
  while (b->off < b->len) {
    ssize_t w = write(fd, b->p + b->off, b->len - b->off);
    if (w < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return 0;
      return -1;
    }
    b->off += (size_t)w;
  }
  b->off = b->len = 0;
  return 0;
}

/* Bytes read from a descriptor, cut into frames. */
struct ibuf {
  unsigned char *p;
  size_t len, cap;
};

/* Reads what is there: >0 bytes read, 0 at the end, -1 on an error (EAGAIN: nothing yet). */
static ssize_t ib_read(struct ibuf *b, int fd) {
  if (b->cap - b->len < 65536) {
    size_t cap = b->cap ? b->cap * 2 : 131072;
    unsigned char *p = realloc(b->p, cap);
    if (!p) abort();
    b->p = p;
    b->cap = cap;
  }
  ssize_t r;
  do r = read(fd, b->p + b->len, b->cap - b->len);
  while (r < 0 && errno == EINTR);
  if (r > 0) b->len += (size_t)r;
  return r;
}

/* The next whole frame: 1 (f filled in), 0 (not yet), -1 (too large: the peer is broken). */
static int ib_next(struct ibuf *b, struct frame *f) {
  if (b->len < FRAME_HEADER) return 0;
  uint32_t n = get32(b->p + 5);
  if (n > FRAME_MAX) return -1;
  if (b->len < FRAME_HEADER + (size_t)n) return 0;
  f->type = b->p[0];
  f->session = get32(b->p + 1);
  f->len = n;
  f->data = malloc(n + 1);
  if (!f->data) abort();
  memcpy(f->data, b->p + FRAME_HEADER, n);
  f->data[n] = 0;
  memmove(b->p, b->p + FRAME_HEADER + n, b->len - FRAME_HEADER - n);
  b->len -= FRAME_HEADER + n;
  return 1;
}

/*
 * Iterates the records of a payload: 1 with *key (not NUL-terminated, klen bytes) and *value
 * (NUL-terminated) set, 0 at the end. A record without '=' or a NUL is skipped or ends it.
 */
static int rec_next(const char **pos, const char *end, const char **key, size_t *klen, const char **value) {
  while (*pos < end) {
    const char *r = *pos;
    const char *nul = memchr(r, 0, (size_t)(end - r));
    if (!nul) {
      *pos = end;
      return 0;
    }
    *pos = nul + 1;
    const char *eq = memchr(r, '=', (size_t)(nul - r));
    if (!eq) continue;
    *key = r;
    *klen = (size_t)(eq - r);
    *value = eq + 1;
    return 1;
  }
  return 0;
}

static int key_is(const char *key, size_t klen, const char *want) {
  return strlen(want) == klen && memcmp(key, want, klen) == 0;
}

#endif
