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
 * it mounts the hierarchies into the container.
 *
 * Built by scripts/setup.sh; the runtime driver passes it to conmon as the runtime (`-r`) and
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

/* Binds a copy of /proc/self/cgroup without the `0::` line over this process's own. */
static int filter_proc_cgroup(void)
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
		if (strncmp(line, "0::", 3) != 0) {
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
	int ok = write(tfd, out, o) == (ssize_t)o && mount(NULL, "/proc", NULL, MS_PRIVATE, NULL) == 0 &&
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
	int hybrid = statfs("/sys/fs/cgroup", &fs) == 0 && fs.f_type != CGROUP2_SUPER_MAGIC &&
		     statfs("/sys/fs/cgroup/unified", &fs) == 0 && fs.f_type == CGROUP2_SUPER_MAGIC;
	if (hybrid) {
		if (unshare(CLONE_NEWNS) < 0 ||
		    mount(NULL, "/sys/fs/cgroup/unified", NULL, MS_PRIVATE, NULL) < 0 ||
		    umount2("/sys/fs/cgroup/unified", MNT_DETACH) < 0) {
			fprintf(stderr, "berth-crun: hide the cgroup2 mount: %s\n", strerror(errno));
			return 125;
		}
		if (filter_proc_cgroup() < 0) {
			fprintf(stderr, "berth-crun: filter /proc/self/cgroup: %s\n", strerror(errno));
			return 125;
		}
	}
	argv[0] = (char *)crun;
	execv(crun, argv);
	fprintf(stderr, "berth-crun: exec %s: %s\n", crun, strerror(errno));
	return 127;
}
