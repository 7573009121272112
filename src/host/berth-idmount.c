/*
 * berth-idmount: mounts a container's root file system as an overlay of idmapped layers, so
 * that `berthd --userns-remap` can run containers on the image's layers as they are unpacked
 * (owned by the image's ids) instead of on a second, chowned copy of every image.
 *
 *   berth-idmount --uid-map C:H:N[,C:H:N...] --gid-map C:H:N[,...] \
 *                 --lower DIR [--lower DIR...] --upper DIR --work DIR TARGET
 *
 * Lowers are given topmost first, as in overlay's lowerdir=. Steps, each reported with its
 * errno when the kernel refuses it:
 *   1. a user namespace with the mapping: a child unshares CLONE_NEWUSER, this process (root
 *      in the initial namespace) writes its uid_map/gid_map and keeps /proc/<child>/ns/user open;
 *   2. every lower is cloned into a detached mount (open_tree OPEN_TREE_CLONE) and idmapped
 *      with that namespace (mount_setattr MOUNT_ATTR_IDMAP): a file owned by 0 in the layer is
 *      seen through the clone as owned by the mapped root (100000);
 *   3. overlay takes only layers attached in its mounter's mount namespace (a detached clone
 *      fails with "failed to clone lowerpath"), so this process moves to a private mount
 *      namespace of its own and attaches each clone over its own directory there;
 *   4. overlay is configured with the new mount API, each lower handed over by its fd
 *      (fsconfig FSCONFIG_SET_FD "lowerdir+", Linux 6.13 and later; by path with "lowerdir+"
 *      from 6.8), the upper and work directories by path, and created as a detached mount;
 *   5. back in the original mount namespace it is moved onto TARGET.
 * Overlay holds private clones of its layers: the private namespace, and the attached
 * clones in it, go when this process exits, leaving exactly one new mount, TARGET
 * (unmounted as any overlay).
 * The upper directory is not idmapped: what the container writes lands there with the host's
 * ids (copy-ups keep the owner seen through the idmapped lower), as in the chowned-copy way.
 *
 * Exit status 0 on success; otherwise 1, with "berth-idmount: <step>: <errno text>" and any
 * message the kernel logged on the overlay's context on stderr.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_LOWERS 500
#define MAX_MAP 4096

static pid_t child = -1;

static void cleanup(void) {
  if (child > 0) {
    kill(child, SIGKILL);
    waitpid(child, NULL, 0);
    child = -1;
  }
}

static void die(const char *fmt, ...) {
  int e = errno;
  va_list ap;
  fputs("berth-idmount: ", stderr);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fprintf(stderr, ": %s\n", strerror(e));
  cleanup();
  exit(1);
}

static void usage(const char *why) {
  fprintf(stderr,
          "berth-idmount: %s\nusage: berth-idmount --uid-map C:H:N[,...] --gid-map C:H:N[,...] "
          "--lower DIR... --upper DIR --work DIR TARGET\n",
          why);
  exit(2);
}

/* "C:H:N,C:H:N" (as given) into uid_map(5)'s "C H N\n" lines. */
static void map_lines(const char *arg, char *out, size_t size) {
  size_t n = 0;
  const char *p = arg;
  while (*p) {
    unsigned long c, h, k;
    int used = 0;
    if (sscanf(p, "%lu:%lu:%lu%n", &c, &h, &k, &used) != 3 || used == 0) usage("bad id map");
    int w = snprintf(out + n, size - n, "%lu %lu %lu\n", c, h, k);
    if (w < 0 || (size_t)w >= size - n) usage("id map too long");
    n += (size_t)w;
    p += used;
    if (*p == ',') p++;
    else if (*p) usage("bad id map");
  }
  if (n == 0) usage("empty id map");
}

static void write_file(const char *path, const char *text) {
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) die("user namespace: open %s", path);
  ssize_t len = (ssize_t)strlen(text);
  if (write(fd, text, (size_t)len) != len) die("user namespace: write %s", path);
  close(fd);
}

/* Step 1: a user namespace holding the mapping, by fd. */
static int userns_fd(const char *uid_map, const char *gid_map) {
  int ready[2], hold[2];
  if (pipe2(ready, O_CLOEXEC) < 0 || pipe2(hold, O_CLOEXEC) < 0) die("user namespace: pipe");
  child = fork();
  if (child < 0) die("user namespace: fork");
  if (child == 0) {
    char c = 0;
    close(ready[0]);
    close(hold[1]);
    if (unshare(CLONE_NEWUSER) < 0) c = 1;
    if (write(ready[1], &c, 1) != 1) _exit(1);
    /* Stays until the parent has opened its namespace (it closes its end, or kills us). */
    while (read(hold[0], &c, 1) < 0 && errno == EINTR) {
    }
    _exit(0);
  }
  close(ready[1]);
  close(hold[0]);
  char c = 1;
  if (read(ready[0], &c, 1) != 1 || c != 0) {
    errno = c ? EPERM : EIO;
    die("user namespace: unshare(CLONE_NEWUSER)");
  }
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/uid_map", child);
  write_file(path, uid_map);
  snprintf(path, sizeof path, "/proc/%d/gid_map", child);
  write_file(path, gid_map);
  snprintf(path, sizeof path, "/proc/%d/ns/user", child);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) die("user namespace: open %s", path);
  close(hold[1]);
  close(ready[0]);
  cleanup();
  return fd;
}

/* Step 2: a detached, idmapped, read-only clone of one lower directory. */
static int idmapped_clone(const char *dir, int ns) {
  int fd = open_tree(AT_FDCWD, dir, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
  if (fd < 0) die("open_tree(OPEN_TREE_CLONE) %s", dir);
  struct mount_attr attr = {
      .attr_set = MOUNT_ATTR_IDMAP | MOUNT_ATTR_RDONLY,
      .userns_fd = (unsigned long long)ns,
  };
  if (mount_setattr(fd, "", AT_EMPTY_PATH, &attr, sizeof attr) < 0)
    die("mount_setattr(MOUNT_ATTR_IDMAP) %s", dir);
  return fd;
}

/* What the kernel logged on an fs context (fsconfig's reasons), printed before dying. */
static void print_log(int fsfd) {
  char buf[1024];
  for (;;) {
    ssize_t n = read(fsfd, buf, sizeof buf - 1);
    if (n <= 0) break;
    buf[n] = 0;
    fprintf(stderr, "berth-idmount: kernel: %s%s", buf, buf[n - 1] == '\n' ? "" : "\n");
  }
}

static int fs_fd = -1;

static void fs_die(const char *fmt, const char *arg) {
  int e = errno;
  if (fs_fd >= 0) print_log(fs_fd);
  errno = e;
  die(fmt, arg);
}

/* How overlay is given its lowers: by fd (Linux 6.13+), else by path one at a time (6.8+; the
 * paths name the idmapped clones attached in this process's private mount namespace). Not as
 * one "lowerdir=a:b:c" string: fsconfig takes strings of at most 256 bytes, too short for a
 * stack of layers, and a probe with one layer would pass where containers then fail. */
enum { FD, PLUS };
static const char *const way_names[] = {"fd", "lowerdir+"};

/* Gives fs_fd its lowers one way; false when the kernel does not know that way (EINVAL, EBADF),
 * dies on any other refusal. */
static int set_lowers(int way, const char **lowers, const int *fds, int n) {
  int r = 0;
  for (int i = 0; i < n && r == 0; i++)
    r = way == FD ? fsconfig(fs_fd, FSCONFIG_SET_FD, "lowerdir+", NULL, fds[i])
                  : fsconfig(fs_fd, FSCONFIG_SET_STRING, "lowerdir+", lowers[i], 0);
  if (r == 0) return 1;
  if (errno == EINVAL || errno == EBADF) {
    int e = errno;
    fprintf(stderr, "berth-idmount: fsconfig %s: %s; trying the next way\n", way_names[way], strerror(e));
    print_log(fs_fd);
    return 0;
  }
  fs_die("fsconfig %s", way_names[way]);
  return 0;
}

int main(int argc, char **argv) {
  static char uid_map[MAX_MAP], gid_map[MAX_MAP];
  const char *lowers[MAX_LOWERS];
  int nlowers = 0;
  const char *upper = NULL, *work = NULL, *target = NULL;
  uid_map[0] = gid_map[0] = 0;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(a, "--uid-map") && v) map_lines(v, uid_map, sizeof uid_map), i++;
    else if (!strcmp(a, "--gid-map") && v) map_lines(v, gid_map, sizeof gid_map), i++;
    else if (!strcmp(a, "--lower") && v) {
      if (nlowers == MAX_LOWERS) usage("too many lowers");
      lowers[nlowers++] = v, i++;
    } else if (!strcmp(a, "--upper") && v) upper = v, i++;
    else if (!strcmp(a, "--work") && v) work = v, i++;
    else if (a[0] != '-' && !target) target = a;
    else usage("bad arguments");
  }
  if (!uid_map[0] || !gid_map[0] || !nlowers || !upper || !work || !target) usage("missing arguments");

  int ns = userns_fd(uid_map, gid_map);
  int fds[MAX_LOWERS];
  for (int i = 0; i < nlowers; i++) fds[i] = idmapped_clone(lowers[i], ns);
  close(ns);

  /* Opened here, where TARGET is the caller's path; used after returning to this namespace. */
  int target_fd = open(target, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (target_fd < 0) die("open target %s", target);
  int host_ns = open("/proc/self/ns/mnt", O_RDONLY | O_CLOEXEC);
  if (host_ns < 0) die("open /proc/self/ns/mnt");
  if (unshare(CLONE_NEWNS) < 0) die("unshare(CLONE_NEWNS)");
  /* Nothing attached below may propagate back to the host's mounts. */
  if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) die("make / rprivate");
  for (int i = 0; i < nlowers; i++)
    if (move_mount(fds[i], "", AT_FDCWD, lowers[i], MOVE_MOUNT_F_EMPTY_PATH) < 0)
      die("move_mount idmapped clone over %s", lowers[i]);

  /* Each way the kernel may take the lowers, newest first; BERTH_IDMOUNT_LOWERS picks one (tests). */
  const char *only = getenv("BERTH_IDMOUNT_LOWERS");
  int way = FD;
  for (; way <= PLUS; way++) {
    if (only && strcmp(only, way_names[way])) continue;
    fs_fd = fsopen("overlay", FSOPEN_CLOEXEC);
    if (fs_fd < 0) die("fsopen(overlay)");
    if (fsconfig(fs_fd, FSCONFIG_SET_STRING, "source", "overlay", 0) < 0) fs_die("fsconfig source %s", "overlay");
    if (set_lowers(way, lowers, fds, nlowers)) break;
    /* Not this kernel's way: the next one, on a fresh context. */
    close(fs_fd);
    fs_fd = -1;
  }
  if (way > PLUS) {
    errno = EINVAL;
    die("fsconfig lowerdir: no way of giving overlay its lowers worked (%s)", only ? only : "fd, lowerdir+");
  }
  for (int i = 0; i < nlowers; i++) close(fds[i]);
  if (fsconfig(fs_fd, FSCONFIG_SET_STRING, "upperdir", upper, 0) < 0) fs_die("fsconfig upperdir %s", upper);
  if (fsconfig(fs_fd, FSCONFIG_SET_STRING, "workdir", work, 0) < 0) fs_die("fsconfig workdir %s", work);
  if (fsconfig(fs_fd, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0) fs_die("fsconfig create %s", "overlay");
  int mnt = fsmount(fs_fd, FSMOUNT_CLOEXEC, 0);
  if (mnt < 0) fs_die("fsmount %s", "overlay");
  if (setns(host_ns, CLONE_NEWNS) < 0) die("setns back to the host's mount namespace");
  if (move_mount(mnt, "", target_fd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
    die("move_mount onto %s", target);
  return 0;
}
