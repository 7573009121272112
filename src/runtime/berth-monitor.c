/*
 * berth-monitor: Berth's own per-container monitor, in place of conmon (berthd --monitor berth).
 *
 * Why: conmon is built on glib and costs about 1 MB of memory per running container; a
 * thousand containers on a small host want that to be a fraction. This does only what Berth
 * asks of conmon, with no heap, in one statically linked process per container.
 *
 * It speaks conmon's command line (the subset src/runtime/conmon.ts writes) and conmon's
 * protocols, so the runtime driver drives either the same way:
 *   - the first process forks, writes the monitor's pid to -P and exits 0; the monitor calls
 *     setsid, becomes a subreaper and runs `<runtime> <runtime-args> create --bundle B
 *     --pid-file P [--console-socket S] <cid>` (with --exec: `exec --pid-file P --process F
 *     --detach`; with --restore D: `restore --bundle B --pid-file P --detach --image-path D
 *     --work-path B`, a checkpoint's processes running once it returns, as conmon's), the
 *     container's stdio being its pipes (or, with -t, the pty the runtime hands over the
 *     console socket);
 *   - on the fd named by $_OCI_SYNCPIPE: `{"data": <pid>}` once the runtime made the process,
 *     or `{"data": -1, "message": "<runtime's stderr>"}` when it failed; for an exec, a second
 *     `{"data": <exit code>}` when the process ends;
 *   - the log in k8s-file form (`<time> stdout|stderr F|P <bytes>`), capped by
 *     --log-size-max: a fresh file is renamed over the log; with --log-max-files N (Docker's
 *     max-file, N >= 2) the full one is kept first as `<log>.1`, the older ones shifted to
 *     `<log>.2` … `<log>.N-1` and the oldest dropped, as dockerd's json-file driver rotates
 *     (see rotate_log: no line is ever only in an unlinked file);
 *   - the attach socket `<bundle>/attach` (SOCK_SEQPACKET, linked from
 *     `<socket-dir-path>/<cuuid>`): a client's packets go to stdin, its end of input closes
 *     stdin (unless --leave-stdin-open), output goes out as packets led by 2 (stdout) or 3
 *     (stderr) — what berth-attach.c reads;
 *   - the control FIFO `<bundle>/ctl`: `1 <h> <w>` resizes the terminal, `2 0 0` reopens the log;
 *   - when the container's process ends: what it wrote is drained into the log, an `oom` file
 *     is left in the working directory if its memory cgroup saw an OOM kill, and the exit
 *     status (128+signal for a signal) goes to `<exit-dir>/<cid>` (temp file + rename), which
 *     berthd watches with inotify; a berthd restart changes nothing here.
 *
 * Built by scripts/setup.sh (`musl-gcc -O2 -static`): static, so that each monitor's private
 * memory is its few pages of data and stack, the code being shared between all of them; with
 * musl rather than glibc, whose static start-up alone dirties ~40 kB (its data, and a heap for
 * the thread's TLS, which costs a page table of its own) where musl's dirties ~12 kB. The stack
 * is kept shallow for the same reason: a stack page once touched stays for the monitor's life,
 * and gcc's stack-clash probes touch every page of a large frame, so the functions with big
 * buffers are not inlined into main (whose frame lives as long as the monitor) and the paths
 * held while it runs are bounded at PATH_BUF (bench/density.sh measures what each costs).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#define BUF 8192
/* Paths the monitor builds from its arguments; a longer one is refused rather than cut. */
#define PATH_BUF 1024
#define MAX_CLIENTS 8
#define MAX_RT_ARGS 16

static const char *cid, *cuuid, *runtime, *bundle, *pidfile, *monitor_pidfile, *log_path, *exit_dir;
static const char *socket_dir, *process_spec, *restore_path;
static const char *rt_args[MAX_RT_ARGS];
static int n_rt_args, terminal, want_stdin, leave_stdin_open, exec_mode;
static long long log_size_max;
static int log_max_files = 1;

static int sync_fd = -1, log_fd = -1;
static long long log_bytes;
/* The container's side: output (pipe or pty master), stderr pipe, stdin (pipe or pty dup). */
static int out_fd = -1, err_fd = -1, in_fd = -1, pty_fd = -1;
static int clients[MAX_CLIENTS], client_reading[MAX_CLIENTS], n_clients;
static char in_buf[BUF];
static size_t in_len, in_off;
static int close_stdin_when_flushed;

static void usage(const char *why);

static void die(const char *what)
{
	fprintf(stderr, "berth-monitor: %s: %s\n", what, strerror(errno));
	exit(1);
}

static int write_all(int fd, const char *b, size_t n)
{
	while (n) {
		ssize_t w = write(fd, b, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		b += w;
		n -= (size_t)w;
	}
	return 0;
}

/* One line on the sync pipe, conmon's JSON: the message escaped for a JSON string. */
static void sync_write(int data, const char *message)
{
	if (sync_fd < 0)
		return;
	static char out[BUF * 2 + 64];
	int n = snprintf(out, sizeof out, "{\"data\": %d", data);
	if (message && *message) {
		n += snprintf(out + n, sizeof out - n, ", \"message\": \"");
		for (const unsigned char *p = (const unsigned char *)message; *p && n < (int)sizeof out - 16; p++) {
			if (*p == '"' || *p == '\\')
				n += snprintf(out + n, sizeof out - n, "\\%c", *p);
			else if (*p == '\n')
				n += snprintf(out + n, sizeof out - n, "\\n");
			else if (*p < 0x20)
				n += snprintf(out + n, sizeof out - n, "\\u%04x", *p);
			else
				out[n++] = (char)*p;
		}
		n += snprintf(out + n, sizeof out - n, "\"");
	}
	n += snprintf(out + n, sizeof out - n, "}\n");
	write_all(sync_fd, out, (size_t)n);
}

/* ---- the log ---- */

static void open_log(void)
{
	log_fd = open(log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	struct stat st;
	log_bytes = log_fd >= 0 && fstat(log_fd, &st) == 0 ? st.st_size : 0;
}

/* A fresh, empty log renamed over the old one: the cap without rotation, or the control FIFO's reopen (the old content goes, unless logrotate.ts holds it by a link under conmon). */
__attribute__((noinline)) static void reopen_log(void)
{
	char tmp[4096];
	snprintf(tmp, sizeof tmp, "%s.tmp", log_path);
	int fd = open(tmp, O_WRONLY | O_APPEND | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
	if (fd < 0)
		return;
	if (rename(tmp, log_path) < 0) {
		close(fd);
		unlink(tmp);
		return;
	}
	if (log_fd >= 0)
		close(log_fd);
	log_fd = fd;
	log_bytes = 0;
}

/*
 * The log is full: with --log-max-files N >= 2, `<log>.N-1` goes, `<log>.k` becomes `<log>.k+1`,
 * the full log becomes `<log>.1` and a fresh one takes its name. The full log is linked as `.1`
 * before the fresh file is renamed over it, so at every instant the log's name exists and each
 * line is under a name: a reader taking the files newest first (logrotate.ts's openLogSet) sees
 * a file at most twice (by inode), never a gap; berthd need not be running. The fresh file is
 * made first: without it nothing moves and the log grows past its cap until the next try.
 */
__attribute__((noinline)) static void rotate_log(void)
{
	if (log_max_files < 2) {
		reopen_log();
		return;
	}
	char from[PATH_BUF + 16], to[PATH_BUF + 16];
	snprintf(from, sizeof from, "%s.tmp", log_path);
	int fd = open(from, O_WRONLY | O_APPEND | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
	if (fd < 0)
		return;
	snprintf(to, sizeof to, "%s.%d", log_path, log_max_files - 1);
	unlink(to);
	for (int k = log_max_files - 2; k >= 1; k--) {
		snprintf(from, sizeof from, "%s.%d", log_path, k);
		snprintf(to, sizeof to, "%s.%d", log_path, k + 1);
		rename(from, to);
	}
	snprintf(to, sizeof to, "%s.1", log_path);
	snprintf(from, sizeof from, "%s.tmp", log_path);
	/* `.1` may be left from a shift that failed: the full log's content wins its name. */
	if (link(log_path, to) < 0 && (errno != EEXIST || unlink(to) < 0 || link(log_path, to) < 0)) {
		close(fd);
		unlink(from);
		return;
	}
	if (rename(from, log_path) < 0) {
		/* The full log stays the log (and is `.1` as well: readers take one file once, by inode). */
		close(fd);
		unlink(from);
		return;
	}
	if (log_fd >= 0)
		close(log_fd);
	log_fd = fd;
	log_bytes = 0;
}

/* Each line of one chunk of output as an entry, all with the chunk's time; a last piece without `\n` is partial (P). */
static void write_log(int stream, const char *b, size_t n)
{
	if (log_fd < 0)
		return;
	struct timespec ts;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	char head[64];
	int hl = snprintf(head, sizeof head, "%04d-%02d-%02dT%02d:%02d:%02d.%09ld+00:00 %s ", tm.tm_year + 1900,
			  tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec,
			  stream == 2 ? "stdout" : "stderr");
	struct iovec iov[64];
	int k = 0;
	while (n > 0) {
		const char *nl = memchr(b, '\n', n);
		size_t len = nl ? (size_t)(nl - b) + 1 : n;
		long long entry = hl + 2 + (long long)len + (nl ? 0 : 1);
		if (log_size_max > 0 && log_bytes + entry > log_size_max) {
			if (k) {
				writev(log_fd, iov, k);
				k = 0;
			}
			rotate_log();
		}
		iov[k++] = (struct iovec){ head, (size_t)hl };
		iov[k++] = (struct iovec){ nl ? "F " : "P ", 2 };
		iov[k++] = (struct iovec){ (void *)b, len };
		if (!nl)
			iov[k++] = (struct iovec){ "\n", 1 };
		log_bytes += entry;
		b += len;
		n -= len;
		if (k > 60) {
			writev(log_fd, iov, k);
			k = 0;
		}
	}
	if (k)
		writev(log_fd, iov, k);
}

/* ---- attach clients ---- */

static void drop_client(int i)
{
	close(clients[i]);
	clients[i] = clients[n_clients - 1];
	client_reading[i] = client_reading[n_clients - 1];
	n_clients--;
}

/* Output to every attached client, one packet led by the stream (2 stdout, 3 stderr). */
static void broadcast(int stream, const char *b, size_t n)
{
	if (!n_clients)
		return;
	static char pkt[BUF + 1];
	pkt[0] = (char)stream;
	memcpy(pkt + 1, b, n);
	for (int i = n_clients - 1; i >= 0; i--)
		if (send(clients[i], pkt, n + 1, MSG_NOSIGNAL) < 0)
			drop_client(i);
}

/* Reads one chunk of the container's output into the log and to the clients: 1 if it did, 0 at
 * its end (or on an error: a pty's master reads EIO once its last holder is gone), -1 if nothing is there yet. */
static int pump(int fd, int stream)
{
	static char b[BUF];
	ssize_t n = read(fd, b, sizeof b);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return -1;
	if (n <= 0)
		return 0;
	write_log(stream, b, (size_t)n);
	broadcast(stream, b, (size_t)n);
	return 1;
}

static void close_stdin(void)
{
	if (in_fd >= 0)
		close(in_fd);
	in_fd = -1;
	in_len = in_off = 0;
}

/* Writes what is pending for stdin, as far as it goes without blocking. */
static void flush_stdin(void)
{
	while (in_fd >= 0 && in_off < in_len) {
		ssize_t w = write(in_fd, in_buf + in_off, in_len - in_off);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN)
				close_stdin();
			return;
		}
		in_off += (size_t)w;
	}
	in_len = in_off = 0;
	if (close_stdin_when_flushed)
		close_stdin();
}

static void client_input(int i)
{
	ssize_t n = recv(clients[i], in_buf, sizeof in_buf, 0);
	if (n < 0) {
		if (errno != EAGAIN && errno != EINTR)
			drop_client(i);
		return;
	}
	if (n == 0) {
		/* The client's end of input: it still gets output; stdin closes unless told otherwise. */
		shutdown(clients[i], SHUT_RD);
		client_reading[i] = 0;
		if (want_stdin && !leave_stdin_open)
			close_stdin_when_flushed = 1;
		flush_stdin();
		return;
	}
	if (in_fd < 0)
		return;
	in_len = (size_t)n;
	in_off = 0;
	flush_stdin();
}

/* ---- the control FIFO ---- */

static void control(int fd)
{
	static char b[256];
	static size_t have;
	ssize_t n = read(fd, b + have, sizeof b - 1 - have);
	if (n <= 0)
		return;
	have += (size_t)n;
	b[have] = 0;
	char *line = b, *nl;
	while ((nl = strchr(line, '\n'))) {
		*nl = 0;
		int type, h, w;
		if (sscanf(line, "%d %d %d", &type, &h, &w) == 3) {
			if (type == 1 && pty_fd >= 0) {
				struct winsize ws = { .ws_row = (unsigned short)h, .ws_col = (unsigned short)w };
				ioctl(pty_fd, TIOCSWINSZ, &ws);
			} else if (type == 2) {
				reopen_log();
			}
		}
		line = nl + 1;
	}
	have = strlen(line);
	memmove(b, line, have);
	if (have == sizeof b - 1)
		have = 0;
}

/* ---- setup ---- */

__attribute__((noinline)) static int make_fifo(const char *dir, const char *name, int *keep_w)
{
	char p[PATH_BUF];
	if (snprintf(p, sizeof p, "%s/%s", dir, name) >= (int)sizeof p)
		usage("bundle path too long");
	if (mkfifo(p, 0660) < 0 && errno != EEXIST)
		die("mkfifo ctl");
	int r = open(p, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	/* Held open for writing too, so that a writer closing never leaves the FIFO at end of file. */
	*keep_w = open(p, O_WRONLY | O_CLOEXEC);
	if (r < 0 || *keep_w < 0)
		die("open ctl");
	return r;
}

/* `<bundle>/attach`, bound through /proc/self/fd (a bundle path may be longer than a socket path may), linked from the socket dir. */
static int make_attach_socket(char *link, size_t linklen)
{
	if (snprintf(link, linklen, "%s/%s", socket_dir, cuuid) >= (int)linklen)
		usage("socket dir path too long");
	unlink(link);
	if (symlink(bundle, link) < 0)
		die("symlink attach dir");
	int dir = open(bundle, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dir < 0)
		die("open bundle");
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	snprintf(a.sun_path, sizeof a.sun_path, "/proc/self/fd/%d/attach", dir);
	unlinkat(dir, "attach", 0);
	int s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s < 0 || fchmod(s, 0700) < 0 || bind(s, (struct sockaddr *)&a, sizeof a) < 0 || listen(s, 10) < 0)
		die("attach socket");
	close(dir);
	return s;
}

/* The socket the runtime hands the pty's master over (--console-socket), in /tmp as conmon has it. */
static int make_console_socket(char *path, size_t len)
{
	snprintf(path, len, "/tmp/berth-monitor-XXXXXX");
	int fd = mkstemp(path);
	if (fd < 0)
		die("console socket name");
	close(fd);
	unlink(path);
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	snprintf(a.sun_path, sizeof a.sun_path, "%s", path);
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof a) < 0 || listen(s, 1) < 0)
		die("console socket");
	return s;
}

/* The pty master the runtime sent (already queued: the runtime has exited), or -1. */
static int receive_console(int s)
{
	int c = accept4(s, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (c < 0)
		return -1;
	char b[64], ctl[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { b, sizeof b };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl, .msg_controllen = sizeof ctl };
	int fd = -1;
	if (recvmsg(c, &m, MSG_CMSG_CLOEXEC) >= 0) {
		struct cmsghdr *h = CMSG_FIRSTHDR(&m);
		if (h && h->cmsg_level == SOL_SOCKET && h->cmsg_type == SCM_RIGHTS)
			memcpy(&fd, CMSG_DATA(h), sizeof fd);
	}
	close(c);
	return fd;
}

/* The container's memory cgroup, from /proc/<pid>/cgroup: where to look for OOM kills at the end. */
static char oom_file[512];

__attribute__((noinline)) static void find_memory_cgroup(pid_t pid)
{
	/* A line per hierarchy (a dozen on cgroup v1, ~100 bytes each with Berth's paths). */
	char p[64], b[2048];
	snprintf(p, sizeof p, "/proc/%d/cgroup", pid);
	int fd = open(p, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	ssize_t n = read(fd, b, sizeof b - 1);
	close(fd);
	if (n <= 0)
		return;
	b[n] = 0;
	for (char *line = strtok(b, "\n"); line; line = strtok(NULL, "\n")) {
		char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
		if (!c2)
			continue;
		*c2 = 0;
		const char *ctrls = c1 + 1, *path = c2 + 1;
		if (strstr(ctrls, "memory") && strcmp(ctrls, "") != 0) {
			snprintf(oom_file, sizeof oom_file, "/sys/fs/cgroup/memory%s/memory.oom_control", path);
			return;
		}
		if (*ctrls == 0 && strncmp(line, "0", 1) == 0)
			snprintf(oom_file, sizeof oom_file, "/sys/fs/cgroup%s/memory.events", path);
	}
}

__attribute__((noinline)) static int oom_killed(void)
{
	char b[1024];
	int fd = oom_file[0] ? open(oom_file, O_RDONLY | O_CLOEXEC) : -1;
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, b, sizeof b - 1);
	close(fd);
	if (n <= 0)
		return 0;
	b[n] = 0;
	const char *k = strstr(b, "oom_kill ");
	return k && atoi(k + 9) > 0;
}

static void usage(const char *why)
{
	fprintf(stderr, "berth-monitor: %s\n", why);
	exit(1);
}

static void parse_args(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
#define OPT(s, l) (strcmp(a, s) == 0 || strcmp(a, l) == 0)
		if (OPT("-t", "--terminal"))
			terminal = 1;
		else if (OPT("-i", "--stdin"))
			want_stdin = 1;
		else if (OPT("--leave-stdin-open", "--leave-stdin-open"))
			leave_stdin_open = 1;
		else if (OPT("-e", "--exec"))
			exec_mode = 1;
		else if (OPT("--no-sync-log", "--no-sync-log"))
			;
		else if (!v)
			usage("an option is missing its value");
		else {
			i++;
			if (OPT("-c", "--cid"))
				cid = v;
			else if (OPT("-u", "--cuuid"))
				cuuid = v;
			else if (OPT("-n", "--name") || OPT("--api-version", "--log-level"))
				;
			else if (OPT("-r", "--runtime"))
				runtime = v;
			else if (OPT("-b", "--bundle"))
				bundle = v;
			else if (OPT("-p", "--container-pidfile"))
				pidfile = v;
			else if (OPT("-P", "--conmon-pidfile"))
				monitor_pidfile = v;
			else if (OPT("-l", "--log-path"))
				log_path = strncmp(v, "k8s-file:", 9) == 0 ? v + 9 : v;
			else if (OPT("--exit-dir", "--exit-dir"))
				exit_dir = v;
			else if (OPT("--socket-dir-path", "--socket-dir-path"))
				socket_dir = v;
			else if (OPT("--exec-process-spec", "--exec-process-spec"))
				process_spec = v;
			else if (OPT("--restore", "--restore"))
				restore_path = v;
			else if (OPT("--log-size-max", "--log-size-max"))
				log_size_max = atoll(v);
			else if (OPT("--log-max-files", "--log-max-files"))
				log_max_files = atoi(v);
			else if (OPT("--runtime-arg", "--runtime-arg")) {
				if (n_rt_args == MAX_RT_ARGS)
					usage("too many --runtime-arg");
				rt_args[n_rt_args++] = v;
			} else {
				fprintf(stderr, "berth-monitor: unknown option %s\n", a);
				exit(1);
			}
		}
	}
	if (!cid || !runtime || !bundle || !pidfile || !socket_dir)
		usage("needs -c, -r, -b, -p and --socket-dir-path");
	if (exec_mode && !process_spec)
		usage("--exec needs --exec-process-spec");
	if (log_max_files < 1 || log_max_files > 1000)
		usage("--log-max-files must be between 1 and 1000");
	/* The rotated files' names are built in PATH_BUF: refused here rather than cut there. */
	if (log_max_files > 1 && (!log_path || strlen(log_path) > PATH_BUF - 8))
		usage(log_path ? "log path too long for --log-max-files" : "--log-max-files needs a log path");
	if (!cuuid)
		cuuid = cid;
}

static int exit_code(int status)
{
	return WIFEXITED(status) ? WEXITSTATUS(status) : WIFSIGNALED(status) ? 128 + WTERMSIG(status) : -1;
}

__attribute__((noinline)) static void write_exit_file(int code)
{
	if (!exit_dir)
		return;
	char tmp[4200], path[4096], s[16];
	snprintf(path, sizeof path, "%s/%s", exit_dir, cid);
	snprintf(tmp, sizeof tmp, "%s.XXXXXX", path);
	int fd = mkstemp(tmp);
	if (fd < 0)
		return;
	int n = snprintf(s, sizeof s, "%d", code);
	write_all(fd, s, (size_t)n);
	close(fd);
	if (rename(tmp, path) < 0)
		unlink(tmp);
}

int main(int argc, char **argv)
{
	parse_args(argc, argv);
	const char *sp = getenv("_OCI_SYNCPIPE");
	if (sp) {
		sync_fd = atoi(sp);
		fcntl(sync_fd, F_SETFD, FD_CLOEXEC);
		unsetenv("_OCI_SYNCPIPE");
	}

	/* Blocked from the start: signalfd gets every SIGCHLD, none is lost before the loop. */
	sigset_t mask, old;
	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	sigprocmask(SIG_BLOCK, &mask, &old);

	/* A reader gone from the sync pipe (berthd restarted during an exec) must not kill the monitor. */
	signal(SIGPIPE, SIG_IGN);

	pid_t me = fork();
	if (me < 0)
		die("fork");
	if (me > 0) {
		if (monitor_pidfile) {
			char s[16];
			int n = snprintf(s, sizeof s, "%d", me);
			int fd = open(monitor_pidfile, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
			if (fd < 0 || write_all(fd, s, (size_t)n) < 0)
				die("write monitor pid file");
			close(fd);
		}
		_exit(0);
	}
	setsid();
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0)
		die("set subreaper");
	int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);

	int p[2], worker_in = -1, worker_out = -1, worker_err;
	if (!terminal) {
		if (want_stdin) {
			if (pipe2(p, O_CLOEXEC) < 0)
				die("pipe");
			worker_in = p[0];
			in_fd = p[1];
			fcntl(in_fd, F_SETFL, O_NONBLOCK);
		}
		if (pipe2(p, O_CLOEXEC) < 0)
			die("pipe");
		out_fd = p[0];
		worker_out = p[1];
	}
	/* Always a stderr pipe: it carries the runtime's own complaints, before the container's stderr. */
	if (pipe2(p, O_CLOEXEC) < 0)
		die("pipe");
	err_fd = p[0];
	worker_err = p[1];

	char link[PATH_BUF], csname[108] = "";
	int attach = make_attach_socket(link, sizeof link);
	int ctl_w, ctl = make_fifo(bundle, "ctl", &ctl_w);
	int console = terminal ? make_console_socket(csname, sizeof csname) : -1;
	if (log_path)
		open_log();

	const char *rargv[MAX_RT_ARGS + 24];
	int k = 0;
	rargv[k++] = runtime;
	for (int i = 0; i < n_rt_args; i++)
		rargv[k++] = rt_args[i];
	if (exec_mode) {
		rargv[k++] = "exec";
		rargv[k++] = "--pid-file";
		rargv[k++] = pidfile;
		rargv[k++] = "--process";
		rargv[k++] = process_spec;
		rargv[k++] = "--detach";
	} else {
		rargv[k++] = restore_path ? "restore" : "create";
		rargv[k++] = "--bundle";
		rargv[k++] = bundle;
		rargv[k++] = "--pid-file";
		rargv[k++] = pidfile;
		if (restore_path) {
			rargv[k++] = "--detach";
			rargv[k++] = "--image-path";
			rargv[k++] = restore_path;
			rargv[k++] = "--work-path";
			rargv[k++] = bundle;
		}
	}
	if (terminal) {
		rargv[k++] = "--console-socket";
		rargv[k++] = csname;
	}
	rargv[k++] = cid;
	rargv[k] = NULL;

	pid_t rt = fork();
	if (rt < 0)
		die("fork runtime");
	if (rt == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		sigprocmask(SIG_SETMASK, &old, NULL);
		signal(SIGPIPE, SIG_DFL);
		dup2(worker_in >= 0 ? worker_in : devnull, 0);
		dup2(worker_out >= 0 ? worker_out : devnull, 1);
		dup2(worker_err, 2);
		/* A container running as another user may still open /dev/stdout and /dev/stderr. */
		if (worker_out >= 0)
			fchmod(1, 0777);
		fchmod(2, 0777);
		if (worker_in >= 0)
			fchmod(0, 0777);
		execv(runtime, (char *const *)rargv);
		fprintf(stderr, "exec %s: %s\n", runtime, strerror(errno));
		_exit(127);
	}
	/* Our own stdio go: the first process's caller waits for their end. */
	dup2(devnull, 0);
	dup2(devnull, 1);
	dup2(devnull, 2);
	close(worker_err);
	if (worker_in >= 0)
		close(worker_in);
	if (worker_out >= 0)
		close(worker_out);

	int st;
	while (waitpid(rt, &st, 0) < 0 && errno == EINTR)
		;
	static char msg[BUF];
	fcntl(err_fd, F_SETFL, O_NONBLOCK);
	if (!exec_mode && (!WIFEXITED(st) || WEXITSTATUS(st) != 0)) {
		ssize_t n = read(err_fd, msg, sizeof msg - 1);
		msg[n > 0 ? n : 0] = 0;
		sync_write(-1, n > 0 ? msg : "the runtime failed");
		unlink(link);
		if (csname[0])
			unlink(csname);
		return 1;
	}
	if (terminal) {
		pty_fd = receive_console(console);
		close(console);
		unlink(csname);
		if (pty_fd < 0) {
			sync_write(-1, "Runtime did not set up terminal");
			unlink(link);
			return 1;
		}
		out_fd = pty_fd;
		fcntl(out_fd, F_SETFL, O_NONBLOCK);
		if (want_stdin)
			in_fd = fcntl(pty_fd, F_DUPFD_CLOEXEC, 0);
	}
	fcntl(out_fd, F_SETFL, O_NONBLOCK);

	char pb[32];
	int pfd = open(pidfile, O_RDONLY | O_CLOEXEC);
	ssize_t pn = pfd >= 0 ? read(pfd, pb, sizeof pb - 1) : -1;
	if (pfd >= 0)
		close(pfd);
	if (pn <= 0) {
		ssize_t n = read(err_fd, msg, sizeof msg - 1);
		msg[n > 0 ? n : 0] = 0;
		sync_write(-1, n > 0 ? msg : "the runtime wrote no pid file");
		unlink(link);
		return 1;
	}
	pb[pn] = 0;
	pid_t container = atoi(pb);
	if (!exec_mode)
		find_memory_cgroup(container);
	sync_write(container, NULL);
	if (!exec_mode) {
		close(sync_fd);
		sync_fd = -1;
	}

	int sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sfd < 0)
		die("signalfd");
	int status = -1, done = 0;
	while (!done) {
		struct pollfd f[6 + MAX_CLIENTS];
		int nf = 0;
		f[nf++] = (struct pollfd){ sfd, POLLIN, 0 };
		f[nf++] = (struct pollfd){ out_fd, POLLIN, 0 };
		f[nf++] = (struct pollfd){ err_fd, POLLIN, 0 };
		f[nf++] = (struct pollfd){ attach, n_clients < MAX_CLIENTS ? POLLIN : 0, 0 };
		f[nf++] = (struct pollfd){ ctl, POLLIN, 0 };
		f[nf++] = (struct pollfd){ in_len ? in_fd : -1, POLLOUT, 0 };
		int first_client = nf;
		for (int i = 0; i < n_clients; i++)
			f[nf++] = (struct pollfd){ clients[i], client_reading[i] && !in_len ? POLLIN : 0, 0 };
		if (poll(f, (nfds_t)nf, -1) < 0) {
			if (errno == EINTR)
				continue;
			die("poll");
		}
		if (f[1].revents && !pump(out_fd, 2))
			out_fd = -1;
		if (f[2].revents && !pump(err_fd, 3))
			err_fd = -1;
		if (f[3].revents & POLLIN) {
			int c = accept4(attach, NULL, NULL, SOCK_CLOEXEC);
			if (c >= 0) {
				clients[n_clients] = c;
				client_reading[n_clients++] = 1;
			}
		}
		if (f[4].revents)
			control(ctl);
		if (f[5].revents)
			flush_stdin();
		for (int i = nf - 1; i >= first_client; i--) {
			int c = i - first_client;
			if (c >= n_clients || f[i].fd != clients[c])
				continue;
			if (f[i].revents & POLLIN)
				client_input(c);
			else if (f[i].revents & (POLLHUP | POLLERR))
				drop_client(c);
		}
		if (f[0].revents) {
			struct signalfd_siginfo si;
			while (read(sfd, &si, sizeof si) > 0)
				;
			pid_t w;
			int ws;
			while ((w = waitpid(-1, &ws, WNOHANG)) > 0)
				if (w == container) {
					status = ws;
					done = 1;
				}
		}
	}

	/* Whatever the process wrote before it ended, bounded: a child it left behind may keep writing. */
	for (int i = 0; i < 1024 && out_fd >= 0 && pump(out_fd, 2) > 0; i++)
		;
	for (int i = 0; i < 1024 && err_fd >= 0 && pump(err_fd, 3) > 0; i++)
		;
	if (!exec_mode && oom_killed()) {
		int fd = open("oom", O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
		if (fd >= 0)
			close(fd);
	}
	/* Closed before the exit is told: whoever hears of it finds the task's control FIFO and attach socket dead. */
	for (int i = n_clients - 1; i >= 0; i--)
		drop_client(i);
	close(attach);
	close(ctl);
	close(ctl_w);
	int code = exit_code(status);
	write_exit_file(code);
	if (exec_mode)
		sync_write(code, NULL);
	unlink(link);
	return 0;
}
