/*
 * berth-vm-agent: the init of a berth-vm guest, and the only program of Berth's in it. Why it
 * exists: a container in a micro-VM needs someone inside the VM to do what runc does on the
 * host — mount its root, set up /proc, /dev and the network, run the process as the image
 * config's user with its environment and working directory, relay its stdio, deliver signals
 * and report how it ended. It is statically linked and lives in the initramfs setup builds
 * (`/init`, with the kernel modules it loads listed in `/modules`).
 *
 * Life: loads the virtio modules, opens the virtio-serial port `berth.agent`, mounts the
 * container's root file system (virtio-fs, tag `rootfs`, served by the host's virtiofsd) and
 * moves into it, then says READY (with the guest kernel's release). It waits for START (the
 * container's process, its mounts, hostname and network), runs it as pid 1 of a pid namespace
 * of its own, and EXEC sessions beside it in that namespace. When the container's process
 * ends, it flushes the file systems and reports EXIT; the host then stops the VM.
 *
 * Frames and records: see vm-wire.h. Writes to the port block: the shim on the other end reads
 * all the time, so they always drain. Writes to a process's stdin do not: a process that does
 * not read its input must not stop the agent from relaying its output.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <net/route.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/reboot.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>

#include "vm-wire.h"

#define AGENT_PORT "berth.agent"
#define ROOT_TAG "rootfs"

static int port = -1;

static void logmsg(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("berth-vm-agent: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
}

static void write_all(int fd, const void *d, size_t n) {
  const unsigned char *p = d;
  while (n) {
    ssize_t w = write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) {
        struct pollfd pf = {fd, POLLOUT, 0};
        poll(&pf, 1, 1000);
        continue;
      }
      logmsg("write to the host: %s", strerror(errno));
      return;
    }
    p += w;
    n -= (size_t)w;
  }
}

static void send_frame(int type, uint32_t session, const void *d, size_t n) {
  struct obuf b = {0};
  ob_frame(&b, type, session, d, n);
  write_all(port, b.p, b.len);
  free(b.p);
}

static void send_text(int type, uint32_t session, const char *fmt, ...) {
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  send_frame(type, session, msg, strlen(msg));
}

/* ---- what START and EXEC ask for ---- */

struct strv {
  char **v;
  int n;
};

static void strv_push(struct strv *s, char *x) {
  char **v = realloc(s->v, sizeof(char *) * (size_t)(s->n + 2));
  if (!v) abort();
  s->v = v;
  s->v[s->n++] = x;
  s->v[s->n] = NULL;
}

struct spec {
  struct strv args, env, rlimits, mounts, masked, readonly, addrs;
  const char *cwd, *hostname, *mac, *gw;
  uid_t uid;
  gid_t gid;
  gid_t gids[NGROUPS_MAX > 256 ? 256 : NGROUPS_MAX];
  int ngids;
  int tty, rows, cols, nnp, rootro, mtu, have_caps;
  uint64_t cap_b, cap_e, cap_p, cap_i, cap_a;
};

static void parse_gids(struct spec *s, const char *v) {
  while (*v && s->ngids < (int)(sizeof s->gids / sizeof s->gids[0])) {
    char *end;
    unsigned long g = strtoul(v, &end, 10);
    if (end == v) break;
    s->gids[s->ngids++] = (gid_t)g;
    v = *end == ',' ? end + 1 : end;
  }
}

/* Fills `s` from a payload; the strings point into `data`, which must outlive `s`. */
static void parse_spec(struct spec *s, unsigned char *data, uint32_t len) {
  memset(s, 0, sizeof *s);
  s->rows = 24;
  s->cols = 80;
  const char *pos = (const char *)data, *end = pos + len, *key, *v;
  size_t kl;
  while (rec_next(&pos, end, &key, &kl, &v)) {
    char *val = (char *)v;
    if (key_is(key, kl, "arg")) strv_push(&s->args, val);
    else if (key_is(key, kl, "env")) strv_push(&s->env, val);
    else if (key_is(key, kl, "cwd")) s->cwd = val;
    else if (key_is(key, kl, "uid")) s->uid = (uid_t)strtoul(val, NULL, 10);
    else if (key_is(key, kl, "gid")) s->gid = (gid_t)strtoul(val, NULL, 10);
    else if (key_is(key, kl, "gids")) parse_gids(s, val);
    else if (key_is(key, kl, "tty")) s->tty = atoi(val);
    else if (key_is(key, kl, "rows")) s->rows = atoi(val);
    else if (key_is(key, kl, "cols")) s->cols = atoi(val);
    else if (key_is(key, kl, "nnp")) s->nnp = atoi(val);
    else if (key_is(key, kl, "rlimit")) strv_push(&s->rlimits, val);
    else if (key_is(key, kl, "cap.bounding")) s->cap_b = strtoull(val, NULL, 16), s->have_caps = 1;
    else if (key_is(key, kl, "cap.effective")) s->cap_e = strtoull(val, NULL, 16), s->have_caps = 1;
    else if (key_is(key, kl, "cap.permitted")) s->cap_p = strtoull(val, NULL, 16), s->have_caps = 1;
    else if (key_is(key, kl, "cap.inheritable")) s->cap_i = strtoull(val, NULL, 16), s->have_caps = 1;
    else if (key_is(key, kl, "cap.ambient")) s->cap_a = strtoull(val, NULL, 16), s->have_caps = 1;
    else if (key_is(key, kl, "hostname")) s->hostname = val;
    else if (key_is(key, kl, "mount")) strv_push(&s->mounts, val);
    else if (key_is(key, kl, "masked")) strv_push(&s->masked, val);
    else if (key_is(key, kl, "readonly")) strv_push(&s->readonly, val);
    else if (key_is(key, kl, "rootro")) s->rootro = atoi(val);
    else if (key_is(key, kl, "net.mac")) s->mac = val;
    else if (key_is(key, kl, "net.addr")) strv_push(&s->addrs, val);
    else if (key_is(key, kl, "net.gw")) s->gw = val;
    else if (key_is(key, kl, "net.mtu")) s->mtu = atoi(val);
  }
}

/* ---- the container's mounts, hostname and network (START) ---- */

static int mkdir_p(const char *path, mode_t mode) {
  char buf[4096];
  if (strlen(path) >= sizeof buf) return -1;
  strcpy(buf, path);
  for (char *p = buf + 1; *p; p++) {
    if (*p != '/') continue;
    *p = 0;
    if (mkdir(buf, mode) < 0 && errno != EEXIST) return -1;
    *p = '/';
  }
  if (mkdir(buf, mode) < 0 && errno != EEXIST) return -1;
  return 0;
}

/* A mount record: type, source, destination, flags (decimal), data — separated by 0x1f. */
struct mnt {
  char *type, *src, *dest, *data;
  unsigned long flags;
};

static int split_mount(char *rec, struct mnt *m) {
  char *f[5];
  for (int i = 0; i < 5; i++) {
    f[i] = rec;
    char *sep = strchr(rec, 0x1f);
    if (i < 4) {
      if (!sep) return -1;
      *sep = 0;
      rec = sep + 1;
    }
  }
  m->type = f[0];
  m->src = f[1];
  m->dest = f[2];
  m->flags = strtoul(f[3], NULL, 10);
  m->data = f[4];
  return 0;
}

/* What runc makes in a /dev of its own: the usual devices and links. */
static void populate_dev(const char *dev) {
  static const struct {
    const char *name;
    unsigned maj, min;
  } nodes[] = {{"null", 1, 3}, {"zero", 1, 5}, {"full", 1, 7}, {"random", 1, 8}, {"urandom", 1, 9}, {"tty", 5, 0}};
  char p[4200];
  for (size_t i = 0; i < sizeof nodes / sizeof nodes[0]; i++) {
    snprintf(p, sizeof p, "%s/%s", dev, nodes[i].name);
    if (mknod(p, S_IFCHR | 0666, makedev(nodes[i].maj, nodes[i].min)) == 0) chmod(p, 0666);
  }
  static const char *links[][2] = {{"/proc/self/fd", "fd"},     {"/proc/self/fd/0", "stdin"},
                                   {"/proc/self/fd/1", "stdout"}, {"/proc/self/fd/2", "stderr"},
                                   {"pts/ptmx", "ptmx"},          {"/proc/kcore", "core"}};
  for (size_t i = 0; i < sizeof links / sizeof links[0]; i++) {
    snprintf(p, sizeof p, "%s/%s", dev, links[i][1]);
    symlink(links[i][0], p);
  }
}

/* Mounts everything but proc (which must be mounted from inside the pid namespace). */
static int do_mounts(struct spec *s, char *err, size_t errlen) {
  for (int i = 0; i < s->mounts.n; i++) {
    char copy[8192];
    snprintf(copy, sizeof copy, "%s", s->mounts.v[i]);
    struct mnt m;
    if (split_mount(copy, &m) < 0) continue;
    if (!strcmp(m.type, "proc")) continue;
    const char *type = m.type;
    const char *data = m.data;
    /* The guest's cgroups are its own: there is one hierarchy, v2. */
    if (!strcmp(type, "cgroup")) type = "cgroup2", data = "";
    if (mkdir_p(m.dest, 0755) < 0) {
      snprintf(err, errlen, "mkdir %s: %s", m.dest, strerror(errno));
      return -1;
    }
    if (mount(m.src, m.dest, type, m.flags, *data ? data : NULL) < 0) {
      /* A guest without the file system (mqueue, cgroup2) only lacks that mount. */
      if (errno == ENODEV) continue;
      snprintf(err, errlen, "mount %s on %s: %s", type, m.dest, strerror(errno));
      return -1;
    }
    if (!strcmp(m.dest, "/dev") && !strcmp(type, "tmpfs")) populate_dev(m.dest);
  }
  return 0;
}

static int parse_mac(const char *s, unsigned char mac[6]) {
  unsigned v[6];
  if (sscanf(s, "%x:%x:%x:%x:%x:%x", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5]) != 6) return -1;
  for (int i = 0; i < 6; i++) mac[i] = (unsigned char)v[i];
  return 0;
}

static int if_flags(int sk, const char *name, short set) {
  struct ifreq ifr = {0};
  snprintf(ifr.ifr_name, IFNAMSIZ, "%s", name);
  if (ioctl(sk, SIOCGIFFLAGS, &ifr) < 0) return -1;
  ifr.ifr_flags |= set;
  return ioctl(sk, SIOCSIFFLAGS, &ifr);
}

/* lo up; eth0 with the container's MAC, address, MTU and default route, when it has any. */
static int do_network(struct spec *s, char *err, size_t errlen) {
  int sk = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (sk < 0) return snprintf(err, errlen, "socket: %s", strerror(errno)), -1;
  if (if_flags(sk, "lo", IFF_UP) < 0) logmsg("lo up: %s", strerror(errno));
  if (!s->addrs.n) return close(sk), 0;
  struct ifreq ifr = {0};
  snprintf(ifr.ifr_name, IFNAMSIZ, "eth0");
  if (s->mac && parse_mac(s->mac, (unsigned char *)ifr.ifr_hwaddr.sa_data) == 0) {
    ifr.ifr_hwaddr.sa_family = ARPHRD_ETHER;
    if (ioctl(sk, SIOCSIFHWADDR, &ifr) < 0) logmsg("eth0 address %s: %s", s->mac, strerror(errno));
  }
  if (s->mtu > 0) {
    ifr.ifr_mtu = s->mtu;
    if (ioctl(sk, SIOCSIFMTU, &ifr) < 0) logmsg("eth0 mtu %d: %s", s->mtu, strerror(errno));
  }
  /* The first address is eth0's; more (rare) would need aliases, which Docker does not give. */
  char addr[64];
  snprintf(addr, sizeof addr, "%s", s->addrs.v[0]);
  char *slash = strchr(addr, '/');
  int prefix = slash ? atoi(slash + 1) : 32;
  if (slash) *slash = 0;
  struct sockaddr_in *sin = (struct sockaddr_in *)&ifr.ifr_addr;
  sin->sin_family = AF_INET;
  if (inet_pton(AF_INET, addr, &sin->sin_addr) != 1)
    return close(sk), snprintf(err, errlen, "bad address %s", s->addrs.v[0]), -1;
  if (ioctl(sk, SIOCSIFADDR, &ifr) < 0)
    return close(sk), snprintf(err, errlen, "eth0 address %s: %s", s->addrs.v[0], strerror(errno)), -1;
  sin->sin_addr.s_addr = prefix ? htonl(~0u << (32 - prefix)) : 0;
  if (ioctl(sk, SIOCSIFNETMASK, &ifr) < 0) logmsg("eth0 netmask: %s", strerror(errno));
  if (if_flags(sk, "eth0", IFF_UP) < 0)
    return close(sk), snprintf(err, errlen, "eth0 up: %s", strerror(errno)), -1;
  if (s->gw && *s->gw) {
    struct rtentry rt = {0};
    struct sockaddr_in *dst = (struct sockaddr_in *)&rt.rt_dst, *gw = (struct sockaddr_in *)&rt.rt_gateway,
                       *mask = (struct sockaddr_in *)&rt.rt_genmask;
    dst->sin_family = gw->sin_family = mask->sin_family = AF_INET;
    inet_pton(AF_INET, s->gw, &gw->sin_addr);
    rt.rt_flags = RTF_UP | RTF_GATEWAY;
    rt.rt_dev = "eth0";
    if (ioctl(sk, SIOCADDRT, &rt) < 0) logmsg("default route via %s: %s", s->gw, strerror(errno));
  }
  close(sk);
  return 0;
}

/* ---- running a process (in the child, before exec) ---- */

static void child_fail(int ep, const char *fmt, ...) {
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  write(ep, msg, strlen(msg));
  _exit(127);
}

/* The init's own view: /proc of its pid namespace, then the masked and read-only paths. */
static void init_mounts(struct spec *s, int ep) {
  for (int i = 0; i < s->mounts.n; i++) {
    char copy[8192];
    snprintf(copy, sizeof copy, "%s", s->mounts.v[i]);
    struct mnt m;
    if (split_mount(copy, &m) < 0 || strcmp(m.type, "proc")) continue;
    mkdir_p(m.dest, 0555);
    if (mount("proc", m.dest, "proc", m.flags, NULL) < 0)
      child_fail(ep, "mount proc on %s: %s", m.dest, strerror(errno));
  }
  for (int i = 0; i < s->masked.n; i++) {
    struct stat st;
    const char *p = s->masked.v[i];
    if (stat(p, &st) < 0) continue;
    if (S_ISDIR(st.st_mode)) mount("tmpfs", p, "tmpfs", MS_RDONLY, NULL);
    else mount("/dev/null", p, NULL, MS_BIND, NULL);
  }
  for (int i = 0; i < s->readonly.n; i++) {
    const char *p = s->readonly.v[i];
    if (mount(p, p, NULL, MS_BIND | MS_REC, NULL) == 0)
      mount(p, p, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_REC, NULL);
  }
  if (s->rootro && mount("/", "/", NULL, MS_BIND | MS_REMOUNT | MS_RDONLY, NULL) < 0)
    child_fail(ep, "make the root read-only: %s", strerror(errno));
}

static void set_caps(struct spec *s, int ep) {
  for (int c = 0; c < 64; c++)
    if (!(s->cap_b >> c & 1) && prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0 && errno != EINVAL)
      child_fail(ep, "drop capability %d from the bounding set: %s", c, strerror(errno));
}

static void set_user_caps(struct spec *s, int ep) {
  struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
  struct __user_cap_data_struct d[2] = {
      {(uint32_t)s->cap_e, (uint32_t)s->cap_p, (uint32_t)s->cap_i},
      {(uint32_t)(s->cap_e >> 32), (uint32_t)(s->cap_p >> 32), (uint32_t)(s->cap_i >> 32)},
  };
  if (syscall(SYS_capset, &h, d) < 0) child_fail(ep, "capset: %s", strerror(errno));
  for (int c = 0; c < 64; c++)
    if (s->cap_a >> c & 1) prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, c, 0, 0);
}

static const char *env_get(char **env, const char *name) {
  size_t n = strlen(name);
  for (; env && *env; env++)
    if (!strncmp(*env, name, n) && (*env)[n] == '=') return *env + n + 1;
  return NULL;
}

/* execve with runc's lookup and runc's words when it fails. */
static void exec_process(struct spec *s, int ep) {
  const char *arg0 = s->args.v[0];
  char **env = s->env.v ? s->env.v : (char *[]){NULL};
  struct stat st;
  if (strchr(arg0, '/')) {
    if (stat(arg0, &st) < 0) child_fail(ep, "exec: \"%s\": stat %s: %s", arg0, arg0, strerror(errno));
    if (S_ISDIR(st.st_mode)) child_fail(ep, "exec: \"%s\": is a directory", arg0);
    execve(arg0, s->args.v, env);
    if (errno == EACCES) child_fail(ep, "exec: \"%s\": permission denied", arg0);
    child_fail(ep, "exec: \"%s\": %s", arg0, strerror(errno));
  }
  const char *path = env_get(env, "PATH");
  if (!path) path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  char buf[4096];
  const char *p = path;
  while (1) {
    const char *colon = strchr(p, ':');
    size_t n = colon ? (size_t)(colon - p) : strlen(p);
    snprintf(buf, sizeof buf, "%.*s/%s", (int)n, n ? p : ".", arg0);
    if (stat(buf, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0111)) {
      execve(buf, s->args.v, env);
      if (errno == EACCES) child_fail(ep, "exec: \"%s\": permission denied", arg0);
      child_fail(ep, "exec: \"%s\": %s", arg0, strerror(errno));
    }
    if (!colon) break;
    p = colon + 1;
  }
  child_fail(ep, "exec: \"%s\": executable file not found in $PATH", arg0);
}

static void child_setup(struct spec *s, int init, int ep) {
  sigset_t all;
  sigemptyset(&all);
  sigprocmask(SIG_SETMASK, &all, NULL);
  for (int sig = 1; sig < NSIG; sig++) signal(sig, SIG_DFL);
  if (init) init_mounts(s, ep);
  for (int i = 0; i < s->rlimits.n; i++) {
    int res;
    unsigned long long soft, hard;
    if (sscanf(s->rlimits.v[i], "%d:%llu:%llu", &res, &soft, &hard) != 3) continue;
    struct rlimit rl = {(rlim_t)soft, (rlim_t)hard};
    if (setrlimit(res, &rl) < 0) child_fail(ep, "setrlimit %d: %s", res, strerror(errno));
  }
  const char *cwd = s->cwd && *s->cwd ? s->cwd : "/";
  if (init) mkdir_p(cwd, 0755);
  if (s->have_caps) set_caps(s, ep);
  if (setgroups((size_t)s->ngids, s->gids) < 0) child_fail(ep, "setgroups: %s", strerror(errno));
  if (setgid(s->gid) < 0) child_fail(ep, "setgid %u: %s", s->gid, strerror(errno));
  if (s->have_caps) prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0);
  if (setuid(s->uid) < 0) child_fail(ep, "setuid %u: %s", s->uid, strerror(errno));
  if (s->have_caps) set_user_caps(s, ep);
  if (chdir(cwd) < 0) child_fail(ep, "chdir to cwd (\"%s\") set in config.json failed: %s", cwd, strerror(errno));
  if (s->nnp) prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
  umask(022);
  exec_process(s, ep);
}

/* ---- sessions: the container's process (0) and exec'd ones ---- */

struct session {
  uint32_t id;
  pid_t pid;
  int in, out, err; /* the agent's ends; with a terminal, out is the master and in a dup of it */
  int tty;
  struct obuf inq;
  int close_in; /* close `in` once inq is written (STDIN_EOF) */
  struct spec spec;
  unsigned char *specdata;
  struct session *next;
};

static struct session *sessions;
static int init_done; /* the container's process ended: nothing more can run */

static struct session *find_session(uint32_t id) {
  for (struct session *s = sessions; s; s = s->next)
    if (s->id == id) return s;
  return NULL;
}

static void set_nonblock(int fd) { fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK); }

static void close_fd(int *fd) {
  if (*fd >= 0) close(*fd);
  *fd = -1;
}

static void free_session(struct session *s) {
  for (struct session **pp = &sessions; *pp; pp = &(*pp)->next)
    if (*pp == s) {
      *pp = s->next;
      break;
    }
  close_fd(&s->in);
  close_fd(&s->out);
  close_fd(&s->err);
  free(s->inq.p);
  free(s->spec.args.v);
  free(s->spec.env.v);
  free(s->spec.rlimits.v);
  free(s->spec.mounts.v);
  free(s->spec.masked.v);
  free(s->spec.readonly.v);
  free(s->spec.addrs.v);
  free(s->specdata);
  free(s);
}

/* Starts a session's process; on failure says why (FAILED) and frees it. */
static void spawn(struct session *s, int init) {
  struct spec *sp = &s->spec;
  int pin[2] = {-1, -1}, pout[2] = {-1, -1}, perr[2] = {-1, -1}, ep[2];
  int master = -1;
  char *slave = NULL;
  if (!sp->args.n) {
    send_text(F_FAILED, s->id, "process args must not be empty");
    free_session(s);
    return;
  }
  if (sp->tty) {
    master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (master < 0 || grantpt(master) < 0 || unlockpt(master) < 0 || !(slave = ptsname(master))) {
      send_text(F_FAILED, s->id, "open a terminal: %s", strerror(errno));
      if (master >= 0) close(master);
      free_session(s);
      return;
    }
    slave = strdup(slave);
    struct winsize ws = {(unsigned short)sp->rows, (unsigned short)sp->cols, 0, 0};
    ioctl(master, TIOCSWINSZ, &ws);
  } else if (pipe2(pin, O_CLOEXEC) < 0 || pipe2(pout, O_CLOEXEC) < 0 || pipe2(perr, O_CLOEXEC) < 0) {
    send_text(F_FAILED, s->id, "pipe: %s", strerror(errno));
    free_session(s);
    return;
  }
  if (pipe2(ep, O_CLOEXEC) < 0) abort();
  pid_t pid = fork();
  if (pid == 0) {
    close(ep[0]);
    setsid();
    if (sp->tty) {
      int t = open(slave, O_RDWR);
      if (t < 0) child_fail(ep[1], "open %s: %s", slave, strerror(errno));
      ioctl(t, TIOCSCTTY, 0);
      dup2(t, 0), dup2(t, 1), dup2(t, 2);
      if (t > 2) close(t);
    } else {
      dup2(pin[0], 0), dup2(pout[1], 1), dup2(perr[1], 2);
    }
    child_setup(sp, init, ep[1]);
  }
  close(ep[1]);
  free(slave);
  if (!sp->tty) close(pin[0]), close(pout[1]), close(perr[1]);
  if (pid < 0) {
    send_text(F_FAILED, s->id, "fork: %s", strerror(errno));
    close(ep[0]);
    if (master >= 0) close(master);
    else close(pin[1]), close(pout[0]), close(perr[0]);
    free_session(s);
    return;
  }
  char msg[1024];
  size_t n = 0;
  ssize_t r;
  while ((r = read(ep[0], msg + n, sizeof msg - 1 - n)) > 0 || (r < 0 && errno == EINTR))
    if (r > 0) n += (size_t)r;
  close(ep[0]);
  if (n) {
    msg[n] = 0;
    waitpid(pid, NULL, 0);
    send_frame(F_FAILED, s->id, msg, n);
    if (master >= 0) close(master);
    else close(pin[1]), close(pout[0]), close(perr[0]);
    free_session(s);
    return;
  }
  s->pid = pid;
  s->tty = sp->tty;
  if (sp->tty) {
    s->out = master;
    s->in = dup(master);
    s->err = -1;
  } else {
    s->in = pin[1], s->out = pout[0], s->err = perr[0];
  }
  set_nonblock(s->out);
  set_nonblock(s->in);
  if (s->err >= 0) set_nonblock(s->err);
  send_text(F_STARTED, s->id, "%d", pid);
}

static struct session *new_session(struct frame *f) {
  struct session *s = calloc(1, sizeof *s);
  if (!s) abort();
  s->id = f->session;
  s->in = s->out = s->err = -1;
  s->specdata = f->data;
  f->data = NULL;
  parse_spec(&s->spec, s->specdata, f->len);
  s->next = sessions;
  sessions = s;
  return s;
}

static void start_container(struct frame *f) {
  if (find_session(0) || init_done) {
    send_text(F_FAILED, 0, "cannot start a container that has already been started");
    return;
  }
  struct session *s = new_session(f);
  char err[1024] = "";
  if (s->spec.hostname && sethostname(s->spec.hostname, strlen(s->spec.hostname)) < 0)
    logmsg("sethostname: %s", strerror(errno));
  if (do_network(&s->spec, err, sizeof err) < 0 || do_mounts(&s->spec, err, sizeof err) < 0) {
    send_text(F_FAILED, 0, "%s", err);
    free_session(s);
    return;
  }
  /* Everything forked from here on lives in the container's pid namespace. */
  if (unshare(CLONE_NEWPID) < 0) {
    send_text(F_FAILED, 0, "unshare the pid namespace: %s", strerror(errno));
    free_session(s);
    return;
  }
  spawn(s, 1);
}

static void exec_session(struct frame *f) {
  if (!find_session(0) || init_done) {
    send_text(F_FAILED, f->session, "cannot exec in a stopped container");
    return;
  }
  if (find_session(f->session)) {
    send_text(F_FAILED, f->session, "session %u exists", f->session);
    return;
  }
  spawn(new_session(f), 0);
}

/* Reads what a session's output has, as frames; returns 0 at its end. */
static int pump(struct session *s, int *fd, int type) {
  char buf[32768];
  for (int rounds = 0; rounds < 8; rounds++) {
    ssize_t r = read(*fd, buf, sizeof buf);
    if (r > 0) {
      send_frame(type, s->id, buf, (size_t)r);
      continue;
    }
    if (r < 0 && errno == EINTR) continue;
    if (r < 0 && errno == EAGAIN) return 1;
    close_fd(fd); /* the end, or EIO from a terminal whose last holder went */
    return 0;
  }
  return 1;
}

static void reap(void) {
  int status;
  pid_t pid;
  while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
    struct session *s = NULL;
    for (struct session *x = sessions; x; x = x->next)
      if (x->pid == pid) s = x;
    if (!s) continue;
    /* What the process wrote before it ended is still in the pipe or terminal. */
    if (s->out >= 0) pump(s, &s->out, F_STDOUT);
    if (s->err >= 0) pump(s, &s->err, F_STDERR);
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    if (s->id == 0) {
      init_done = 1;
      sync();
    }
    send_text(F_EXIT, s->id, "%d", code);
    free_session(s);
  }
}

/*
 * PS: the container's processes, for `docker top`. /proc here is the one the container's
 * process mounted in its own pid namespace (the agent has no mount namespace of its own), so
 * it lists exactly the container's processes, with the pids they see, and not the agent.
 */
static void list_processes(uint32_t session) {
  struct obuf b = {0};
  char line[8192], path[300];
  FILE *up = fopen("/proc/uptime", "r");
  double uptime = 0;
  if (up) {
    if (fscanf(up, "%lf", &uptime) != 1) uptime = 0;
    fclose(up);
  }
  int n = snprintf(line, sizeof line, "%.2f %ld\n", uptime, sysconf(_SC_CLK_TCK));
  ob_append(&b, line, (size_t)n);
  DIR *d = init_done || !find_session(0) ? NULL : opendir("/proc");
  struct dirent *e;
  while (d && (e = readdir(d))) {
    if (e->d_name[0] < '1' || e->d_name[0] > '9') continue;
    char sbuf[1024], cmd[4096];
    snprintf(path, sizeof path, "/proc/%s/stat", e->d_name);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) continue;
    ssize_t r = read(fd, sbuf, sizeof sbuf - 1);
    close(fd);
    if (r <= 0) continue;
    sbuf[r] = 0;
    /* The command name is in parentheses and may hold anything: the fields follow the last ')'. */
    char *lp = strchr(sbuf, '('), *rp = strrchr(sbuf, ')');
    if (!lp || !rp || rp < lp) continue;
    int ppid = 0, tty = 0;
    unsigned long long ut = 0, st = 0, start = 0;
    if (sscanf(rp + 2, "%*c %d %*d %*d %d %*d %*u %*u %*u %*u %*u %llu %llu %*d %*d %*d %*d %*d %*d %llu", &ppid,
               &tty, &ut, &st, &start) != 5)
      continue;
    snprintf(path, sizeof path, "/proc/%s/cmdline", e->d_name);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    r = fd < 0 ? -1 : read(fd, cmd, sizeof cmd - 1);
    if (fd >= 0) close(fd);
    if (r > 0) {
      while (r > 0 && cmd[r - 1] == 0) r--;
      for (ssize_t i = 0; i < r; i++)
        if (cmd[i] == 0 || cmd[i] == '\n') cmd[i] = ' ';
      cmd[r] = 0;
    } else
      snprintf(cmd, sizeof cmd, "[%.*s]", (int)(rp - lp - 1), lp + 1);
    /* /proc/<pid> belongs to the process's effective user, the UID ps -ef shows. */
    struct stat owner;
    snprintf(path, sizeof path, "/proc/%s", e->d_name);
    unsigned uid = stat(path, &owner) == 0 ? owner.st_uid : 0;
    n = snprintf(line, sizeof line, "%u %s %d %d %llu %llu %s\n", uid, e->d_name, ppid, tty, ut + st, start, cmd);
    ob_append(&b, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
  }
  if (d) closedir(d);
  send_frame(F_PROCS, session, b.p, b.len);
  free(b.p);
}

static void handle_frame(struct frame *f) {
  struct session *s;
  switch (f->type) {
  case F_START:
    start_container(f);
    break;
  case F_EXEC:
    exec_session(f);
    break;
  case F_STDIN:
    if ((s = find_session(f->session)) && s->in >= 0 && !s->close_in) ob_append(&s->inq, f->data, f->len);
    break;
  case F_STDIN_EOF:
    if ((s = find_session(f->session)) && !s->tty) s->close_in = 1;
    break;
  case F_SIGNAL:
    if ((s = find_session(f->session)) && s->pid > 0) {
      int sig = 0, all = 0;
      sscanf((char *)f->data, "%d %d", &sig, &all);
      /* Everything but the agent, which is the guest's pid 1, is the container's. */
      if (all) kill(-1, sig);
      else kill(s->pid, sig);
    }
    break;
  case F_PS:
    list_processes(f->session);
    break;
  case F_WINSIZE:
    if ((s = find_session(f->session)) && s->tty && s->out >= 0) {
      int rows = 0, cols = 0;
      sscanf((char *)f->data, "%d %d", &rows, &cols);
      struct winsize ws = {(unsigned short)rows, (unsigned short)cols, 0, 0};
      ioctl(s->out, TIOCSWINSZ, &ws);
    }
    break;
  }
}

/* ---- boot ---- */

static void load_modules(void) {
  FILE *f = fopen("/modules", "r");
  if (!f) return;
  char line[512];
  while (fgets(line, sizeof line, f)) {
    line[strcspn(line, "\r\n")] = 0;
    if (!*line) continue;
    int fd = open(line, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      logmsg("module %s: %s", line, strerror(errno));
      continue;
    }
    if (syscall(SYS_finit_module, fd, "", 0) < 0 && errno != EEXIST) logmsg("load %s: %s", line, strerror(errno));
    close(fd);
  }
  fclose(f);
}

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void pause_ms(int ms) {
  struct timespec t = {ms / 1000, (long)(ms % 1000) * 1000000L};
  nanosleep(&t, NULL);
}

/* The virtio-serial port named berth.agent, once the driver has probed it. */
static int open_port(void) {
  double until = now() + 60;
  while (now() < until) {
    DIR *d = opendir("/sys/class/virtio-ports");
    struct dirent *e;
    while (d && (e = readdir(d))) {
      if (e->d_name[0] == '.') continue;
      char p[512], name[128] = "";
      snprintf(p, sizeof p, "/sys/class/virtio-ports/%s/name", e->d_name);
      FILE *f = fopen(p, "r");
      if (!f) continue;
      if (fgets(name, sizeof name, f)) name[strcspn(name, "\n")] = 0;
      fclose(f);
      if (strcmp(name, AGENT_PORT)) continue;
      snprintf(p, sizeof p, "/dev/%s", e->d_name);
      int fd = open(p, O_RDWR | O_CLOEXEC);
      if (fd >= 0) {
        closedir(d);
        return fd;
      }
    }
    if (d) closedir(d);
    pause_ms(20);
  }
  return -1;
}

/* Mounts the container's root (virtio-fs) and makes it the root, as switch_root does. */
static int enter_root(char *err, size_t errlen) {
  mkdir("/newroot", 0755);
  double until = now() + 60;
  while (mount(ROOT_TAG, "/newroot", "virtiofs", 0, NULL) < 0) {
    if (now() > until) return snprintf(err, errlen, "mount the root file system: %s", strerror(errno)), -1;
    pause_ms(20);
  }
  if (chdir("/newroot") < 0 || mount(".", "/", NULL, MS_MOVE, NULL) < 0 || chroot(".") < 0 || chdir("/") < 0)
    return snprintf(err, errlen, "enter the root file system: %s", strerror(errno)), -1;
  return 0;
}

int main(void) {
  signal(SIGPIPE, SIG_IGN);
  mkdir("/dev", 0755), mkdir("/proc", 0555), mkdir("/sys", 0555);
  mount("devtmpfs", "/dev", "devtmpfs", 0, NULL);
  mount("proc", "/proc", "proc", 0, NULL);
  mount("sysfs", "/sys", "sysfs", 0, NULL);
  load_modules();
  port = open_port();
  if (port < 0) {
    logmsg("no virtio-serial port named %s", AGENT_PORT);
    reboot(RB_POWER_OFF);
    return 1;
  }
  char err[1024];
  if (enter_root(err, sizeof err) < 0) {
    send_text(F_FAILED, 0, "%s", err);
    logmsg("%s", err);
    pause_ms(1000);
    reboot(RB_POWER_OFF);
    return 1;
  }
  sigset_t chld;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  sigprocmask(SIG_BLOCK, &chld, NULL);
  int sfd = signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK);
  struct utsname u;
  uname(&u);
  send_text(F_READY, 0, "%s", u.release);

  struct ibuf in = {0};
  struct pollfd *pfd = NULL;
  size_t cap = 0;
  for (;;) {
    size_t n = 0, need = 2;
    for (struct session *s = sessions; s; s = s->next) need += 3;
    if (need > cap) {
      cap = need * 2;
      pfd = realloc(pfd, cap * sizeof *pfd);
      if (!pfd) abort();
    }
    pfd[n++] = (struct pollfd){port, POLLIN, 0};
    pfd[n++] = (struct pollfd){sfd, POLLIN, 0};
    for (struct session *s = sessions; s; s = s->next) {
      if (s->out >= 0) pfd[n++] = (struct pollfd){s->out, POLLIN, 0};
      if (s->err >= 0) pfd[n++] = (struct pollfd){s->err, POLLIN, 0};
      if (s->in >= 0 && (ob_pending(&s->inq) || s->close_in)) pfd[n++] = (struct pollfd){s->in, POLLOUT, 0};
    }
    if (poll(pfd, n, -1) < 0) {
      if (errno == EINTR) continue;
      logmsg("poll: %s", strerror(errno));
      pause_ms(100);
      continue;
    }
    if (pfd[1].revents) {
      struct signalfd_siginfo si;
      while (read(sfd, &si, sizeof si) > 0) {
      }
      reap();
    }
    /* Sessions may have gone (reap): look them up again by descriptor. */
    for (size_t i = 2; i < n; i++) {
      if (!pfd[i].revents) continue;
      int fd = pfd[i].fd;
      for (struct session *s = sessions; s; s = s->next) {
        if (s->out == fd && pfd[i].events == POLLIN) pump(s, &s->out, F_STDOUT);
        else if (s->err == fd && pfd[i].events == POLLIN) pump(s, &s->err, F_STDERR);
        else if (s->in == fd && pfd[i].events == POLLOUT) {
          if (ob_flush(&s->inq, s->in) < 0) {
            free(s->inq.p);
            s->inq = (struct obuf){0};
            if (!s->tty) close_fd(&s->in);
          } else if (!ob_pending(&s->inq) && s->close_in) {
            close_fd(&s->in);
            s->close_in = 0;
          }
        } else continue;
        break;
      }
    }
    if (pfd[0].revents & POLLIN) {
      ssize_t r = ib_read(&in, port);
      if (r <= 0 && !(r < 0 && errno == EAGAIN)) pause_ms(50); /* the host is not connected */
      struct frame f;
      int k;
      while ((k = ib_next(&in, &f)) == 1) {
        handle_frame(&f);
        free(f.data);
      }
      if (k < 0) {
        logmsg("a frame from the host is too large: dropping the input");
        in.len = 0;
      }
    } else if (pfd[0].revents & (POLLHUP | POLLERR)) {
      pause_ms(50);
    }
  }
}
