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
 * Built by scripts/setup.sh; the runtime driver passes it to conmon as the runtime (`-r`) and
 * runs it for crun's other commands. The crun binary: $BERTH_CRUN, else /usr/bin/crun.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/vfs.h>
#include <unistd.h>

#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif

int main(int argc, char **argv)
{
	const char *crun = getenv("BERTH_CRUN");
	if (!crun || !*crun)
		crun = "/usr/bin/crun";
	struct statfs fs;
	if (statfs("/sys/fs/cgroup/unified", &fs) == 0 && fs.f_type == CGROUP2_SUPER_MAGIC &&
	    statfs("/sys/fs/cgroup", &fs) == 0 && fs.f_type != CGROUP2_SUPER_MAGIC) {
		if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/sys/fs/cgroup/unified", NULL, MS_PRIVATE, NULL) < 0 ||
		    umount2("/sys/fs/cgroup/unified", MNT_DETACH) < 0) {
			fprintf(stderr, "berth-crun: hide the cgroup2 mount: %s\n", strerror(errno));
			return 125;
		}
	}
	(void)argc;
	argv[0] = (char *)crun;
	execv(crun, argv);
	fprintf(stderr, "berth-crun: exec %s: %s\n", crun, strerror(errno));
	return 127;
}
