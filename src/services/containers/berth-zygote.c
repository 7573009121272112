/*
 * berth-zygote: the process of a warm pool's sandbox (services/containers/pool.ts), which
 * becomes the user's command once a container takes the sandbox and starts.
 *
 * Why: a sandbox is made before anyone asks for a container (namespaces, cgroup, root file
 * system, monitor), so the command is not known when the runtime is told what to run. The
 * runtime runs this instead, and the sandbox's making starts it at once: it is the task's
 * PID 1 from then on, waiting on a FIFO of its own. berthd writes the command into the
 * container's root at hand-over and tells it so ('c'); it reads it and does all it can ahead;
 * the container's start is one more byte ('g'), after which it only sets its ids and execs.
 * Start's path is then one exec, where it was the runtime's init released at its exec FIFO,
 * an exec of this program and this program's work, then the command's exec (some 2 ms of a
 * warm run at load 5, traced: docs/benchmarks.md). The container's PID 1 is the user's
 * command, as without the pool.
 *
 * The FIFO: /.berth-zygote-go, made here (mode 0600; a path the image already has there fails
 * the sandbox) and held open read-write, so that berthd's non-blocking open for writing
 * succeeds while this waits and fails (ENXIO) once it is gone, and no writer's close is ever
 * an end of file. berthd finds the sandbox ready once that open succeeds. Bytes other than
 * the one awaited end it with 127. A runtime whose root the host cannot reach into (gVisor's:
 * a FIFO made inside is not on the host) has its sandboxes left unstarted, as before: this
 * then runs at the container's start, finds its command written, and neither makes nor waits
 * on the FIFO.
 *
 * What it reads at 'c': /.berth-zygote-cmd, NUL-separated fields:
 *   uid, gid, supplementary gids (comma-separated, may be empty), working directory,
 *   HOME for a user /etc/passwd does not list (empty: none, as crun; runc's is "/"),
 *   the number of arguments, the arguments, then the environment to its end.
 * What it does then: removes the command file and its own binary from the root (so the
 * user's command finds neither), makes the working directory as Docker does when missing,
 * sets HOME from /etc/passwd when the environment has none (as runc and crun do). At 'g':
 * removes the FIFO (as root still), sets the groups and the ids, changes directory, looks the
 * command up in the environment's PATH when it has no slash, and execs it with exactly that
 * environment. Nothing of its own is inherited: the runtime gave it the spec's environment,
 * which is replaced wholesale.
 *
 * A command that cannot be run ends it with 127 (not found) or 126 (not executable), and
 * the reason on stderr, which the monitor logs. Built static by scripts/setup.sh, since it
 * runs inside any image, against musl: it is copied into every sandbox's root. It reads
 * /etc/passwd itself: no NSS, which a static glibc lacks.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CMD_FILE "/.berth-zygote-cmd"
#define SELF "/.berth-zygote"
#define GO_FIFO "/.berth-zygote-go"
#define MAX_CMD (4 << 20)
#define MAX_FIELDS 65536
#define MAX_GIDS 256

static char buf[MAX_CMD + 1];
/* Room for argv's terminator and HOME beside the fields. */
static char *fields[MAX_FIELDS + 4];

static void die(int code, const char *what, const char *arg) {
  dprintf(2, "berth-zygote: %s%s%s: %s\n", what, arg ? " " : "", arg ? arg : "", strerror(errno));
  _exit(code);
}

static void mkdirs(const char *path) {
  char p[PATH_MAX];
  if (strlen(path) >= sizeof p) return;
  strcpy(p, path);
  for (char *s = p + 1; *s; s++) {
    if (*s != '/') continue;
    *s = 0;
    mkdir(p, 0755);
    *s = '/';
  }
  mkdir(p, 0755);
}

/* HOME of uid from the container's /etc/passwd, or `fallback` (the runtime's choice). */
static const char *home_of(unsigned uid, const char *fallback) {
  static char line[4096], home[PATH_MAX];
  FILE *f = fopen("/etc/passwd", "re");
  snprintf(home, sizeof home, "%s", fallback);
  if (!f) return home;
  while (fgets(line, sizeof line, f)) {
    char *fld[7] = {0};
    int n = 0;
    for (char *s = line, *t; n < 7 && (t = strsep(&s, ":\n")); n++) fld[n] = t;
    if (n >= 6 && fld[2] && strtoul(fld[2], NULL, 10) == uid && fld[2][0] >= '0' && fld[2][0] <= '9' && fld[5][0]) {
      snprintf(home, sizeof home, "%s", fld[5]);
      break;
    }
  }
  fclose(f);
  return home;
}

/* Waits for berthd's byte `want` on the FIFO; any other (or a failed read) ends the sandbox. */
static void await_byte(int fifo, char want) {
  char b;
  ssize_t r;
  while ((r = read(fifo, &b, 1)) < 0 && errno == EINTR)
    ;
  if (r == 1 && b == want) return;
  if (r >= 0) errno = EPROTO;
  die(127, "wait", GO_FIFO);
}

int main(void) {
  /* Started at the sandbox's making, before any command: wait for it on the FIFO. Started by
   * the container's start (a runtime whose root the host cannot reach into, as gVisor's: the
   * making does not start those), the command is there already: read it and exec at once. */
  int fifo = -1;
  if (access(CMD_FILE, F_OK) < 0) {
    if (mknod(GO_FIFO, S_IFIFO | 0600, 0) < 0) die(127, "mkfifo", GO_FIFO);
    fifo = open(GO_FIFO, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
    if (fifo < 0) die(127, "open", GO_FIFO);
    await_byte(fifo, 'c');
  }

  int fd = open(CMD_FILE, O_RDONLY | O_CLOEXEC);
  if (fd < 0) die(127, "open", CMD_FILE);
  size_t len = 0;
  for (ssize_t r; (r = read(fd, buf + len, MAX_CMD - len)) != 0; len += (size_t)r) {
    if (r < 0) {
      if (errno == EINTR) { r = 0; continue; }
      die(127, "read", CMD_FILE);
    }
    if (len + (size_t)r >= MAX_CMD) {
      errno = E2BIG;
      die(127, "read", CMD_FILE);
    }
  }
  close(fd);
  unlink(CMD_FILE);
  unlink(SELF);
  buf[len] = 0;

  int n = 0;
  for (size_t i = 0; i < len && n < MAX_FIELDS; n++) {
    fields[n] = buf + i;
    i += strlen(buf + i) + 1;
  }
  if (n < 7) {
    errno = EINVAL;
    die(127, "command", "truncated");
  }
  unsigned uid = (unsigned)strtoul(fields[0], NULL, 10), gid = (unsigned)strtoul(fields[1], NULL, 10);
  gid_t gids[MAX_GIDS];
  int ngids = 0;
  for (char *s = fields[2], *t; ngids < MAX_GIDS && (t = strsep(&s, ",")) != NULL;)
    if (*t) gids[ngids++] = (gid_t)strtoul(t, NULL, 10);
  const char *cwd = fields[3], *home_fallback = fields[4];
  int argc = atoi(fields[5]);
  if (argc < 1 || 6 + argc > n) {
    errno = EINVAL;
    die(127, "command", "without arguments");
  }
  char **argv = &fields[6];
  char **envp = &fields[6 + argc];
  /* argv and envp end where the next list begins: terminate argv by copying envp one up. */
  int envc = n - 6 - argc;
  memmove(envp + 1, envp, (size_t)envc * sizeof *envp);
  envp[0] = NULL;
  envp++;
  envp[envc] = NULL;

  mkdirs(cwd);
  int has_home = 0;
  const char *path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  for (int i = 0; i < envc; i++) {
    if (!strncmp(envp[i], "HOME=", 5)) has_home = 1;
    if (!strncmp(envp[i], "PATH=", 5)) path = envp[i] + 5;
  }
  static char homevar[PATH_MAX + 8];
  const char *home = has_home ? "" : home_of(uid, home_fallback);
  if (*home) {
    snprintf(homevar, sizeof homevar, "HOME=%s", home);
    envp[envc++] = homevar;
    envp[envc] = NULL;
  }
  /* All above was done ahead of the start; from here on it is on its path. */
  if (fifo >= 0) {
    await_byte(fifo, 'g');
    unlink(GO_FIFO);
    close(fifo);
  }
  if (setgroups((size_t)ngids, gids) < 0) die(127, "setgroups", NULL);
  if (setgid(gid) < 0) die(127, "setgid", NULL);
  if (setuid(uid) < 0) die(127, "setuid", NULL);
  if (chdir(cwd) < 0) die(127, "chdir", cwd);

  const char *prog = argv[0];
  if (!strchr(prog, '/')) {
    static char cand[PATH_MAX];
    int denied = 0;
    for (const char *p = path; ; ) {
      const char *e = strchr(p, ':');
      size_t dl = e ? (size_t)(e - p) : strlen(p);
      if (dl + strlen(prog) + 2 < sizeof cand) {
        memcpy(cand, dl ? p : ".", dl ? dl : 1);
        size_t at = dl ? dl : 1;
        cand[at] = '/';
        strcpy(cand + at + 1, prog);
        execve(cand, argv, envp);
        if (errno == EACCES) denied = 1;
      }
      if (!e) break;
      p = e + 1;
    }
    errno = denied ? EACCES : ENOENT;
    dprintf(2, "exec: \"%s\": %s\n", prog, denied ? "permission denied" : "executable file not found in $PATH");
    _exit(denied ? 126 : 127);
  }
  execve(prog, argv, envp);
  die(errno == ENOENT ? 127 : 126, "exec", prog);
  return 127;
}
