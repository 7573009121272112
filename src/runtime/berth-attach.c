/*
 * berth-attach: bridges conmon's attach socket to stdio, for `docker run -i`, `docker attach`
 * and TTY sessions. Node cannot open the socket itself: it is SOCK_SEQPACKET.
 *
 * Built by scripts/setup.sh (`cc -O2 -o build/berth-attach berth-attach.c`, 0.3 s) and spawned
 * by the runtime driver once per attach session that sends input.
 *
 * Usage: berth-attach [-t | -n] <attach-socket>     (RuncRuntime.attachSocketPath(id))
 *   -t  raw output (TTY)   -n  input only: the container's output is read and dropped (berthd
 *       serves output from the log, which also has what came before the client connected)
 *
 * Protocol (conmon's conn_sock.c / ctr_stdio.c):
 *   - each packet a client sends is written to the container's stdin (conmon `-i`);
 *   - conmon sends each chunk of output as one packet: 1 byte stream id (2 = stdout,
 *     3 = stderr) then the bytes; conmon writes to clients with blocking writes, so a client
 *     must keep reading or the container's output (and its log) stalls;
 *   - shutdown(SHUT_WR) by the client makes conmon close the container's stdin, unless conmon
 *     runs with --leave-stdin-open (Docker's StdinOnce=false).
 *   - terminal size goes through the `ctl` FIFO, not here (RuncRuntime.resize).
 *
 * Output on stdout: Docker's multiplexed stream (8-byte header: stream 1 or 2, 0, 0, 0, size
 * big-endian), or with -t the raw bytes. Prints nothing until connected; exits 0 when conmon
 * closes the socket (the container ended), 1 on errors.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static int write_all(int fd, const void *b, size_t n)
{
	const char *p = b;
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int main(int argc, char **argv)
{
	int tty = argc == 3 && strcmp(argv[1], "-t") == 0;
	int drop = argc == 3 && strcmp(argv[1], "-n") == 0;
	const char *path = argv[argc - 1];
	if (argc != 2 + tty + drop) {
		fprintf(stderr, "usage: berth-attach [-t | -n] <attach-socket>\n");
		return 2;
	}
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	if (strlen(path) < sizeof a.sun_path)
		strcpy(a.sun_path, path);
	else {
		/*
		 * Longer than a socket address holds (a runtime's own exec root under a long
		 * --exec-root): reached through its directory, as the monitor binds it.
		 */
		const char *slash = strrchr(path, '/');
		char dir[4096];
		int n = slash ? snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path) : -1;
		int dfd = n > 0 && (size_t)n < sizeof dir ? open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC) : -1;
		if (dfd < 0 || (size_t)snprintf(a.sun_path, sizeof a.sun_path, "/proc/self/fd/%d/%s", dfd, slash + 1) >=
				       sizeof a.sun_path) {
			fprintf(stderr, "berth-attach: socket path too long: %s\n", path);
			return 2;
		}
	}
	int s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (s < 0 || connect(s, (struct sockaddr *)&a, sizeof a) < 0) {
		fprintf(stderr, "berth-attach: connect %s: %s\n", path, strerror(errno));
		return 1;
	}
	struct pollfd p[2] = { { 0, POLLIN, 0 }, { s, POLLIN, 0 } };
	static char buf[8192 + 1];
	for (;;) {
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			return 1;
		}
		if (p[0].revents) {
			ssize_t n = read(0, buf, 8192);
			if (n <= 0) {
				shutdown(s, SHUT_WR);
				p[0].fd = -1;
			} else if (send(s, buf, (size_t)n, 0) < 0) {
				return 1;
			}
		}
		if (p[1].revents) {
			ssize_t n = recv(s, buf, sizeof buf, 0);
			if (n <= 0)
				return n == 0 ? 0 : 1;
			uint32_t len = (uint32_t)n - 1;
			if (drop)
				continue;
			if (tty) {
				if (write_all(1, buf + 1, len) < 0)
					return 1;
				continue;
			}
			unsigned char stream = buf[0] == 3 ? 2 : 1;
			unsigned char h[8] = { stream, 0, 0, 0, len >> 24, len >> 16, len >> 8, len };
			if (write_all(1, h, 8) < 0 || write_all(1, buf + 1, len) < 0)
				return 1;
		}
	}
}
