/*
 * seccomp-probe: makes the system calls named on its command line and prints what each
 * returned, one line each ("<item> <value>", a negative value being -errno), or times loops of
 * them: bench/seccomp-layout.sh runs it under each of libseccomp's layouts of a filter. Static
 * (`cc -static`), so that it runs in a busybox container as well.
 *
 *   NR[:A0[:A1...]]    syscall(NR, A0..A5), numbers in decimal or 0x hex (NR may carry x32's bit)
 *   clone:FLAGS        the raw clone(FLAGS | SIGCHLD); a child exits at once ("child" when made)
 *   int80:NR[:A0...]   the 32-bit entry (int $0x80: i386's numbers and registers), in a child,
 *                      since a kernel without 32-bit emulation kills it ("signal N")
 *   loop:N:CALL        CALL (a syscall as above, or int80:...) N times: prints ns a call, or
 *                      "none" for int80 where the kernel has no 32-bit entry
 * The probe's own calls (write, fork, wait, clock_gettime's vDSO) are ones every profile allows.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Up to max numbers separated by ':'. */
static void numbers(const char *s, unsigned long long *v, size_t max)
{
	for (size_t n = 0; *s && n < max; n++) {
		char *end;
		v[n] = strtoull(s, &end, 0);
		s = *end == ':' ? end + 1 : end + strlen(end);
	}
}

static long int80(const unsigned long long *v)
{
	long ret;
	__asm__ volatile("int $0x80"
			 : "=a"(ret)
			 : "a"(v[0]), "b"(v[1]), "c"(v[2]), "d"(v[3]), "S"(v[4]), "D"(v[5])
			 : "memory");
	return ret;
}

/* int80(v) in a child: true with its result, or false with the signal that ended it. */
static bool int80_in_child(const unsigned long long *v, long *r, int *sig)
{
	int fds[2], status = 0;
	if (pipe(fds) != 0)
		exit(1);
	pid_t pid = fork();
	if (pid == 0) {
		long x = int80(v);
		_exit(write(fds[1], &x, sizeof(x)) == sizeof(x) ? 0 : 1);
	}
	close(fds[1]);
	ssize_t got = read(fds[0], r, sizeof(*r));
	close(fds[0]);
	waitpid(pid, &status, 0);
	*sig = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
	return got == sizeof(*r);
}

static void loop(const char *item, const char *call)
{
	unsigned long long v[7] = { 0 }, n = strtoull(call, (char **)&call, 0);
	bool x86 = strncmp(call, ":int80:", 7) == 0;
	struct timespec a, b;
	long r;
	int sig;

	numbers(call + (x86 ? 7 : 1), v, 7);
	if (x86 && !int80_in_child(v, &r, &sig)) {
		printf("%s none\n", item);
		return;
	}
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (unsigned long long i = 0; i < n; i++)
		if (x86)
			int80(v);
		else
			syscall((long)v[0], v[1], v[2], v[3], v[4], v[5], v[6]);
	clock_gettime(CLOCK_MONOTONIC, &b);
	printf("%s %.1f\n", item, ((double)(b.tv_sec - a.tv_sec) * 1e9 + (double)(b.tv_nsec - a.tv_nsec)) / (double)n);
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	for (int i = 1; i < argc; i++) {
		unsigned long long v[7] = { 0 };
		const char *item = argv[i];
		long r;
		int sig;
		if (strncmp(item, "loop:", 5) == 0) {
			loop(item, item + 5);
		} else if (strncmp(item, "clone:", 6) == 0) {
			numbers(item + 6, v, 1);
			r = syscall(SYS_clone, (unsigned long)v[0] | SIGCHLD, 0, 0, 0, 0);
			if (r == 0)
				_exit(0);
			if (r > 0) {
				waitpid((pid_t)r, NULL, 0);
				printf("%s child\n", item);
			} else
				printf("%s %d\n", item, -errno);
		} else if (strncmp(item, "int80:", 6) == 0) {
			numbers(item + 6, v, 7);
			if (int80_in_child(v, &r, &sig))
				printf("%s %ld\n", item, r);
			else
				printf("%s signal %d\n", item, sig);
		} else {
			numbers(item, v, 7);
			r = syscall((long)v[0], v[1], v[2], v[3], v[4], v[5], v[6]);
			printf("%s %ld\n", item, r < 0 ? (long)-errno : r);
		}
	}
	return 0;
}
