/*
 * The launcher's bridges, reads of the host's network state and nftables rulesets
 * (berth-launcher.c's BRIDGE, NETINFO and NFT requests): what `ip -batch` and `ip -j ... show` did for network/bridge.ts and
 * network/user.ts, with rtnetlink and without running ip.
 *
 * Why: a `docker network create` ran ip three times (the routes of each family, then the
 * bridge's batch) and a `network rm` once more, and the default bridge's set-up at daemon start
 * twice more; each program's start-up (~3.5 ms of CPU, twelve libraries, stretched many times
 * over on a loaded host) for a few netlink messages. dockerd makes its bridges over netlink in
 * its own process.
 *
 * BRIDGE does the steps of network/bridgelink.ts's `ip -batch` lines, one for one and in their
 * order: with BRIDGE_CREATE `link add NAME address MAC type bridge` (the kernel's defaults
 * otherwise: no MTU, no bridge option, as ip sends none); without it, on a bridge that is there,
 * `link set dev NAME address MAC` when a MAC is given; `addr del` of an IPv4 address that must
 * go; `addr add` of the IPv4 one; `addr add ... nodad` of the IPv6 one (`addr replace` with
 * BRIDGE_REPLACE6: a restart may find it there); with BRIDGE_UP `link set NAME up`. A failure answers -errno and the step
 * (enum bridge_step); what was done before it stays, as with ip -batch, and the caller deletes
 * the bridge (UNLINK).
 *
 * NETINFO dumps links, addresses and routes, as `ip -j link/addr/route show` list them, and
 * answers them as text lines (interface names hold no spaces):
 *   link <index> <name> <kind or -> <mtu> <MAC or ->
 *   addr <4|6> <name> <address>/<length>
 *   route <4|6> <destination>/<length> or default, <device or ->
 * Routes are table main's without the kernel's cached clones, as `ip route show` lists them.
 *
 * NFT runs a ruleset through libnftables, as `nft -f -` would, without starting nft: the rules
 * of every network create and rm (a spawned nft took 30 of a create's 36 ms, measured in a
 * namespace of its own at load ~5).
 *
 * Included by berth-launcher.c after berth-launcher-link.c, whose netlink helpers it uses.
 */

#include <nftables/libnftables.h>
#include <stdarg.h>

enum bridge_step {
	BRIDGE_OK = 0,
	BRIDGE_ARGS,
	BRIDGE_CREATE_STEP,
	BRIDGE_FIND,
	BRIDGE_MAC,
	BRIDGE_DEL4,
	BRIDGE_ADDR4,
	BRIDGE_ADDR6,
	BRIDGE_UP_STEP,
};

/* BRIDGE's flags: make the bridge (else it is there); bring it up; replace the IPv6 address. */
enum { BRIDGE_CREATE = 1, BRIDGE_UP = 2, BRIDGE_REPLACE6 = 4 };

/* `ip link add NAME address MAC type bridge`. */
static int bridge_create(int fd, const char *name, const unsigned char *mac)
{
	struct ifinfomsg i = {.ifi_family = AF_UNSPEC};
	struct nlmsg m;
	nl_init(&m, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, &i, sizeof i);
	if (nl_str(&m, IFLA_IFNAME, name) < 0 || (mac && !nl_attr(&m, IFLA_ADDRESS, mac, 6)))
		return -EMSGSIZE;
	struct rtattr *info = nl_attr(&m, IFLA_LINKINFO, NULL, 0);
	if (!info || nl_str(&m, IFLA_INFO_KIND, "bridge") < 0)
		return -EMSGSIZE;
	nl_end(&m, info);
	return nl_talk(fd, &m);
}

/* `ip link set dev X address MAC`: a MAC set by hand, which a bridge then keeps. */
static int link_mac(int fd, int index, const unsigned char *mac)
{
	struct ifinfomsg i = {.ifi_family = AF_UNSPEC, .ifi_index = index};
	struct nlmsg m;
	nl_init(&m, RTM_NEWLINK, 0, &i, sizeof i);
	if (!nl_attr(&m, IFLA_ADDRESS, mac, 6))
		return -EMSGSIZE;
	return nl_talk(fd, &m);
}

/* `ip addr del A/L dev X` (IPv4). */
static int addr_del4(int fd, int index, const char *prefix)
{
	unsigned char addr[16], len;
	int r = parse_prefix(prefix, AF_INET, addr, &len);
	if (r < 0)
		return r;
	struct ifaddrmsg a = {.ifa_family = AF_INET, .ifa_prefixlen = len, .ifa_index = (unsigned)index};
	struct nlmsg m;
	nl_init(&m, RTM_DELADDR, 0, &a, sizeof a);
	if (!nl_attr(&m, IFA_LOCAL, addr, 4))
		return -EMSGSIZE;
	return nl_talk(fd, &m);
}

/*
 * BRIDGE: u32 flags (1 create, 2 up, 4 IPv6 address replaced), then NUL-terminated strings: the bridge's name, its MAC,
 * an IPv4 address/length to delete, the IPv4 address/length to add, the IPv6 one to put
 * without DAD ("" for none). Answers DONE with i32 0 or -errno and i32 the step.
 */
static void do_bridge(uint32_t id, const unsigned char *p, size_t n)
{
	const char *s[5];
	unsigned char mac[6];
	int err = -EINVAL, sock = -1, index = 0;
	enum bridge_step step = BRIDGE_ARGS;
	if (n < 4 || !strings(p + 4, n - 4, s, 5) || !*s[0] || strlen(s[0]) >= IFNAMSIZ || (*s[1] && parse_mac(s[1], mac) < 0))
		goto out;
	uint32_t flags = get32(p);
	if ((sock = nl_socket()) < 0) {
		err = sock;
		goto out;
	}
	if (flags & BRIDGE_CREATE) {
		step = BRIDGE_CREATE_STEP;
		if ((err = bridge_create(sock, s[0], *s[1] ? mac : NULL)) < 0)
			goto out;
	}
	step = BRIDGE_FIND;
	if (!(index = (int)if_nametoindex(s[0]))) {
		err = -errno;
		goto out;
	}
	step = BRIDGE_MAC;
	if (!(flags & BRIDGE_CREATE) && *s[1] && (err = link_mac(sock, index, mac)) < 0)
		goto out;
	step = BRIDGE_DEL4;
	if (*s[2] && (err = addr_del4(sock, index, s[2])) < 0)
		goto out;
	step = BRIDGE_ADDR4;
	if (*s[3] && (err = addr_put(sock, AF_INET, index, s[3], 0, NLM_F_EXCL)) < 0)
		goto out;
	step = BRIDGE_ADDR6;
	if (*s[4] && (err = addr_put(sock, AF_INET6, index, s[4], 1, flags & BRIDGE_REPLACE6 ? NLM_F_REPLACE : NLM_F_EXCL)) < 0)
		goto out;
	step = BRIDGE_UP_STEP;
	if ((flags & BRIDGE_UP) && (err = link_up(sock, index)) < 0)
		goto out;
	step = BRIDGE_OK;
	err = 0;
out:
	if (sock >= 0)
		close(sock);
	unsigned char answer[8];
	put32(answer, (uint32_t)err);
	put32(answer + 4, (uint32_t)step);
	reply(RES_DONE, id, answer, sizeof answer, NULL, 0);
}

/* ---- NETINFO ---- */

/* NETINFO's flags: what to list. */
enum { INFO_LINKS = 1, INFO_ADDRS4 = 2, INFO_ADDRS6 = 4, INFO_ROUTES4 = 8, INFO_ROUTES6 = 16 };
/* Where a NETINFO failed (its answer's second i32). */
enum { INFO_OK = 0, INFO_DUMP_LINKS, INFO_DUMP_ADDRS, INFO_DUMP_ROUTES };

/* The answer's text, grown as lines are added; `failed` once memory ran out. */
struct text {
	char *s;
	size_t n, cap;
	int failed;
};

static void text_add(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void text_add(struct text *t, const char *fmt, ...)
{
	if (t->failed)
		return;
	for (;;) {
		va_list ap;
		va_start(ap, fmt);
		int w = vsnprintf(t->s ? t->s + t->n : NULL, t->s ? t->cap - t->n : 0, fmt, ap);
		va_end(ap);
		if (w < 0) {
			t->failed = 1;
			return;
		}
		if (t->s && t->n + (size_t)w < t->cap) {
			t->n += (size_t)w;
			return;
		}
		size_t cap = t->cap ? t->cap * 2 : 4096;
		while (cap <= t->n + (size_t)w)
			cap *= 2;
		char *grown = realloc(t->s, cap);
		if (!grown) {
			t->failed = 1;
			return;
		}
		t->s = grown;
		t->cap = cap;
	}
}

/* Interface names by index, from the links' dump (addresses and routes name their device by index). */
struct ifname {
	int index;
	char name[IFNAMSIZ];
};
struct names {
	struct ifname *v;
	size_t n, cap;
};

static const char *name_of(const struct names *ns, int index)
{
	for (size_t k = 0; k < ns->n; k++)
		if (ns->v[k].index == index)
			return ns->v[k].name;
	return NULL;
}

/* The attributes of a message or nest, by type (the last of each, as the kernel sends one). */
static void attrs(struct rtattr *tb[], int max, struct rtattr *a, int len)
{
	memset(tb, 0, sizeof(struct rtattr *) * (size_t)(max + 1));
	for (; RTA_OK(a, len); a = RTA_NEXT(a, len))
		if (a->rta_type <= max)
			tb[a->rta_type] = a;
}

typedef int (*dump_fn)(struct nlmsghdr *r, void *ctx);

/* A dump request: `head` is its family's message; each answer goes to `each`. 0 or -errno. */
static int nl_dump(int fd, uint16_t type, const void *head, size_t nhead, dump_fn each, void *ctx)
{
	struct nlmsg m;
	nl_init(&m, type, NLM_F_DUMP, head, nhead);
	m.h.nlmsg_flags &= (uint16_t)~NLM_F_ACK;
	if (type == RTM_GETLINK) {
		/* Counters are no use here, and the largest part of each link's answer. */
		if (nl_u32(&m, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS) < 0)
			return -EMSGSIZE;
	}
	int len = nl_send(fd, &m);
	if (len < 0)
		return len;
	/* The kernel fills each read with whole messages up to about a page's worth: 32 kB holds any. */
	static char buf[32768] __attribute__((aligned(NLMSG_ALIGNTO)));
	for (;;) {
		if ((len = nl_recv(fd, buf, sizeof buf)) < 0)
			return len;
		for (struct nlmsghdr *r = (struct nlmsghdr *)buf; NLMSG_OK(r, len); r = NLMSG_NEXT(r, len)) {
			if (r->nlmsg_seq != m.h.nlmsg_seq)
				continue;
			if (r->nlmsg_type == NLMSG_DONE)
				return 0;
			if (r->nlmsg_type == NLMSG_ERROR) {
				int e = ((struct nlmsgerr *)NLMSG_DATA(r))->error;
				if (e)
					return e;
				continue;
			}
			int e = each(r, ctx);
			if (e < 0)
				return e;
		}
	}
}

struct info_ctx {
	struct text *out;
	struct names *names;
	int print;
};

static int each_link(struct nlmsghdr *r, void *ctx)
{
	struct info_ctx *c = ctx;
	if (r->nlmsg_type != RTM_NEWLINK || r->nlmsg_len < NLMSG_LENGTH(sizeof(struct ifinfomsg)))
		return 0;
	struct ifinfomsg *i = NLMSG_DATA(r);
	struct rtattr *tb[IFLA_MAX + 1], *info[IFLA_INFO_MAX + 1];
	attrs(tb, IFLA_MAX, IFLA_RTA(i), (int)IFLA_PAYLOAD(r));
	if (!tb[IFLA_IFNAME])
		return 0;
	const char *name = RTA_DATA(tb[IFLA_IFNAME]);
	struct names *ns = c->names;
	if (ns->n == ns->cap) {
		size_t cap = ns->cap ? ns->cap * 2 : 64;
		struct ifname *grown = realloc(ns->v, cap * sizeof *grown);
		if (!grown)
			return -ENOMEM;
		ns->v = grown;
		ns->cap = cap;
	}
	ns->v[ns->n].index = i->ifi_index;
	snprintf(ns->v[ns->n].name, IFNAMSIZ, "%s", name);
	ns->n++;
	if (!c->print)
		return 0;
	const char *kind = "-";
	if (tb[IFLA_LINKINFO]) {
		attrs(info, IFLA_INFO_MAX, RTA_DATA(tb[IFLA_LINKINFO]), (int)RTA_PAYLOAD(tb[IFLA_LINKINFO]));
		if (info[IFLA_INFO_KIND])
			kind = RTA_DATA(info[IFLA_INFO_KIND]);
	}
	unsigned mtu = tb[IFLA_MTU] ? *(unsigned *)RTA_DATA(tb[IFLA_MTU]) : 0;
	char mac[18] = "-";
	if (tb[IFLA_ADDRESS] && RTA_PAYLOAD(tb[IFLA_ADDRESS]) == 6) {
		const unsigned char *a = RTA_DATA(tb[IFLA_ADDRESS]);
		snprintf(mac, sizeof mac, "%02x:%02x:%02x:%02x:%02x:%02x", a[0], a[1], a[2], a[3], a[4], a[5]);
	}
	text_add(c->out, "link %d %s %s %u %s\n", i->ifi_index, ns->v[ns->n - 1].name, kind, mtu, mac);
	return 0;
}

static int each_addr(struct nlmsghdr *r, void *ctx)
{
	struct info_ctx *c = ctx;
	if (r->nlmsg_type != RTM_NEWADDR || r->nlmsg_len < NLMSG_LENGTH(sizeof(struct ifaddrmsg)))
		return 0;
	struct ifaddrmsg *a = NLMSG_DATA(r);
	struct rtattr *tb[IFA_MAX + 1];
	attrs(tb, IFA_MAX, IFA_RTA(a), (int)IFA_PAYLOAD(r));
	/* The interface's own address: IFA_LOCAL where there is one (a point-to-point link's
	 * IFA_ADDRESS is its peer's), as ip shows `local`. */
	struct rtattr *at = tb[IFA_LOCAL] ? tb[IFA_LOCAL] : tb[IFA_ADDRESS];
	const char *dev = name_of(c->names, (int)a->ifa_index);
	char s[INET6_ADDRSTRLEN];
	if (!at || !dev || !inet_ntop(a->ifa_family, RTA_DATA(at), s, sizeof s))
		return 0;
	text_add(c->out, "addr %d %s %s/%u\n", a->ifa_family == AF_INET ? 4 : 6, dev, s, a->ifa_prefixlen);
	return 0;
}

static int each_route(struct nlmsghdr *r, void *ctx)
{
	struct info_ctx *c = ctx;
	if (r->nlmsg_type != RTM_NEWROUTE || r->nlmsg_len < NLMSG_LENGTH(sizeof(struct rtmsg)))
		return 0;
	struct rtmsg *rt = NLMSG_DATA(r);
	struct rtattr *tb[RTA_MAX + 1];
	attrs(tb, RTA_MAX, RTM_RTA(rt), (int)RTM_PAYLOAD(r));
	uint32_t table = tb[RTA_TABLE] ? *(uint32_t *)RTA_DATA(tb[RTA_TABLE]) : rt->rtm_table;
	if (table != RT_TABLE_MAIN || (rt->rtm_flags & RTM_F_CLONED))
		return 0;
	int v = rt->rtm_family == AF_INET ? 4 : 6;
	const char *dev = tb[RTA_OIF] ? name_of(c->names, *(int *)RTA_DATA(tb[RTA_OIF])) : NULL;
	if (!dev)
		dev = "-";
	char s[INET6_ADDRSTRLEN];
	if (rt->rtm_dst_len == 0)
		text_add(c->out, "route %d default %s\n", v, dev);
	else if (tb[RTA_DST] && inet_ntop(rt->rtm_family, RTA_DATA(tb[RTA_DST]), s, sizeof s))
		text_add(c->out, "route %d %s/%u %s\n", v, s, rt->rtm_dst_len, dev);
	return 0;
}

/* NETINFO: u32 flags (what to list: 1 links, 2 IPv4 and 4 IPv6 addresses, 8 IPv4 and 16 IPv6
 * routes). Answers DONE with i32 0 or -errno, i32 the dump that failed, then the lines. */
static void do_netinfo(uint32_t id, const unsigned char *p, size_t n)
{
	struct text out = {0};
	struct names names = {0};
	struct info_ctx c = {.out = &out, .names = &names};
	int err = -EINVAL, step = INFO_OK;
	if (n < 4)
		goto answer;
	uint32_t flags = get32(p);
	int sock = nl_socket();
	if (sock < 0) {
		err = sock;
		step = INFO_DUMP_LINKS;
		goto answer;
	}
	/* The links always: addresses and routes name their device by index. */
	struct ifinfomsg link = {.ifi_family = AF_UNSPEC};
	c.print = !!(flags & INFO_LINKS);
	step = INFO_DUMP_LINKS;
	if ((err = nl_dump(sock, RTM_GETLINK, &link, sizeof link, each_link, &c)) < 0)
		goto done;
	static const struct {
		uint32_t flag;
		uint16_t type;
		unsigned char family;
	} dumps[] = {
		{INFO_ADDRS4, RTM_GETADDR, AF_INET},
		{INFO_ADDRS6, RTM_GETADDR, AF_INET6},
		{INFO_ROUTES4, RTM_GETROUTE, AF_INET},
		{INFO_ROUTES6, RTM_GETROUTE, AF_INET6},
	};
	for (size_t k = 0; k < sizeof dumps / sizeof dumps[0]; k++) {
		if (!(flags & dumps[k].flag))
			continue;
		if (dumps[k].type == RTM_GETADDR) {
			struct ifaddrmsg a = {.ifa_family = dumps[k].family};
			step = INFO_DUMP_ADDRS;
			err = nl_dump(sock, RTM_GETADDR, &a, sizeof a, each_addr, &c);
		} else {
			struct rtmsg rt = {.rtm_family = dumps[k].family};
			step = INFO_DUMP_ROUTES;
			err = nl_dump(sock, RTM_GETROUTE, &rt, sizeof rt, each_route, &c);
		}
		if (err < 0)
			goto done;
	}
	step = INFO_OK;
	err = out.failed ? -ENOMEM : 0;
done:
	close(sock);
answer:;
	unsigned char head[8];
	put32(head, (uint32_t)err);
	put32(head + 4, (uint32_t)step);
	reply(RES_DONE, id, head, sizeof head, err == 0 ? out.s : NULL, err == 0 ? out.n : 0);
	free(out.s);
	free(names.v);
}

/* ---- NFT ---- */

/*
 * One libnftables context for the launcher's life, made at the first NFT: making one reads
 * iproute2's tables and sets up its parser (~15 ms of CPU here), and its cache of the kernel's
 * ruleset is checked against the ruleset's generation at every run, so one kept is never stale.
 */
static struct nft_ctx *nft;

/*
 * NFT: u32 flags (none yet), then a ruleset as `nft -f -` takes it, NUL-terminated; run in one
 * transaction by libnftables, in the launcher's namespace. Answers DONE with i32 0, or 1 and
 * nft's own error text after it.
 */
static void do_nft(uint32_t id, const unsigned char *p, size_t n)
{
	const char *rules;
	if (n < 4 || !strings(p + 4, n - 4, &rules, 1)) {
		reply_i32(RES_DONE, id, -EINVAL);
		return;
	}
	if (!nft) {
		nft = nft_ctx_new(NFT_CTX_DEFAULT);
		if (!nft) {
			reply_i32(RES_DONE, id, -ENOMEM);
			return;
		}
		/* Errors come back to berthd in the answer, never on the launcher's stderr. */
		nft_ctx_buffer_error(nft);
		nft_ctx_buffer_output(nft);
	}
	int r = nft_run_cmd_from_buffer(nft, rules);
	const char *why = r ? nft_ctx_get_error_buffer(nft) : "";
	unsigned char head[4];
	put32(head, r ? 1u : 0u);
	reply(RES_DONE, id, head, sizeof head, why, why ? strlen(why) : 0);
	/* Reading a buffer empties it: nothing of this run is left for the next. */
	nft_ctx_get_output_buffer(nft);
}
