/*
 * berth-launcher: starts programs on berthd's behalf.
 *
 * Why: Node forks the whole daemon to spawn a program, and fork copies the page tables of
 * berthd's ~100 MB heap: 7-15 ms per spawn, with the event loop blocked all the while. A
 * container start spawns mount, conmon, crun delete and umount, so that was most of what it
 * cost Berth. This process is a few hundred kilobytes; it forks in a tenth of a millisecond
 * and berthd never blocks.
 *
 * Started once by the host layer (src/host/launcher.ts) with its stdin and stdout as pipes;
 * exits when its stdin ends (berthd is gone). The programs it started keep running.
 *
 * Protocol, both ways: messages of a 9-byte header (u32 payload length, u8 type, u32 id; little
 * endian) and the payload. `id` names one child, chosen by berthd.
 *   berthd → launcher
 *     SPAWN    u32 flags, u32 timeout ms (0: none), u32 argc, u32 envc, then NUL-terminated
 *              strings: program, working directory ("" for the launcher's), with flag 32 the
 *              network namespace to run in (a path such as /proc/<pid>/ns/net), with flag 64
 *              the niceness to run at (decimal, 1-19: work nobody waits for, which what it
 *              starts inherits), argv, env.
 *              flags: 1 pipe stdin, 2 pipe stdout, 4 pipe stderr, 8 pipe fd 3 (the child
 *              writes), 16 new session, 32 network namespace, 64 niceness. Unpiped stdio is
 *              /dev/null; no other descriptor reaches the program, whatever the launcher
 *              inherited. The program is looked up in PATH when it has no slash.
 *     STDIN    bytes for the child's stdin; an empty payload closes it. Each chunk is
 *              answered with WROTE once the child's pipe took all of it (or it was dropped
 *              because the child closed its stdin): berthd sends the next one then, so a
 *              slow reader holds its writer back instead of filling the launcher's memory.
 *     KILL     u32 signal.
 *     RELEASE  close the launcher's ends of the child's pipes: nothing more is wanted from it
 *              (a daemonizing child's grandchildren may hold them open for ever).
 *     MOUNT    mount(2) without a program: u32 flags (MS_*), then NUL-terminated strings:
 *              working directory for relative paths in the data ("" for none), fstype,
 *              source, target, data.
 *     UNMOUNT  umount2(2): u32 flags (MNT_*), then the target, NUL-terminated.
 *     LINK     a container's veth pair made and set up with rtnetlink (berth-launcher-link.c
 *              says what and in which order): u32 flags (1 no IPv6 link-local addresses,
 *              2 isolated bridge port), then NUL-terminated strings: the network namespace's
 *              path, the host end, the bridge, the peer's name, its MAC, IPv4 address/length,
 *              IPv4 gateway, IPv6 address/length, IPv6 gateway ("" for none), the MTU.
 *     UNLINK   a link deleted by name in the launcher's namespace: u32 flags (0), the name.
 *     BRIDGE   a bridge made or set up with rtnetlink (berth-launcher-bridge.c): u32 flags
 *              (1 make it, 2 bring it up, 4 replace the IPv6 address), then NUL-terminated strings: its name, its MAC,
 *              an IPv4 address/length to delete, one to add, the IPv6 one ("" for none).
 *     NETINFO  the host's links, addresses and routes, read by netlink dumps: u32 flags (what
 *              to list: 1 links, 2 IPv4 and 4 IPv6 addresses, 8 IPv4 and 16 IPv6 routes).
 *     NFT      a ruleset run by libnftables as `nft -f -` runs it: u32 flags (0), the ruleset.
 *     BRPORT   a bridge port's flags set with rtnetlink (berth-launcher-link.c): u32 flags
 *              (1 isolated on), then the port's name, in the launcher's namespace.
 *     XATTRS   extended attributes of the files given (berth-launcher-xattrs.c): u32 flags
 *              (0), u32 the number of names, then NUL-terminated strings: the names, the paths.
 *   launcher → berthd
 *     SPAWNED  i32: the pid, or -errno when it could not start (exec or chdir failed).
 *     DATA     u8 fd (1, 2 or 3), then bytes; no bytes: end of file on that fd.
 *     EXIT     i32 wait status (as waitpid gives it). Comes once per started child.
 *     DONE     i32: 0, or -errno; the answer to MOUNT, UNMOUNT, UNLINK and BRPORT. To LINK and BRIDGE,
 *              with an i32 more: the step that failed (enum link_step, enum bridge_step). To
 *              NETINFO, an i32 more (the dump that failed), then its lines of text. To NFT,
 *              0 or 1 (failed), then nft's error text. To XATTRS, 0 or the first -errno met,
 *              then per attribute found: u32 its path's index, the name (NUL-terminated),
 *              u32 the value's length, the value.
 *     WROTE    no payload: the last STDIN chunk is written.
 *
 * `berth-launcher --protocol` prints PROTOCOL and exits, and the binary holds it as the string
 * "berth-launcher-protocol=<N>" (protocol_mark): berthd checks it before use, so that a helper
 * built from an older checkout is never driven with messages it does not know — by reading the
 * mark from the file (no program started while the daemon starts), else by running
 * `--protocol`. Raise it with every change to the messages above.
 *
 * Built by scripts/setup.sh (linked with libnftables).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <poll.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum { REQ_SPAWN = 1, REQ_STDIN = 2, REQ_KILL = 3, REQ_RELEASE = 4, REQ_MOUNT = 5, REQ_UNMOUNT = 6, REQ_LINK = 7, REQ_UNLINK = 8, REQ_BRIDGE = 9,
       REQ_NETINFO = 10, REQ_NFT = 11, REQ_BRPORT = 12, REQ_XATTRS = 13 };
enum { RES_SPAWNED = 1, RES_DATA = 2, RES_EXIT = 3, RES_DONE = 4, RES_WROTE = 5 };
enum { F_STDIN = 1, F_STDOUT = 2, F_STDERR = 4, F_FD3 = 8, F_SETSID = 16, F_NETNS = 32, F_NICE = 64 };
#define HEADER 9
#define PROTOCOL 8
#define STRINGIFY_(x) #x
#define STRINGIFY(x) STRINGIFY_(x)
/* Read from the file by berthd (launcher.ts's launcherMismatch); `used`: kept though nothing here reads it. */
__attribute__((used)) static const char protocol_mark[] = "berth-launcher-protocol=" STRINGIFY(PROTOCOL) ";";
#define MAX_MESSAGE (64u << 20)

struct child {
	uint32_t id;
	pid_t pid;
	int in;          /* write end of its stdin, or -1 */
	int out[3];      /* read ends of its stdout, stderr, fd 3, or -1 */
	char *pending;   /* stdin bytes not yet written */
	size_t npending;
	int close_in;    /* close stdin once pending is written */
	int unacked;     /* a STDIN chunk not yet answered with WROTE */
	int exited;
	int64_t deadline; /* ms on CLOCK_MONOTONIC, 0 for none */
};

static struct child *children;
/* The launcher's own working directory, to come back to after a mount made from another. */
static int home = -1;
static size_t nchildren, capchildren;

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void put32(unsigned char *p, uint32_t v)
{
	p[0] = v & 0xff;
	p[1] = (v >> 8) & 0xff;
	p[2] = (v >> 16) & 0xff;
	p[3] = (v >> 24) & 0xff;
}

static uint32_t get32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void write_all(int fd, const void *buf, size_t n)
{
	const char *p = buf;
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			_exit(0); /* berthd is gone */
		}
		p += w;
		n -= (size_t)w;
	}
}

static void reply(uint8_t type, uint32_t id, const void *a, size_t na, const void *b, size_t nb)
{
	unsigned char h[HEADER];
	put32(h, (uint32_t)(na + nb));
	h[4] = type;
	put32(h + 5, id);
	write_all(1, h, HEADER);
	if (na)
		write_all(1, a, na);
	if (nb)
		write_all(1, b, nb);
}

static void reply_i32(uint8_t type, uint32_t id, int32_t v)
{
	unsigned char p[4];
	put32(p, (uint32_t)v);
	reply(type, id, p, 4, NULL, 0);
}

static struct child *find(uint32_t id)
{
	for (size_t i = 0; i < nchildren; i++)
		if (children[i].id == id)
			return &children[i];
	return NULL;
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* Forgets a child that exited and whose pipes are all closed. */
static void sweep(void)
{
	size_t j = 0;
	for (size_t i = 0; i < nchildren; i++) {
		struct child *c = &children[i];
		if (c->exited && c->in < 0 && c->out[0] < 0 && c->out[1] < 0 && c->out[2] < 0) {
			free(c->pending);
			continue;
		}
		children[j++] = *c;
	}
	nchildren = j;
}

/* Puts `fd` at `target` in a child about to exec, without the close-on-exec flag. */
static int place(int fd, int target)
{
	if (fd == target)
		return fcntl(fd, F_SETFD, 0);
	return dup2(fd, target) < 0 ? -1 : 0;
}

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

/*
 * Marks every descriptor from `first` up close-on-exec, in a child about to exec: the program
 * gets its stdio (and fd 3 when asked) and nothing else. Without it, whatever berthd and the
 * launcher inherited without O_CLOEXEC — a pipe of the shell berthd was started from was seen
 * as fd 251 of every monitor — reaches each program and, through a monitor, lives as long as
 * its container (a shell's pipe never sees its end of file). Close-on-exec rather than closed:
 * the report pipe must stay open until the exec succeeds. close_range(2) does it in one call
 * (Linux 5.11); older kernels get a walk up to the descriptor limit.
 */
static void cloexec_from(int first)
{
	if (syscall(SYS_close_range, (unsigned)first, ~0U, CLOSE_RANGE_CLOEXEC) == 0)
		return;
	struct rlimit rl;
	int last = getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY ? (int)rl.rlim_cur : 65536;
	for (int fd = first; fd < last; fd++) {
		int fl = fcntl(fd, F_GETFD);
		if (fl >= 0 && !(fl & FD_CLOEXEC))
			fcntl(fd, F_SETFD, fl | FD_CLOEXEC);
	}
}

/* Splits `n` bytes at `p` into `want` NUL-terminated strings; 0 when they are not all there. */
static int strings(const unsigned char *p, size_t n, const char **out, size_t want)
{
	size_t off = 0;
	for (size_t k = 0; k < want; k++) {
		const char *s = (const char *)p + off;
		const char *end = off < n ? memchr(s, 0, n - off) : NULL;
		if (!end)
			return 0;
		out[k] = s;
		off += (size_t)(end - s) + 1;
	}
	return 1;
}

/* Moves the calling process into the network namespace at `path`. */
static int join_netns(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	int r = setns(fd, CLONE_NEWNET);
	int e = errno;
	close(fd);
	errno = e;
	return r;
}

static void spawn(uint32_t id, const unsigned char *p, size_t n, const sigset_t *oldmask)
{
	if (n < 16) {
		reply_i32(RES_SPAWNED, id, -EINVAL);
		return;
	}
	uint32_t flags = get32(p), timeout = get32(p + 4), argc = get32(p + 8), envc = get32(p + 12);
	/* The strings: program, cwd, the network namespace (with F_NETNS), the niceness (with F_NICE), argv, env. */
	size_t fixed = 2 + !!(flags & F_NETNS) + !!(flags & F_NICE);
	size_t want = fixed + (size_t)argc + (envc == UINT32_MAX ? 0 : envc);
	if (argc == 0 || argc > 100000 || (envc != UINT32_MAX && envc > 100000)) {
		reply_i32(RES_SPAWNED, id, -EINVAL);
		return;
	}
	char **strs = calloc(want, sizeof(char *));
	if (!strs) {
		reply_i32(RES_SPAWNED, id, -ENOMEM);
		return;
	}
	if (!strings(p + 16, n - 16, (const char **)strs, want)) {
		free(strs);
		reply_i32(RES_SPAWNED, id, -EINVAL);
		return;
	}
	char *program = strs[0], *cwd = strs[1], *netns = flags & F_NETNS ? strs[2] : NULL;
	int nice = flags & F_NICE ? atoi(strs[2 + !!(flags & F_NETNS)]) : 0;
	if (nice < 0 || nice > 19) {
		free(strs);
		reply_i32(RES_SPAWNED, id, -EINVAL);
		return;
	}
	char **argv = calloc(argc + 1, sizeof(char *));
	char **envp = envc == UINT32_MAX ? NULL : calloc(envc + 1, sizeof(char *));
	if (!argv || (envc != UINT32_MAX && !envp)) {
		free(strs);
		free(argv);
		free(envp);
		reply_i32(RES_SPAWNED, id, -ENOMEM);
		return;
	}
	for (uint32_t i = 0; i < argc; i++)
		argv[i] = strs[fixed + i];
	if (envp)
		for (uint32_t i = 0; i < envc; i++)
			envp[i] = strs[fixed + argc + i];

	/* pipes[i][0] is read, [1] write; index 0 stdin, 1 stdout, 2 stderr, 3 fd 3. */
	int pipes[4][2] = { { -1, -1 }, { -1, -1 }, { -1, -1 }, { -1, -1 } };
	int report[2] = { -1, -1 };
	int err = 0;
	static const uint32_t bit[4] = { F_STDIN, F_STDOUT, F_STDERR, F_FD3 };
	for (int i = 0; i < 4 && !err; i++)
		if ((flags & bit[i]) && pipe2(pipes[i], O_CLOEXEC) < 0)
			err = errno;
	if (!err && pipe2(report, O_CLOEXEC) < 0)
		err = errno;
	pid_t pid = -1;
	if (!err) {
		pid = fork();
		if (pid < 0)
			err = errno;
	}
	if (pid == 0) {
		/* The child: its stdio, its session, its directory, then the program. */
		sigprocmask(SIG_SETMASK, oldmask, NULL);
		int null = open("/dev/null", O_RDWR | O_CLOEXEC);
		int ok = null >= 0 &&
			place(flags & F_STDIN ? pipes[0][0] : null, 0) == 0 &&
			place(flags & F_STDOUT ? pipes[1][1] : null, 1) == 0 &&
			place(flags & F_STDERR ? pipes[2][1] : null, 2) == 0 &&
			(!(flags & F_FD3) || place(pipes[3][1], 3) == 0) &&
			(cloexec_from(flags & F_FD3 ? 4 : 3), 1) &&
			(!(flags & F_SETSID) || setsid() >= 0) &&
			(!nice || setpriority(PRIO_PROCESS, 0, nice) == 0) &&
			(!netns || join_netns(netns) == 0) &&
			(!*cwd || chdir(cwd) == 0);
		if (ok) {
			if (envp)
				execvpe(program, argv, envp);
			else
				execvp(program, argv);
		}
		int e = errno;
		(void)!write(report[1], &e, sizeof e);
		_exit(127);
	}
	if (!err) {
		/* The report pipe closes on exec; a failed child writes its errno first. */
		close_fd(&report[1]);
		int e = 0;
		ssize_t r;
		do
			r = read(report[0], &e, sizeof e);
		while (r < 0 && errno == EINTR);
		if (r == (ssize_t)sizeof e) {
			err = e ? e : EIO;
			waitpid(pid, NULL, 0);
		}
	}
	close_fd(&report[0]);
	close_fd(&report[1]);
	close_fd(&pipes[0][0]);
	for (int i = 1; i < 4; i++)
		close_fd(&pipes[i][1]);
	free(strs);
	free(argv);
	free(envp);
	if (err) {
		close_fd(&pipes[0][1]);
		for (int i = 1; i < 4; i++)
			close_fd(&pipes[i][0]);
		reply_i32(RES_SPAWNED, id, -err);
		return;
	}
	if (nchildren == capchildren) {
		size_t cap = capchildren ? capchildren * 2 : 16;
		struct child *grown = realloc(children, cap * sizeof *children);
		if (!grown) {
			fprintf(stderr, "berth-launcher: out of memory\n");
			_exit(1);
		}
		children = grown;
		capchildren = cap;
	}
	struct child *c = &children[nchildren++];
	memset(c, 0, sizeof *c);
	c->id = id;
	c->pid = pid;
	c->in = pipes[0][1];
	if (c->in >= 0)
		fcntl(c->in, F_SETFL, O_NONBLOCK);
	for (int i = 0; i < 3; i++)
		c->out[i] = pipes[i + 1][0];
	c->deadline = timeout ? now_ms() + timeout : 0;
	reply_i32(RES_SPAWNED, id, pid);
}

/* Answers the STDIN chunk in hand, if any: it is written, or will never be. */
static void ack(struct child *c)
{
	if (!c->unacked)
		return;
	c->unacked = 0;
	reply(RES_WROTE, c->id, NULL, 0, NULL, 0);
}

/* Writes what it can of a child's pending stdin; closes it when asked and all is written. */
static void flush_stdin(struct child *c)
{
	while (c->in >= 0 && c->npending > 0) {
		ssize_t w = write(c->in, c->pending, c->npending);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				return;
			/* EPIPE: the child stopped reading; what it did not take is dropped. */
			c->npending = 0;
			close_fd(&c->in);
			break;
		}
		memmove(c->pending, c->pending + w, c->npending - (size_t)w);
		c->npending -= (size_t)w;
	}
	if (c->npending == 0)
		ack(c);
	if (c->close_in && c->npending == 0)
		close_fd(&c->in);
}

static void do_mount(uint32_t id, const unsigned char *p, size_t n)
{
	const char *s[5]; /* cwd, fstype, source, target, data */
	if (n < 4 || !strings(p + 4, n - 4, s, 5)) {
		reply_i32(RES_DONE, id, -EINVAL);
		return;
	}
	int r = 0;
	if (*s[0] && chdir(s[0]) < 0)
		r = -errno;
	else if (mount(s[2], s[3], s[1], get32(p), *s[4] ? s[4] : NULL) < 0)
		r = -errno;
	if (*s[0] && fchdir(home) < 0)
		r = r ? r : -errno;
	reply_i32(RES_DONE, id, r);
}

static void do_unmount(uint32_t id, const unsigned char *p, size_t n)
{
	const char *target;
	if (n < 4 || !strings(p + 4, n - 4, &target, 1)) {
		reply_i32(RES_DONE, id, -EINVAL);
		return;
	}
	reply_i32(RES_DONE, id, umount2(target, (int)get32(p)) < 0 ? -errno : 0);
}

#include "berth-launcher-link.c"
#include "berth-launcher-bridge.c"
#include "berth-launcher-xattrs.c"

static void request(uint8_t type, uint32_t id, const unsigned char *p, size_t n, const sigset_t *oldmask)
{
	if (type == REQ_SPAWN) {
		spawn(id, p, n, oldmask);
		return;
	}
	if (type == REQ_MOUNT) {
		do_mount(id, p, n);
		return;
	}
	if (type == REQ_UNMOUNT) {
		do_unmount(id, p, n);
		return;
	}
	if (type == REQ_LINK) {
		do_link(id, p, n);
		return;
	}
	if (type == REQ_UNLINK) {
		do_unlink(id, p, n);
		return;
	}
	if (type == REQ_BRIDGE) {
		do_bridge(id, p, n);
		return;
	}
	if (type == REQ_NETINFO) {
		do_netinfo(id, p, n);
		return;
	}
	if (type == REQ_NFT) {
		do_nft(id, p, n);
		return;
	}
	if (type == REQ_BRPORT) {
		do_brport(id, p, n);
		return;
	}
	if (type == REQ_XATTRS) {
		do_xattrs(id, p, n);
		return;
	}
	struct child *c = find(id);
	if (!c)
		return;
	switch (type) {
	case REQ_STDIN:
		if (n > 0)
			c->unacked = 1;
		if (c->in < 0) {
			ack(c);
			break;
		}
		if (n == 0) {
			c->close_in = 1;
		} else {
			char *grown = realloc(c->pending, c->npending + n);
			if (!grown) {
				ack(c); /* dropped */
				break;
			}
			memcpy(grown + c->npending, p, n);
			c->pending = grown;
			c->npending += n;
		}
		flush_stdin(c);
		break;
	case REQ_KILL:
		if (n >= 4 && !c->exited)
			kill(c->pid, (int)get32(p));
		break;
	case REQ_RELEASE:
		c->npending = 0;
		ack(c);
		close_fd(&c->in);
		for (int i = 0; i < 3; i++)
			close_fd(&c->out[i]);
		break;
	}
}

static void reap(void)
{
	for (;;) {
		int status;
		pid_t pid = waitpid(-1, &status, WNOHANG);
		if (pid <= 0)
			return;
		for (size_t i = 0; i < nchildren; i++) {
			if (children[i].pid == pid && !children[i].exited) {
				children[i].exited = 1;
				reply_i32(RES_EXIT, children[i].id, status);
				break;
			}
		}
	}
}

int main(int argc, char **argv)
{
	if (argc == 2 && strcmp(argv[1], "--protocol") == 0) {
		printf("%d\n", PROTOCOL);
		return 0;
	}
	signal(SIGPIPE, SIG_IGN);
	sigset_t mask, oldmask;
	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	sigprocmask(SIG_BLOCK, &mask, &oldmask);
	home_netns = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (home_netns < 0) {
		perror("berth-launcher: open its network namespace");
		return 1;
	}
	home = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (home < 0) {
		perror("berth-launcher: open working directory");
		return 1;
	}
	int sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sfd < 0) {
		perror("berth-launcher: signalfd");
		return 1;
	}
	unsigned char *buf = NULL;
	size_t nbuf = 0, capbuf = 0;
	struct pollfd *pfds = NULL;
	size_t cappfds = 0;
	for (;;) {
		size_t need = 2 + nchildren * 4;
		if (need > cappfds) {
			cappfds = need * 2;
			pfds = realloc(pfds, cappfds * sizeof *pfds);
			if (!pfds)
				return 1;
		}
		size_t np = 0;
		pfds[np++] = (struct pollfd){ .fd = 0, .events = POLLIN };
		pfds[np++] = (struct pollfd){ .fd = sfd, .events = POLLIN };
		int64_t now = now_ms(), next = -1;
		for (size_t i = 0; i < nchildren; i++) {
			struct child *c = &children[i];
			for (int j = 0; j < 3; j++)
				if (c->out[j] >= 0)
					pfds[np++] = (struct pollfd){ .fd = c->out[j], .events = POLLIN };
			if (c->in >= 0 && c->npending > 0)
				pfds[np++] = (struct pollfd){ .fd = c->in, .events = POLLOUT };
			if (c->deadline && !c->exited) {
				if (c->deadline <= now) {
					kill(c->pid, SIGTERM);
					c->deadline = 0;
				} else if (next < 0 || c->deadline < next) {
					next = c->deadline;
				}
			}
		}
		int timeout = next < 0 ? -1 : (int)(next - now);
		if (poll(pfds, np, timeout) < 0) {
			if (errno == EINTR)
				continue;
			perror("berth-launcher: poll");
			return 1;
		}
		if (pfds[1].revents) {
			struct signalfd_siginfo si;
			while (read(sfd, &si, sizeof si) == (ssize_t)sizeof si)
				;
			reap();
		}
		for (size_t k = 2; k < np; k++) {
			if (!pfds[k].revents)
				continue;
			int fd = pfds[k].fd;
			for (size_t i = 0; i < nchildren; i++) {
				struct child *c = &children[i];
				if (fd == c->in) {
					flush_stdin(c);
					break;
				}
				int j;
				for (j = 0; j < 3 && c->out[j] != fd; j++)
					;
				if (j == 3)
					continue;
				unsigned char data[65536];
				uint8_t which = (uint8_t)(j + 1);
				ssize_t r = read(fd, data, sizeof data);
				if (r > 0) {
					reply(RES_DATA, c->id, &which, 1, data, (size_t)r);
				} else if (r == 0 || (errno != EINTR && errno != EAGAIN)) {
					close_fd(&c->out[j]);
					reply(RES_DATA, c->id, &which, 1, NULL, 0);
				}
				break;
			}
		}
		if (pfds[0].revents) {
			if (nbuf == capbuf) {
				capbuf = capbuf ? capbuf * 2 : 65536;
				buf = realloc(buf, capbuf);
				if (!buf)
					return 1;
			}
			ssize_t r = read(0, buf + nbuf, capbuf - nbuf);
			if (r == 0)
				return 0; /* berthd is gone: so are we, the children stay */
			if (r < 0 && errno != EINTR && errno != EAGAIN)
				return 1;
			if (r > 0)
				nbuf += (size_t)r;
			size_t at = 0;
			while (nbuf - at >= HEADER) {
				uint32_t len = get32(buf + at);
				if (len > MAX_MESSAGE) {
					fprintf(stderr, "berth-launcher: message of %u bytes refused\n", len);
					return 1;
				}
				if (nbuf - at < HEADER + (size_t)len) {
					if (HEADER + (size_t)len > capbuf) {
						capbuf = HEADER + (size_t)len;
						memmove(buf, buf + at, nbuf - at);
						nbuf -= at;
						at = 0;
						buf = realloc(buf, capbuf);
						if (!buf)
							return 1;
					}
					break;
				}
				request(buf[at + 4], get32(buf + at + 5), buf + at + HEADER, len, &oldmask);
				at += HEADER + len;
			}
			memmove(buf, buf + at, nbuf - at);
			nbuf -= at;
		}
		sweep();
	}
}
