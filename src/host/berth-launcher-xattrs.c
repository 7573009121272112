/*
 * XATTRS: extended attributes of the files given, read with lgetxattr by the launcher itself,
 * where `getfattr -R` was a program started for each `docker diff` (17-24 ms on a loaded
 * machine for a container that changed a few files).
 *
 * Request: u32 flags (0), u32 the number of names, then NUL-terminated strings: the names
 * wanted (exact: `trusted.overlay.opaque`), then the paths (absolute).
 * Answer (DONE): i32 0, or -errno of the first failure met other than an attribute's absence
 * or a path gone (a running container's files vanish); what could be read comes all the same,
 * as getfattr prints what it could. Then, for each attribute found: u32 the path's index in
 * the request, the name NUL-terminated, u32 the value's length, the value.
 *
 * Paths, not a walk: berthd has walked the tree already (it lstats every entry for the diff)
 * and sends the directories, so the launcher, whose one thread also serves every spawn, does a
 * system call per path and nothing else — a walk here, readdir included, held spawns for 0.4 s
 * over a tree of /usr's size (1.5 s reading every file's). A path's last component is not
 * followed (lgetxattr); what an attribute read through a directory swapped for a symlink
 * meanwhile could tell is whether some host directory is marked opaque, nothing more.
 */
#include <sys/xattr.h>

#define XATTRS_MAX_NAMES 8

static int xattrs_put(unsigned char **out, size_t *n, size_t *cap, const void *p, size_t len)
{
	if (*n + len > *cap) {
		size_t c = *cap ? *cap : 4096;
		while (c < *n + len)
			c *= 2;
		unsigned char *grown = realloc(*out, c);
		if (!grown)
			return -1;
		*out = grown;
		*cap = c;
	}
	memcpy(*out + *n, p, len);
	*n += len;
	return 0;
}

static void do_xattrs(uint32_t id, const unsigned char *p, size_t n)
{
	if (n < 8) {
		reply_i32(RES_DONE, id, -EINVAL);
		return;
	}
	uint32_t nnames = get32(p + 4);
	const char *names[XATTRS_MAX_NAMES];
	size_t off = 8;
	if (nnames == 0 || nnames > XATTRS_MAX_NAMES || !strings(p + off, n - off, names, nnames)) {
		reply_i32(RES_DONE, id, -EINVAL);
		return;
	}
	for (uint32_t k = 0; k < nnames; k++)
		off += strlen(names[k]) + 1;
	static unsigned char value[65536]; /* XATTR_SIZE_MAX */
	unsigned char *out = NULL;
	size_t nout = 0, capout = 0;
	int err = 0;
	for (uint32_t index = 0; off < n; index++) {
		const char *path = (const char *)p + off;
		const char *end = memchr(path, 0, n - off);
		if (!end) {
			err = err ? err : -EINVAL;
			break;
		}
		off += (size_t)(end - path) + 1;
		for (uint32_t k = 0; k < nnames; k++) {
			ssize_t got = lgetxattr(path, names[k], value, sizeof value);
			if (got < 0) {
				/* Absent, not kept by this file system, or the file is gone: nothing to say. */
				if (errno != ENODATA && errno != ENOTSUP && errno != ENOENT && errno != ENOTDIR && !err)
					err = -errno;
				continue;
			}
			unsigned char head[4], len[4];
			put32(head, index);
			put32(len, (uint32_t)got);
			size_t whole = nout; /* a record cut short is taken back */
			if (xattrs_put(&out, &nout, &capout, head, 4) < 0 ||
			    xattrs_put(&out, &nout, &capout, names[k], strlen(names[k]) + 1) < 0 ||
			    xattrs_put(&out, &nout, &capout, len, 4) < 0 ||
			    xattrs_put(&out, &nout, &capout, value, (size_t)got) < 0) {
				nout = whole;
				err = err ? err : -ENOMEM;
				goto done;
			}
		}
	}
done:;
	unsigned char r[4];
	put32(r, (uint32_t)err);
	reply(RES_DONE, id, r, 4, out, nout);
	free(out);
}
