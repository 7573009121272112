/*
 * seccomp-layout: a container's seccomp profile compiled by libseccomp the way crun 1.8 compiles
 * it, in either of libseccomp's layouts, and a program run under such a filter — what
 * bench/seccomp-layout.sh measures (docs/benchmarks.md, "libseccomp's binary tree").
 *
 * crun asks libseccomp for its default layout, a linear list of syscall comparisons per
 * architecture; libseccomp >= 2.5 can lay the same filter out as a binary tree on the syscall
 * number (SCMP_FLTATR_CTL_OPTIMIZE = 2). To compare the two on what crun would load, this makes
 * the library calls crun's libcrun_generate_seccomp makes for a spec, in the same order
 * (seccomp_init with the default action, seccomp_arch_add per architecture,
 * seccomp_rule_add_array per rule and syscall name; the same action and errno defaults; a rule
 * whose action is the default one skipped; comparisons of one argument index given twice split
 * into one rule each; unknown names skipped), then asks for the tree unless -O1. The layout
 * changes only libseccomp's code generation (gen_bpf.c), not the rules.
 *
 * Input on stdin, one record a line, fields separated by one space (the script writes it from
 * Berth's spec):
 *   default <action> <errno | ->                 defaultAction, defaultErrnoRet
 *   arch <architecture>                          each of architectures, in order
 *   rule <action> <errno | -> [<name> ...]       each of syscalls, in order
 *   arg <index> <op> <value> <valueTwo>          each of that rule's args, in order
 *
 * Usage: seccomp-layout [-O1] <out> < profile    writes the program, prints its instructions
 *        seccomp-layout --load <bpf> <cmd> ...   runs cmd under the filter (no_new_privs, as
 *                                                crun loads it: SECCOMP_FILTER_FLAG_SPEC_ALLOW)
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>


struct arg {
	unsigned long index;
	char *op;
	uint64_t value, value_two;
};

struct rule {
	char *action;
	bool has_errno;
	uint32_t errno_ret;
	char **names;
	size_t n_names;
	struct arg *args;
	size_t n_args;
};

struct profile {
	char *default_action;
	bool has_default_errno;
	uint32_t default_errno;
	char **arches;
	size_t n_arches;
	struct rule *rules;
	size_t n_rules;
};

static int fail(const char *fmt, const char *what)
{
	fprintf(stderr, "seccomp-layout: ");
	fprintf(stderr, fmt, what);
	fputc('\n', stderr);
	return 1;
}

static void *grow(void *p, size_t n, size_t size)
{
	void *q = realloc(p, n * size);
	if (!q) {
		perror("seccomp-layout: realloc");
		exit(1);
	}
	return q;
}

static bool parse_u64(const char *s, uint64_t max, uint64_t *out)
{
	char *end;
	if (!s || !isdigit((unsigned char)*s))
		return false;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || *end || v > max)
		return false;
	*out = v;
	return true;
}

/* "<errno>" or "-" (absent). */
static bool parse_errno(const char *s, bool *has, uint32_t *out)
{
	uint64_t v;
	if (s && strcmp(s, "-") == 0) {
		*has = false;
		return true;
	}
	if (!parse_u64(s, UINT32_MAX, &v))
		return false;
	*has = true;
	*out = (uint32_t)v;
	return true;
}

/* Splits line (modified) at single spaces into at most max fields. */
static size_t fields(char *line, char **f, size_t max)
{
	size_t n = 0;
	char *save = NULL;
	for (char *t = strtok_r(line, " ", &save); t && n < max; t = strtok_r(NULL, " ", &save))
		f[n++] = t;
	return n;
}

static int read_profile(FILE *in, struct profile *p)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	while ((len = getline(&line, &cap, in)) >= 0) {
		if (len > 0 && line[len - 1] == '\n')
			line[--len] = '\0';
		if (len == 0)
			continue;
		/* A rule lists its names: as many fields as the line has spaces, plus one. */
		size_t max = 1;
		for (ssize_t i = 0; i < len; i++)
			max += line[i] == ' ';
		char **f = grow(NULL, max, sizeof(*f));
		size_t n = fields(line, f, max);
		if (n == 3 && strcmp(f[0], "default") == 0 && !p->default_action) {
			p->default_action = strdup(f[1]);
			if (!parse_errno(f[2], &p->has_default_errno, &p->default_errno))
				return fail("bad default errno: %s", f[2]);
		} else if (n == 2 && strcmp(f[0], "arch") == 0) {
			p->arches = grow(p->arches, p->n_arches + 1, sizeof(char *));
			p->arches[p->n_arches++] = strdup(f[1]);
		} else if (n >= 3 && strcmp(f[0], "rule") == 0) {
			p->rules = grow(p->rules, p->n_rules + 1, sizeof(struct rule));
			struct rule *r = &p->rules[p->n_rules++];
			memset(r, 0, sizeof(*r));
			r->action = strdup(f[1]);
			if (!parse_errno(f[2], &r->has_errno, &r->errno_ret))
				return fail("bad errno: %s", f[2]);
			r->n_names = n - 3;
			r->names = grow(NULL, r->n_names + 1, sizeof(char *));
			for (size_t i = 0; i < r->n_names; i++)
				r->names[i] = strdup(f[3 + i]);
		} else if (n == 5 && strcmp(f[0], "arg") == 0 && p->n_rules > 0) {
			struct rule *r = &p->rules[p->n_rules - 1];
			uint64_t index;
			r->args = grow(r->args, r->n_args + 1, sizeof(struct arg));
			struct arg *a = &r->args[r->n_args++];
			if (!parse_u64(f[1], UINT32_MAX, &index) || !parse_u64(f[3], UINT64_MAX, &a->value) ||
			    !parse_u64(f[4], UINT64_MAX, &a->value_two))
				return fail("bad argument comparison: %s", f[1]);
			a->index = (unsigned long)index;
			a->op = strdup(f[2]);
		} else {
			return fail("bad line: %s", f[0] ? f[0] : "");
		}
		free(f);
	}
	free(line);
	if (!p->default_action)
		return fail("%s", "no default action");
	return 0;
}

/* crun's names for actions; the errno goes with ERRNO and TRACE. 0 with *ok false: unknown. */
static uint32_t action_of(const char *name, uint32_t errno_ret, bool *ok)
{
	*ok = true;
	if (strncmp(name, "SCMP_ACT_", 9) == 0) {
		const char *a = name + 9;
		if (strcmp(a, "ALLOW") == 0)
			return SCMP_ACT_ALLOW;
		if (strcmp(a, "ERRNO") == 0)
			return SCMP_ACT_ERRNO(errno_ret);
		if (strcmp(a, "KILL") == 0)
			return SCMP_ACT_KILL;
		if (strcmp(a, "LOG") == 0)
			return SCMP_ACT_LOG;
		if (strcmp(a, "TRAP") == 0)
			return SCMP_ACT_TRAP;
		if (strcmp(a, "TRACE") == 0)
			return SCMP_ACT_TRACE(errno_ret);
		if (strcmp(a, "KILL_PROCESS") == 0)
			return SCMP_ACT_KILL_PROCESS;
		if (strcmp(a, "KILL_THREAD") == 0)
			return SCMP_ACT_KILL_THREAD;
		if (strcmp(a, "NOTIFY") == 0)
			return SCMP_ACT_NOTIFY;
	}
	*ok = false;
	return 0;
}

static bool takes_errno(const char *action)
{
	return strcmp(action, "SCMP_ACT_ERRNO") == 0 || strcmp(action, "SCMP_ACT_TRACE") == 0;
}

static enum scmp_compare op_of(const char *name)
{
	static const struct {
		const char *name;
		enum scmp_compare op;
	} ops[] = {
		{ "SCMP_CMP_NE", SCMP_CMP_NE }, { "SCMP_CMP_LT", SCMP_CMP_LT },
		{ "SCMP_CMP_LE", SCMP_CMP_LE }, { "SCMP_CMP_EQ", SCMP_CMP_EQ },
		{ "SCMP_CMP_GE", SCMP_CMP_GE }, { "SCMP_CMP_GT", SCMP_CMP_GT },
		{ "SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ },
	};
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		if (strcmp(name, ops[i].name) == 0)
			return ops[i].op;
	return 0; /* _SCMP_CMP_MIN: no operator */
}

/* One rule's library calls for one syscall, as crun makes them. */
static int add_rule(scmp_filter_ctx ctx, uint32_t action, int nr, const struct rule *r)
{
	struct scmp_arg_cmp cmp[6];
	unsigned count[6] = { 0 };
	bool split = false;
	size_t n = r->n_args < 6 ? r->n_args : 6, k;
	int rc;

	if (r->n_args == 0)
		return seccomp_rule_add(ctx, action, nr, 0);
	/* Two comparisons of one argument cannot hold at once in libseccomp's model: crun then
	 * adds each comparison as a rule of its own (so either allows). It checks indexes only up to
	 * the first repeated one; a bad index after it fails in libseccomp instead. */
	for (k = 0; k < n; k++) {
		if (r->args[k].index >= 6)
			return -EINVAL;
		if (++count[r->args[k].index] > 1) {
			split = true;
			break;
		}
	}
	for (k = 0; k < n; k++) {
		cmp[k].arg = (unsigned int)r->args[k].index;
		cmp[k].op = op_of(r->args[k].op);
		if (cmp[k].op == 0)
			return -EINVAL;
		cmp[k].datum_a = r->args[k].value;
		cmp[k].datum_b = r->args[k].value_two;
	}
	if (!split)
		return seccomp_rule_add_array(ctx, action, nr, (unsigned int)n, cmp);
	for (k = 0; k < n; k++)
		if ((rc = seccomp_rule_add_array(ctx, action, nr, 1, &cmp[k])) < 0)
			return rc;
	return 0;
}

static int compile(const struct profile *p, bool tree, int out)
{
	uint32_t default_action, action;
	size_t rules_added = 0;
	bool ok;
	int rc;

	if (p->has_default_errno && !takes_errno(p->default_action))
		return fail("errno value specified for action `%s`", p->default_action);
	default_action = action_of(p->default_action, p->has_default_errno ? p->default_errno : EPERM, &ok);
	if (!ok)
		return fail("invalid seccomp action `%s`", p->default_action);
	scmp_filter_ctx ctx = seccomp_init(default_action);
	if (!ctx)
		return fail("%s", "seccomp_init failed");

	for (size_t i = 0; i < p->n_arches; i++) {
		/* crun's spelling: SCMP_ARCH_X86_64 → x86_64, at most 31 characters. */
		char lower[32] = { 0 };
		const char *a = p->arches[i];
		if (strncmp(a, "SCMP_ARCH_", 10) == 0)
			a += 10;
		for (size_t j = 0; a[j] && j < sizeof(lower) - 1; j++)
			lower[j] = (char)tolower((unsigned char)a[j]);
		uint32_t token = seccomp_arch_resolve_name(lower);
		if (token == 0)
			return fail("seccomp unknown architecture %s", p->arches[i]);
		rc = seccomp_arch_add(ctx, token);
		if (rc < 0 && rc != -EEXIST)
			return fail("seccomp adding architecture %s", p->arches[i]);
	}

	for (size_t i = 0; i < p->n_rules; i++) {
		const struct rule *r = &p->rules[i];
		if (r->has_errno && !takes_errno(r->action))
			return fail("errno value specified for action `%s`", r->action);
		action = action_of(r->action, r->has_errno ? r->errno_ret : EPERM, &ok);
		if (!ok)
			return fail("invalid seccomp action `%s`", r->action);
		if (action == default_action)
			continue;
		for (size_t j = 0; j < r->n_names; j++) {
			int nr = seccomp_syscall_resolve_name(r->names[j]);
			if (nr == __NR_SCMP_ERROR)
				continue; /* crun warns and goes on */
			if ((rc = add_rule(ctx, action, nr, r)) < 0)
				return fail("seccomp_rule_add `%s`", r->names[j]);
			rules_added++;
		}
	}

	/* libseccomp before 2.5.4 emitted a broken tree for an empty filter (libseccomp#370). */
	if (tree && rules_added > 0 && seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2) < 0)
		return fail("%s", "this libseccomp has no binary tree layout");
	if ((rc = seccomp_export_bpf(ctx, out)) < 0)
		return fail("seccomp_export_bpf: %s", strerror(-rc));
	seccomp_release(ctx);
	return 0;
}

static int load(const char *path, char **argv)
{
	static char buf[4096 * 8];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof(buf));
	struct sock_fprog prog = { .len = (unsigned short)(n / 8), .filter = (struct sock_filter *)buf };
	if (n <= 0 || n % 8)
		return fail("read %s", path);
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
	    syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_SPEC_ALLOW, &prog) != 0)
		return fail("load %s", path);
	execv(argv[0], argv);
	return fail("exec %s", argv[0]);
}

int main(int argc, char **argv)
{
	struct profile p = { 0 };
	bool tree = true;
	struct stat st;

	if (argc == 2 && strcmp(argv[1], "--version") == 0) {
		const struct scmp_version *v = seccomp_version();
		printf("libseccomp %u.%u.%u\n", v->major, v->minor, v->micro);
		return 0;
	}
	if (argc >= 4 && strcmp(argv[1], "--load") == 0)
		return load(argv[2], argv + 3);
	if (argc == 3 && strcmp(argv[1], "-O1") == 0)
		tree = false;
	else if (argc != 2 || argv[1][0] == '-') {
		fprintf(stderr, "usage: seccomp-layout [-O1] <out> < profile\n       seccomp-layout --load <bpf> <cmd> ...\n       seccomp-layout --version\n");
		return 2;
	}
	if (read_profile(stdin, &p) != 0)
		return 1;
	int out = open(argv[argc - 1], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (out < 0)
		return fail("open %s", argv[argc - 1]);
	if (compile(&p, tree, out) != 0 || fstat(out, &st) != 0 || close(out) != 0) {
		unlink(argv[argc - 1]);
		return 1;
	}
	printf("%lld\n", (long long)st.st_size / 8);
	return 0;
}
