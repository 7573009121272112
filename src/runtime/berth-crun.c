/*
 * berth-crun: runs crun (the OCI runtime in C, several times faster to create a container than
 * runc) on hosts with the hybrid cgroup layout — v1 controllers under /sys/fs/cgroup plus a
 * cgroup2 mount at /sys/fs/cgroup/unified — which crun 1.8 refuses ("cgroups in hybrid mode
 * not supported"). It gives crun a mount namespace of its own in which the unified mount is
 * gone, so crun sees (and uses) plain cgroup v1. On other hosts it only execs crun.
 *
 * Only the unified mount is made private in the new namespace before it goes, so the unmount
 * never reaches the host, while every other mount keeps its propagation: a shared host mount
 * stays a peer, and a container's `rshared` bind of it carries the container's mounts out to
 * the host, as with runc running in the host's namespace.
 *
 * What the unmount uncovers is an empty directory on /sys/fs/cgroup's tmpfs, and crun reads the
 * `0::` line of /proc/self/cgroup as one more hierarchy to join: it made `unified/<cgroup
 * path>/cgroup.procs` on the host's tmpfs, under the host's cgroup2 mount where nobody sees or
 * removes it — a page and two inodes (~6 kB) of shared memory for every container ever created,
 * until a reboot (83 MB after one day's benchmarks here). So crun is shown a /proc/self/cgroup
 * without that line: a copy bound over this process's own (/proc made private first, so the
 * bind stays in this namespace). The container's init reads its own, and crun skips `0::` when
 * it mounts the hierarchies into the container. The driver asks for the copy on every create
 * and restore (BERTH_CRUN_COPY=1), or BERTH_CRUN_COPY=userns for a container in a user namespace: its new
 * proc mount is refused (EPERM, the kernel's "mount too revealing" check) unless some proc mount
 * of its mount namespace — a copy of this one — covers nothing, and the copy's bind covers a
 * file of /proc. So for those a whole view of proc (a bind of /proc's own mount alone, without
 * the copy) is left in this namespace too, over /proc/driver, which crun never reads (not over
 * a directory of this process's: newer kernels refuse mounts on some of those); the container's
 * pivot_root drops both with the rest of the old root.
 *
 * Shared hierarchies (BERTH_CRUN_SHARE=<dir>, set by the driver for a create whose spec asks
 * nothing of them; runtime/cgroup-share.ts): a container needs no cgroup of its own in cpuset
 * (no --cpuset-cpus/-mems) or name=systemd (no controller), and each one costs a struct cgroup
 * (4 kB here), its pressure state, its kernfs files and per-CPU statistics: ~17 kB of kernel
 * memory a container for the two. This process joins `<dir>` in both (made if missing; a new
 * cpuset takes its parent's CPUs and memory nodes, as crun does) and hides their lines from
 * crun, which then neither makes nor joins a directory there: the container's processes stay in
 * `<dir>`, one directory beside the containers' own under their parent. If joining fails, crun
 * is shown the lines and makes the directories as before. For an exec, this process only joins
 * `<dir>`: crun moves it on into the container's own where it has one (a later update's cpuset).
 *
 * Built static against musl by scripts/setup.sh (its start-up is on every create's path: no
 * loader, no relocations); the runtime driver passes it to conmon as the runtime (`-r`) and
 * runs it for crun's other commands. The crun binary: $BERTH_CRUN, else /usr/bin/crun.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif

/* The hierarchies a container may share with the others under its cgroup parent. */
static const char *const shareable[] = {"cpuset", "systemd"};

/* The runtime command: 'c' for one that makes a container (create, run, and restore, which makes
 * the restored container's cgroups from /proc/self/cgroup as a create does — before CRIU is even
 * asked, so a failed restore made them too), 'e' for exec, else 0. crun's global flags come first. */
static int command(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (argv[i][0] != '-') {
			if (strcmp(argv[i], "create") == 0 || strcmp(argv[i], "run") == 0 || strcmp(argv[i], "restore") == 0)
				return 'c';
			return strcmp(argv[i], "exec") == 0 ? 'e' : 0;
		}
		if (!strchr(argv[i], '=') && (strcmp(argv[i], "--root") == 0 || strcmp(argv[i], "--log") == 0 ||
					      strcmp(argv[i], "--log-format") == 0 || strcmp(argv[i], "--log-level") == 0 ||
					      strcmp(argv[i], "--cgroup-manager") == 0))
			i++;
	}
	return 0;
}

/* Copies `name` (cpuset.cpus, cpuset.mems) from the parent directory into `dir` when empty in `dir`. */
static int inherit(const char *dir, const char *name)
{
	char path[PATH_MAX], buf[4096];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	int fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, buf, sizeof buf);
	if (n > 1) {
		close(fd);
		return 0;
	}
	char parent[PATH_MAX];
	snprintf(parent, sizeof parent, "%s/../%s", dir, name);
	int pfd = open(parent, O_RDONLY | O_CLOEXEC);
	n = pfd < 0 ? -1 : read(pfd, buf, sizeof buf);
	if (pfd >= 0)
		close(pfd);
	int ok = n > 0 && write(fd, buf, (size_t)n) == n;
	close(fd);
	return ok ? 0 : -1;
}

/* Puts this process into `<parent>` of hierarchy `h`, made (with its ancestors) if missing and
 * `make`; a host without the hierarchy has nothing to join (0). */
static int join(const char *h, const char *parent, int make)
{
	char dir[PATH_MAX];
	int len = snprintf(dir, sizeof dir, "/sys/fs/cgroup/%s", h);
	struct statfs fs;
	if (statfs(dir, &fs) < 0 || fs.f_type == CGROUP2_SUPER_MAGIC)
		return 0;
	for (const char *p = parent; *p;) {
		const char *e = strchr(p + 1, '/');
		size_t n = e ? (size_t)(e - p) : strlen(p);
		if (len + n >= sizeof dir)
			return -1;
		memcpy(dir + len, p, n);
		len += (int)n;
		dir[len] = '\0';
		p += n;
		if (make && mkdir(dir, 0755) < 0 && errno != EEXIST)
			return -1;
		if (make && strcmp(h, "cpuset") == 0 && (inherit(dir, "cpuset.cpus") < 0 || inherit(dir, "cpuset.mems") < 0))
			return -1;
	}
	char procs[PATH_MAX + 16], pid[16];
	snprintf(procs, sizeof procs, "%s/cgroup.procs", dir);
	int fd = open(procs, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	int n = snprintf(pid, sizeof pid, "%d", (int)getpid());
	int ok = write(fd, pid, (size_t)n) == n;
	close(fd);
	return ok ? 0 : -1;
}

/* A /proc/self/cgroup line crun should not see: `0::` on a hybrid host, a shared hierarchy's. */
static int hidden(const char *line, int hybrid, int shared)
{
	if (hybrid && strncmp(line, "0::", 3) == 0)
		return 1;
	const char *c = strchr(line, ':');
	if (!shared || !c)
		return 0;
	c++;
	if (strncmp(c, "name=", 5) == 0)
		c += 5;
	for (size_t i = 0; i < sizeof shareable / sizeof *shareable; i++) {
		size_t n = strlen(shareable[i]);
		if (strncmp(c, shareable[i], n) == 0 && c[n] == ':')
			return 1;
	}
	return 0;
}

/* Binds a copy of /proc/self/cgroup without the hidden lines over this process's own; for a
 * container in a user namespace (`userns`), a view of /proc that covers nothing beside it. */
static int filter_proc_cgroup(int hybrid, int shared, int userns)
{
	char in[8192], out[8192];
	int fd = open("/proc/self/cgroup", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, in, sizeof in - 1);
	close(fd);
	if (n <= 0)
		return -1;
	in[n] = '\0';
	size_t o = 0;
	for (char *line = in, *next; *line; line = next) {
		next = strchr(line, '\n');
		next = next ? next + 1 : line + strlen(line);
		if (!hidden(line, hybrid, shared)) {
			memcpy(out + o, line, (size_t)(next - line));
			o += (size_t)(next - line);
		}
	}
	/* A file of this namespace's, named until it is bound (neither a memfd nor an unlinked file
	 * can be a bind's source), then unlinked: the bind keeps it until the namespace goes. */
	char src[] = "/dev/shm/.berth-crun-cgroup-XXXXXX", alt[] = "/tmp/.berth-crun-cgroup-XXXXXX";
	char *path = src;
	int tfd = mkostemp(src, O_CLOEXEC);
	if (tfd < 0) {
		path = alt;
		tfd = mkostemp(alt, O_CLOEXEC);
	}
	if (tfd < 0)
		return -1;
	/* The view: MS_BIND without MS_REC takes /proc's mount alone, none of the mounts on it. */
	int ok = write(tfd, out, o) == (ssize_t)o && mount(NULL, "/proc", NULL, MS_PRIVATE, NULL) == 0 &&
		 (!userns || mount("/proc", "/proc/driver", NULL, MS_BIND, NULL) == 0) &&
		 mount(path, "/proc/self/cgroup", NULL, MS_BIND, NULL) == 0;
	int e = errno;
	close(tfd);
	unlink(path);
	errno = e;
	return ok ? 0 : -1;
}

int main(int argc, char **argv)
{
	const char *crun = getenv("BERTH_CRUN");
	if (!crun || !*crun)
		crun = "/usr/bin/crun";
	struct statfs fs;
	int v1 = statfs("/sys/fs/cgroup", &fs) == 0 && fs.f_type != CGROUP2_SUPER_MAGIC;
	int hybrid = v1 && statfs("/sys/fs/cgroup/unified", &fs) == 0 && fs.f_type == CGROUP2_SUPER_MAGIC;
	const char *parent = getenv("BERTH_CRUN_SHARE");
	if (parent && (parent[0] != '/' || strstr(parent, "/..")))
		parent = NULL;
	int cmd = v1 ? command(argc, argv) : 0;
	/* An exec's process joins the shared cgroups as the container's init did; crun then moves it
	 * into the container's own where it has one (a cpuset made by a later update). */
	if (cmd == 'e' && parent) {
		for (size_t i = 0; i < sizeof shareable / sizeof *shareable; i++)
			(void)join(shareable[i], parent, 0);
	}
	/* The copy of /proc/self/cgroup, for a create the driver asks it for (BERTH_CRUN_COPY=1, or
	 * =userns with the view of proc a container in a user namespace needs for its own). */
	const char *copying = cmd == 'c' ? getenv("BERTH_CRUN_COPY") : NULL;
	int userns = copying && strcmp(copying, "userns") == 0;
	int copy = userns || (copying && strcmp(copying, "1") == 0);
	int share = copy && parent;
	if (hybrid || share) {
		if (unshare(CLONE_NEWNS) < 0 ||
		    (hybrid && (mount(NULL, "/sys/fs/cgroup/unified", NULL, MS_PRIVATE, NULL) < 0 ||
				umount2("/sys/fs/cgroup/unified", MNT_DETACH) < 0))) {
			fprintf(stderr, "berth-crun: hide the cgroup2 mount: %s\n", strerror(errno));
			return 125;
		}
	}
	for (size_t i = 0; i < sizeof shareable / sizeof *shareable && share; i++) {
		if (join(shareable[i], parent, 1) < 0)
			share = 0;
	}
	if (copy && (hybrid || share) && filter_proc_cgroup(hybrid, share, userns) < 0) {
		fprintf(stderr, "berth-crun: filter /proc/self/cgroup: %s\n", strerror(errno));
		return 125;
	}
	argv[0] = (char *)crun;
	execv(crun, argv);
	fprintf(stderr, "berth-crun: exec %s: %s\n", crun, strerror(errno));
	return 127;
}
