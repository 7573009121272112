/*
 * berth-vm-shim: what stands on the host for a berth-vm container — its "process". Why it
 * exists: a runc-style monitor (conmon) watches one host process per container, holds its
 * stdio and records how it ended. For a container in a VM that process is this one: it runs
 * virtiofsd and qemu, relays stdio between its own descriptors and the guest agent, forwards
 * the signals it receives to the container's process, and exits with the container's status.
 * Killing it with SIGKILL takes the VM down with it (qemu and virtiofsd die with their parent).
 * It is C rather than TypeScript because it must hand a terminal's master to conmon over a
 * unix socket (SCM_RIGHTS) and should cost a few hundred kilobytes, not a Node process.
 *
 * Two modes:
 *   berth-vm-shim <state-dir>             the VM: reads <state-dir>/shim.conf (records, see
 *                                         plan.ts), boots, says "ok <guest kernel>" or
 *                                         "error <why>" on fd 3, then serves until the end
 *   berth-vm-shim --exec <state-dir> <payload-file> [--tty --console-socket PATH]
 *                                         an exec session: asks the VM's shim for it over the
 *                                         control socket, says "ok <pid>" / "error <why>" on fd
 *                                         3, relays its stdio and exits with its status
 *
 * The control socket (`ctl.sock` in the state directory, reached by relative path because unix
 * socket paths are short) speaks the frames of vm-wire.h: START from `berth-vm start`, EXEC
 * and the session's STDIN/WINSIZE/SIGNAL from relays, SIGNAL for `kill --all`, PS for `ps`.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>

#include "vm-wire.h"

static int ready_fd = 3;

static void say(const char *kind, const char *fmt, ...) {
  char msg[2048];
  int n = snprintf(msg, sizeof msg, "%s ", kind);
  va_list ap;
  va_start(ap, fmt);
  n += vsnprintf(msg + n, sizeof msg - (size_t)n, fmt, ap);
  va_end(ap);
  if (n > (int)sizeof msg - 2) n = (int)sizeof msg - 2;
  for (int i = 0; i < n; i++)
    if (msg[i] == '\n') msg[i] = ' ';
  msg[n++] = '\n';
  if (ready_fd >= 0) {
    if (write(ready_fd, msg, (size_t)n) < 0) {
    }
    close(ready_fd);
    ready_fd = -1;
  }
}

static void die(const char *fmt, ...) {
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  if (ready_fd >= 0) say("error", "%s", msg);
  else fprintf(stderr, "berth-vm: %s\n", msg);
  exit(255);
}

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void set_nonblock(int fd) { fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK); }
static void set_block(int fd) { fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK); }

/* The exit status Docker gives a process that never ran, from the agent's (runc's) words. */
static int failure_code(const char *msg) {
  if (strstr(msg, "not found") || strstr(msg, "no such file")) return 127;
  if (strstr(msg, "permission denied") || strstr(msg, "is a directory")) return 126;
  return 128;
}

/* ---- terminals ---- */

/* A new terminal whose master goes to the console socket (as runc hands it to conmon); returns the slave. */
static int terminal_for(const char *console_socket) {
  int master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (master < 0 || grantpt(master) < 0 || unlockpt(master) < 0) die("open a terminal: %s", strerror(errno));
  char *name = ptsname(master);
  if (!name) die("ptsname: %s", strerror(errno));
  int slave = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (slave < 0) die("open %s: %s", name, strerror(errno));
  /* Bytes pass untouched: the terminal that interprets them is the one in the guest. */
  struct termios t;
  if (tcgetattr(slave, &t) == 0) {
    cfmakeraw(&t);
    tcsetattr(slave, TCSANOW, &t);
  }
  /* Its controlling terminal, so that a resize on the master reaches us as SIGWINCH. */
  setsid();
  ioctl(slave, TIOCSCTTY, 0);

  int sk = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  if (strlen(console_socket) >= sizeof sa.sun_path) die("console socket path too long: %s", console_socket);
  strcpy(sa.sun_path, console_socket);
  if (sk < 0 || connect(sk, (struct sockaddr *)&sa, sizeof sa) < 0)
    die("connect to the console socket %s: %s", console_socket, strerror(errno));
  char cbuf[CMSG_SPACE(sizeof(int))] = {0};
  struct iovec iov = {name, strlen(name)};
  struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof cbuf};
  struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(c), &master, sizeof(int));
  if (sendmsg(sk, &mh, 0) < 0) die("send the terminal to %s: %s", console_socket, strerror(errno));
  close(sk);
  close(master);
  return slave;
}

static void winsize_of(int fd, char *out, size_t n) {
  struct winsize ws = {0};
  ioctl(fd, TIOCGWINSZ, &ws);
  snprintf(out, n, "%u %u", ws.ws_row, ws.ws_col);
}

/* ---- signals ---- */

static sigset_t handled;

static int signal_fd(void) {
  sigemptyset(&handled);
  for (int s = 1; s < NSIG; s++) {
    if (s == SIGKILL || s == SIGSTOP || s == SIGPIPE || s == SIGTSTP || s == SIGTTIN || s == SIGTTOU) continue;
    if (s >= 32 && s < SIGRTMIN) continue;
    sigaddset(&handled, s);
  }
  signal(SIGPIPE, SIG_IGN);
  sigprocmask(SIG_BLOCK, &handled, NULL);
  int fd = signalfd(-1, &handled, SFD_CLOEXEC | SFD_NONBLOCK);
  if (fd < 0) die("signalfd: %s", strerror(errno));
  return fd;
}

/* ---- the exec relay ---- */

static int connect_ctl(void) {
  int sk = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_un sa = {.sun_family = AF_UNIX, .sun_path = "ctl.sock"};
  if (sk < 0 || connect(sk, (struct sockaddr *)&sa, sizeof sa) < 0)
    die("the container's virtual machine is not running (%s)", strerror(errno));
  return sk;
}

static unsigned char *read_file(const char *path, size_t *len) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) die("open %s: %s", path, strerror(errno));
  struct stat st;
  fstat(fd, &st);
  unsigned char *p = malloc((size_t)st.st_size + 64);
  size_t n = 0;
  ssize_t r;
  while ((r = read(fd, p + n, (size_t)st.st_size - n)) > 0) n += (size_t)r;
  close(fd);
  *len = n;
  return p;
}

static int relay_exec(const char *dir, const char *payload_path, int tty, const char *console) {
  fcntl(ready_fd, F_SETFD, FD_CLOEXEC);
  size_t plen;
  unsigned char *payload = read_file(payload_path, &plen);
  if (chdir(dir) < 0) die("chdir %s: %s", dir, strerror(errno));
  int term = -1;
  struct obuf req = {0};
  ob_append(&req, payload, plen);
  if (tty) {
    term = terminal_for(console);
    char ws[32], rec[64];
    winsize_of(term, ws, sizeof ws);
    unsigned rows = 24, cols = 80;
    sscanf(ws, "%u %u", &rows, &cols);
    if (rows && cols) {
      int n = snprintf(rec, sizeof rec, "rows=%u", rows);
      ob_append(&req, rec, (size_t)n + 1);
      n = snprintf(rec, sizeof rec, "cols=%u", cols);
      ob_append(&req, rec, (size_t)n + 1);
    }
  }
  int sfd = signal_fd();
  int sk = connect_ctl();
  struct obuf out = {0};
  ob_frame(&out, F_EXEC, 0, req.p, req.len);
  set_block(sk);
  if (ob_flush(&out, sk) < 0) die("send the exec request: %s", strerror(errno));
  set_nonblock(sk);

  int in_fd = tty ? term : 0, out_fd = tty ? term : 1, err_fd = tty ? term : 2;
  int started = 0, in_open = 1;
  struct ibuf ib = {0};
  struct obuf q1 = {0}, q2 = {0};
  set_nonblock(out_fd);
  if (err_fd != out_fd) set_nonblock(err_fd);
  for (;;) {
    struct pollfd p[5];
    int n = 0;
    p[n++] = (struct pollfd){sk, (short)(POLLIN | (ob_pending(&out) ? POLLOUT : 0)), 0};
    p[n++] = (struct pollfd){sfd, POLLIN, 0};
    int pin = -1, p1 = -1, p2 = -1;
    if (started && in_open) pin = n, p[n++] = (struct pollfd){in_fd, POLLIN, 0};
    if (ob_pending(&q1)) p1 = n, p[n++] = (struct pollfd){out_fd, POLLOUT, 0};
    if (ob_pending(&q2)) p2 = n, p[n++] = (struct pollfd){err_fd, POLLOUT, 0};
    if (poll(p, (nfds_t)n, -1) < 0) {
      if (errno == EINTR) continue;
      die("poll: %s", strerror(errno));
    }
    if (p[1].revents) {
      struct signalfd_siginfo si;
      while (read(sfd, &si, sizeof si) == sizeof si) {
        char m[32];
        if (si.ssi_signo == SIGCHLD) continue;
        if (si.ssi_signo == SIGWINCH) {
          if (tty) winsize_of(term, m, sizeof m), ob_frame(&out, F_WINSIZE, 0, m, strlen(m));
          continue;
        }
        snprintf(m, sizeof m, "%u 0", si.ssi_signo);
        ob_frame(&out, F_SIGNAL, 0, m, strlen(m));
      }
    }
    if (pin >= 0 && p[pin].revents) {
      char buf[32768];
      ssize_t r = read(in_fd, buf, sizeof buf);
      if (r > 0) ob_frame(&out, F_STDIN, 0, buf, (size_t)r);
      else if (r == 0 || (errno != EAGAIN && errno != EINTR)) {
        in_open = 0;
        if (!tty) ob_frame(&out, F_STDIN_EOF, 0, NULL, 0);
      }
    }
    if (p1 >= 0 && p[p1].revents) ob_flush(&q1, out_fd);
    if (p2 >= 0 && p[p2].revents) ob_flush(&q2, err_fd);
    if (p[0].revents & POLLOUT) ob_flush(&out, sk);
    if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
      ssize_t r = ib_read(&ib, sk);
      struct frame f;
      while (ib_next(&ib, &f) == 1) {
        switch (f.type) {
        case F_STARTED:
          started = 1;
          say("ok", "%s", (char *)f.data);
          break;
        case F_FAILED:
          if (!started) say("error", "%s", (char *)f.data);
          exit(failure_code((char *)f.data));
        case F_STDOUT:
          ob_append(&q1, f.data, f.len);
          ob_flush(&q1, out_fd);
          break;
        case F_STDERR:
          ob_append(tty ? &q1 : &q2, f.data, f.len);
          if (tty) ob_flush(&q1, out_fd);
          else ob_flush(&q2, err_fd);
          break;
        case F_EXIT: {
          int code = atoi((char *)f.data);
          set_block(out_fd);
          ob_flush(&q1, out_fd);
          if (err_fd != out_fd) set_block(err_fd), ob_flush(&q2, err_fd);
          exit(code);
        }
        }
        free(f.data);
      }
      if (r == 0 || (r < 0 && errno != EAGAIN)) {
        if (!started) die("the container's virtual machine went away");
        fprintf(stderr, "berth-vm: the container's virtual machine went away\n");
        exit(255);
      }
    }
  }
}

/* ---- the VM ---- */

struct strv {
  char **v;
  int n;
};

static void strv_push(struct strv *s, char *x) {
  s->v = realloc(s->v, sizeof(char *) * (size_t)(s->n + 2));
  if (!s->v) abort();
  s->v[s->n++] = x;
  s->v[s->n] = NULL;
}

struct conf {
  char *qemu, *virtiofsd, *vfs_sock, *netns, *console, *mountns;
  struct strv qemu_args, vfs_args, binds, cgroups;
  int tty, boot_timeout;
};

static void read_conf(const char *path, struct conf *c) {
  size_t len;
  unsigned char *data = read_file(path, &len);
  memset(c, 0, sizeof *c);
  c->boot_timeout = 120;
  const char *pos = (const char *)data, *end = pos + len, *k, *v;
  size_t kl;
  while (rec_next(&pos, end, &k, &kl, &v)) {
    char *val = (char *)v;
    if (key_is(k, kl, "qemu")) c->qemu = val;
    else if (key_is(k, kl, "qemu.arg")) strv_push(&c->qemu_args, val);
    else if (key_is(k, kl, "virtiofsd")) c->virtiofsd = val;
    else if (key_is(k, kl, "virtiofsd.arg")) strv_push(&c->vfs_args, val);
    else if (key_is(k, kl, "virtiofsd.socket")) c->vfs_sock = val;
    else if (key_is(k, kl, "netns")) c->netns = val;
    else if (key_is(k, kl, "mountns")) c->mountns = val;
    else if (key_is(k, kl, "bind")) strv_push(&c->binds, val);
    else if (key_is(k, kl, "cgroup")) strv_push(&c->cgroups, val);
    else if (key_is(k, kl, "tty")) c->tty = atoi(val);
    else if (key_is(k, kl, "console")) c->console = val;
    else if (key_is(k, kl, "boot.timeout")) c->boot_timeout = atoi(val);
  }
}

/* A bind record: source, destination (on the host, already resolved inside the root), ro, recursive. */
static void do_binds(struct conf *c) {
  if (mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0) die("make / a slave mount: %s", strerror(errno));
  for (int i = 0; i < c->binds.n; i++) {
    char *f[4], *rec = c->binds.v[i];
    for (int j = 0; j < 4; j++) {
      f[j] = rec;
      char *sep = strchr(rec, 0x1f);
      if (j < 3) {
        if (!sep) die("malformed bind record");
        *sep = 0;
        rec = sep + 1;
      }
    }
    unsigned long rflag = atoi(f[3]) ? MS_REC : 0;
    if (mount(f[0], f[1], NULL, MS_BIND | rflag, NULL) < 0) die("bind %s on %s: %s", f[0], f[1], strerror(errno));
    if (atoi(f[2]) && mount(NULL, f[1], NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | rflag, NULL) < 0)
      die("make %s read-only: %s", f[1], strerror(errno));
  }
}

static void join_cgroups(struct conf *c) {
  char pid[32];
  int n = snprintf(pid, sizeof pid, "%d", getpid());
  for (int i = 0; i < c->cgroups.n; i++) {
    char p[4200];
    snprintf(p, sizeof p, "%s/cgroup.procs", c->cgroups.v[i]);
    int fd = open(p, O_WRONLY | O_CLOEXEC);
    if (fd < 0 || write(fd, pid, (size_t)n) < 0) die("join the cgroup %s: %s", c->cgroups.v[i], strerror(errno));
    close(fd);
  }
}

static pid_t spawn_child(const char *prog, struct strv *args, const char *log) {
  pid_t pid = fork();
  if (pid < 0) die("fork: %s", strerror(errno));
  if (pid) return pid;
  /* Dies with the shim: a SIGKILL to the container's process must take the VM down. */
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
  signal(SIGPIPE, SIG_DFL);
  int nul = open("/dev/null", O_RDWR);
  int lf = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  dup2(nul, 0);
  dup2(lf >= 0 ? lf : nul, 1);
  dup2(lf >= 0 ? lf : nul, 2);
  /* Its own process group: a terminal's signals are the guest's, not qemu's. */
  setpgid(0, 0);
  struct strv argv = {0};
  strv_push(&argv, (char *)prog);
  for (int i = 0; i < args->n; i++) strv_push(&argv, args->v[i]);
  execv(prog, argv.v);
  dprintf(2, "exec %s: %s\n", prog, strerror(errno));
  _exit(127);
}

static int listen_on(const char *name) {
  int sk = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  strcpy(sa.sun_path, name);
  unlink(name);
  if (sk < 0 || bind(sk, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(sk, 16) < 0)
    die("listen on %s: %s", name, strerror(errno));
  return sk;
}

/* The last lines qemu wrote, for an error message. */
static void tail_of(const char *path, char *out, size_t n) {
  out[0] = 0;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return;
  off_t size = lseek(fd, 0, SEEK_END);
  off_t from = size > (off_t)n - 1 ? size - (off_t)n + 1 : 0;
  ssize_t r = pread(fd, out, n - 1, from);
  close(fd);
  if (r < 0) r = 0;
  out[r] = 0;
  while (r > 0 && (out[r - 1] == '\n' || out[r - 1] == ' ')) out[--r] = 0;
}

struct client {
  int fd;
  uint32_t session; /* an exec session's number; 0 for control clients */
  int starting;     /* this client sent START and waits for its answer */
  struct ibuf in;
  struct obuf out;
  int closing;
  struct client *next;
};

static struct client *clients;
static pid_t qemu_pid = -1, vfs_pid = -1;

static struct client *client_of(uint32_t session) {
  for (struct client *c = clients; c; c = c->next)
    if (c->session == session && session) return c;
  return NULL;
}

static void drop_client(struct client *c) {
  for (struct client **pp = &clients; *pp; pp = &(*pp)->next)
    if (*pp == c) {
      *pp = c->next;
      break;
    }
  close(c->fd);
  free(c->in.p);
  free(c->out.p);
  free(c);
}

static void stop_vm(void) {
  if (qemu_pid > 0) kill(qemu_pid, SIGKILL);
  if (vfs_pid > 0) kill(vfs_pid, SIGKILL);
  while (waitpid(-1, NULL, 0) > 0) {
  }
}

/* Ends the shim with the container's status, once its output is written. */
static void finish(int code, struct obuf *q1, int fd1, struct obuf *q2, int fd2) {
  stop_vm();
  set_block(fd1);
  ob_flush(q1, fd1);
  if (fd2 != fd1) set_block(fd2), ob_flush(q2, fd2);
  exit(code);
}

static int run_vm(const char *dir) {
  fcntl(ready_fd, F_SETFD, FD_CLOEXEC);
  if (chdir(dir) < 0) die("chdir %s: %s", dir, strerror(errno));
  struct conf c;
  read_conf("shim.conf", &c);
  if (!c.qemu || !c.virtiofsd || !c.vfs_sock) die("shim.conf names no qemu or virtiofsd");
  int term = c.tty ? terminal_for(c.console) : -1;
  if (c.mountns && unshare(CLONE_NEWNS) < 0) die("unshare the mount namespace: %s", strerror(errno));
  if (c.mountns) do_binds(&c);
  if (c.netns && !strcmp(c.netns, "new")) {
    if (unshare(CLONE_NEWNET) < 0) die("unshare the network namespace: %s", strerror(errno));
  } else if (c.netns && *c.netns) {
    int fd = open(c.netns, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || setns(fd, CLONE_NEWNET) < 0) die("join the network namespace %s: %s", c.netns, strerror(errno));
    close(fd);
  }
  join_cgroups(&c);
  int sfd = signal_fd();
  int agent_l = listen_on("agent.sock");
  int ctl_l = listen_on("ctl.sock");

  unlink(c.vfs_sock);
  vfs_pid = spawn_child(c.virtiofsd, &c.vfs_args, "virtiofsd.log");
  double until = now() + 30;
  struct stat st;
  while (stat(c.vfs_sock, &st) < 0) {
    if (waitpid(vfs_pid, NULL, WNOHANG) == vfs_pid) {
      char t[512];
      tail_of("virtiofsd.log", t, sizeof t);
      vfs_pid = -1;
      die("virtiofsd failed: %s", t);
    }
    if (now() > until) stop_vm(), die("virtiofsd did not start in 30 seconds");
    usleep(5000);
  }
  qemu_pid = spawn_child(c.qemu, &c.qemu_args, "qemu.log");

  /* Boot: qemu connects to agent.sock; the agent says READY once the root is mounted. */
  int agent = -1;
  struct ibuf ain = {0};
  struct obuf aout = {0};
  char release[256] = "";
  until = now() + c.boot_timeout;
  while (!release[0]) {
    int left = (int)((until - now()) * 1000);
    if (left <= 0) stop_vm(), die("the virtual machine did not boot in %d seconds (see console.log)", c.boot_timeout);
    struct pollfd p[2] = {{agent >= 0 ? agent : agent_l, POLLIN, 0}, {sfd, POLLIN, 0}};
    if (poll(p, 2, left) < 0 && errno != EINTR) die("poll: %s", strerror(errno));
    if (p[1].revents) {
      struct signalfd_siginfo si;
      while (read(sfd, &si, sizeof si) == sizeof si) {
        if (si.ssi_signo != SIGCHLD && si.ssi_signo != SIGWINCH) stop_vm(), exit(128 + (int)si.ssi_signo);
      }
      int status;
      pid_t pid;
      while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        if (pid == qemu_pid || pid == vfs_pid) {
          char t[768];
          tail_of(pid == qemu_pid ? "qemu.log" : "virtiofsd.log", t, sizeof t);
          if (pid == qemu_pid) qemu_pid = -1;
          else vfs_pid = -1;
          stop_vm();
          die("%s exited before the guest was ready: %s", pid == qemu_pid ? "qemu" : "virtiofsd", t);
        }
      }
    }
    if (!(p[0].revents & (POLLIN | POLLHUP | POLLERR))) continue;
    if (agent < 0) {
      agent = accept4(agent_l, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
      continue;
    }
    ssize_t r = ib_read(&ain, agent);
    if (r == 0 || (r < 0 && errno != EAGAIN)) stop_vm(), die("the guest closed its channel while booting");
    struct frame f;
    while (!release[0] && ib_next(&ain, &f) == 1) {
      if (f.type == F_READY) snprintf(release, sizeof release, "%s", f.data[0] ? (char *)f.data : "?");
      else if (f.type == F_FAILED) stop_vm(), die("%s", (char *)f.data);
      free(f.data);
    }
  }
  close(agent_l);
  unlink("agent.sock");
  say("ok", "%s", release);

  int in_fd = c.tty ? term : 0, out_fd = c.tty ? term : 1, err_fd = c.tty ? term : 2;
  set_nonblock(out_fd);
  if (err_fd != out_fd) set_nonblock(err_fd);
  set_nonblock(in_fd);
  struct obuf q1 = {0}, q2 = {0};
  int started = 0, in_open = 1;
  uint32_t next_session = 1;
  struct client *starter = NULL;

  for (;;) {
    size_t cap = 8;
    for (struct client *x = clients; x; x = x->next) cap++;
    struct pollfd *p = calloc(cap, sizeof *p);
    struct client **who = calloc(cap, sizeof *who);
    nfds_t n = 0;
    p[n++] = (struct pollfd){agent, (short)(POLLIN | (ob_pending(&aout) ? POLLOUT : 0)), 0};
    p[n++] = (struct pollfd){sfd, POLLIN, 0};
    p[n++] = (struct pollfd){ctl_l, POLLIN, 0};
    int pin = -1, p1 = -1, p2 = -1;
    if (started && in_open) pin = (int)n, p[n++] = (struct pollfd){in_fd, POLLIN, 0};
    if (ob_pending(&q1)) p1 = (int)n, p[n++] = (struct pollfd){out_fd, POLLOUT, 0};
    if (ob_pending(&q2)) p2 = (int)n, p[n++] = (struct pollfd){err_fd, POLLOUT, 0};
    size_t first_client = n;
    for (struct client *x = clients; x; x = x->next)
      who[n] = x, p[n++] = (struct pollfd){x->fd, (short)(POLLIN | (ob_pending(&x->out) ? POLLOUT : 0)), 0};
    if (poll(p, n, -1) < 0 && errno != EINTR) die("poll: %s", strerror(errno));

    if (p[1].revents) {
      struct signalfd_siginfo si;
      while (read(sfd, &si, sizeof si) == sizeof si) {
        int sig = (int)si.ssi_signo;
        char m[32];
        if (sig == SIGCHLD) {
          int status;
          pid_t pid;
          while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
            if (pid != qemu_pid && pid != vfs_pid) continue;
            char t[768];
            tail_of(pid == qemu_pid ? "qemu.log" : "virtiofsd.log", t, sizeof t);
            if (pid == qemu_pid) qemu_pid = -1;
            else vfs_pid = -1;
            ob_append(&q2, "berth-vm: the virtual machine stopped unexpectedly: ", 52);
            ob_append(&q2, t, strlen(t));
            ob_append(&q2, "\n", 1);
            finish(255, &q1, out_fd, &q2, err_fd);
          }
        } else if (sig == SIGWINCH) {
          if (c.tty && started) winsize_of(term, m, sizeof m), ob_frame(&aout, F_WINSIZE, 0, m, strlen(m));
        } else if (!started) {
          /* A created container's process has not run: the signal ends it, as with runc. */
          finish(128 + sig, &q1, out_fd, &q2, err_fd);
        } else {
          snprintf(m, sizeof m, "%d 0", sig);
          ob_frame(&aout, F_SIGNAL, 0, m, strlen(m));
        }
      }
    }

    if (pin >= 0 && p[pin].revents) {
      char buf[32768];
      ssize_t r = read(in_fd, buf, sizeof buf);
      if (r > 0) ob_frame(&aout, F_STDIN, 0, buf, (size_t)r);
      else if (r == 0 || (errno != EAGAIN && errno != EINTR)) {
        in_open = 0;
        if (!c.tty) ob_frame(&aout, F_STDIN_EOF, 0, NULL, 0);
      }
    }
    if (p1 >= 0 && p[p1].revents) ob_flush(&q1, out_fd);
    if (p2 >= 0 && p[p2].revents) ob_flush(&q2, err_fd);

    if (p[2].revents & POLLIN) {
      int fd = accept4(ctl_l, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
      if (fd >= 0) {
        struct client *x = calloc(1, sizeof *x);
        x->fd = fd;
        x->next = clients;
        clients = x;
      }
    }

    for (size_t i = first_client; i < n; i++) {
      struct client *x = who[i];
      if (p[i].revents & POLLOUT) ob_flush(&x->out, x->fd);
      if (!(p[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      ssize_t r = ib_read(&x->in, x->fd);
      struct frame f;
      while (ib_next(&x->in, &f) == 1) {
        if (f.type == F_START) {
          if (started || starter) {
            const char *m = "cannot start a container that has already been started";
            ob_frame(&x->out, F_FAILED, 0, m, strlen(m));
          } else {
            struct obuf req = {0};
            ob_append(&req, f.data, f.len);
            if (c.tty) {
              char ws[32], rec[64];
              unsigned rows = 0, cols = 0;
              winsize_of(term, ws, sizeof ws);
              sscanf(ws, "%u %u", &rows, &cols);
              if (rows && cols) {
                int k = snprintf(rec, sizeof rec, "rows=%u", rows);
                ob_append(&req, rec, (size_t)k + 1);
                k = snprintf(rec, sizeof rec, "cols=%u", cols);
                ob_append(&req, rec, (size_t)k + 1);
              }
            }
            ob_frame(&aout, F_START, 0, req.p, req.len);
            free(req.p);
            starter = x;
            x->starting = 1;
          }
        } else if (f.type == F_EXEC || f.type == F_PS) {
          /* The agent's answers carry the session, which is how they find their way back here. */
          if (!x->session) x->session = next_session++;
          ob_frame(&aout, f.type, x->session, f.data, f.len);
        } else if (f.type == F_SIGNAL || f.type == F_STDIN || f.type == F_STDIN_EOF || f.type == F_WINSIZE) {
          /* A control client's SIGNAL is for the container's process (kill --all). */
          ob_frame(&aout, f.type, x->session, f.data, f.len);
        }
        free(f.data);
      }
      if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR)) {
        /* An exec session whose relay went has nobody to report to. */
        if (x->session) ob_frame(&aout, F_SIGNAL, x->session, "9 0", 3);
        if (starter == x) starter = NULL;
        drop_client(x);
        who[i] = NULL;
      }
    }

    if (p[0].revents & POLLOUT) ob_flush(&aout, agent);
    if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
      ssize_t r = ib_read(&ain, agent);
      struct frame f;
      while (ib_next(&ain, &f) == 1) {
        if (f.session) {
          struct client *x = client_of(f.session);
          if (x) {
            ob_frame(&x->out, f.type, f.session, f.data, f.len);
            ob_flush(&x->out, x->fd);
          }
        } else if (f.type == F_STARTED || f.type == F_FAILED) {
          if (starter) {
            ob_frame(&starter->out, f.type, 0, f.data, f.len);
            set_block(starter->fd);
            ob_flush(&starter->out, starter->fd);
            set_nonblock(starter->fd);
            starter->starting = 0;
            starter = NULL;
          }
          if (f.type == F_STARTED) started = 1;
          else finish(failure_code((char *)f.data), &q1, out_fd, &q2, err_fd);
        } else if (f.type == F_STDOUT || (f.type == F_STDERR && c.tty)) {
          ob_append(&q1, f.data, f.len);
          ob_flush(&q1, out_fd);
        } else if (f.type == F_STDERR) {
          ob_append(&q2, f.data, f.len);
          ob_flush(&q2, err_fd);
        } else if (f.type == F_EXIT) {
          finish(atoi((char *)f.data), &q1, out_fd, &q2, err_fd);
        }
        free(f.data);
      }
      if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR)) {
        ob_append(&q2, "berth-vm: the guest agent went away\n", 36);
        finish(255, &q1, out_fd, &q2, err_fd);
      }
    }
    free(p);
    free(who);
  }
}

int main(int argc, char **argv) {
  if (argc >= 4 && !strcmp(argv[1], "--exec")) {
    int tty = 0;
    const char *console = NULL;
    for (int i = 4; i < argc; i++) {
      if (!strcmp(argv[i], "--tty")) tty = 1;
      else if (!strcmp(argv[i], "--console-socket") && i + 1 < argc) console = argv[++i];
    }
    if (tty && !console) die("--tty needs --console-socket");
    return relay_exec(argv[2], argv[3], tty, console);
  }
  if (argc == 2 && argv[1][0] != '-') return run_vm(argv[1]);
  fprintf(stderr, "usage: berth-vm-shim STATE-DIR | --exec STATE-DIR PAYLOAD [--tty --console-socket PATH]\n");
  return 2;
}
