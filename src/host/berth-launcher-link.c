/*
 * The launcher's network links (berth-launcher.c's LINK, UNLINK and BRPORT requests): a
 * container's veth pair made and set up with rtnetlink, as `ip` would, without running `ip`;
 * a bridge port's isolation set on a link already plugged (a container connected to the
 * default bridge of an `--icc=false` daemon, network/user.ts's isolate).
 *
 * Why: plugging a container into a bridge ran ip(8) twice — once on the host to make the pair,
 * once in the container's namespace to give it its address and routes — on every start on the
 * default bridge or a user network (and on every warm pool sandbox's making): two programs'
 * start-up (~3.5 ms of CPU each here, twelve libraries) and berthd's bookkeeping for them, for
 * a dozen netlink messages. dockerd and CNI plugins talk netlink themselves too.
 *
 * What a plug does, in the order `ip -batch` did it (network/veth.ts keeps that path for hosts
 * without the launcher, and documents why each step is there):
 *   on the host: the pair, the host end on the bridge with the MTU (up at once unless `quiet`),
 *     the peer named `ifname` with the MTU and MAC, made straight into the target namespace;
 *     with `quiet`, the host end's addrgenmode none, then up; with `isolated`, the bridge port
 *     isolated;
 *   in the namespace (the launcher joins it for a moment to open a netlink socket there, and
 *     comes back to its own): the IPv4 address, the IPv6 one without DAD, with `quiet` the
 *     peer's addrgenmode none, the peer up, lo up, the default routes.
 * A failure answers -errno and the step that failed (enum link_step), so berthd can say which;
 * EEXIST at LINK_CREATE is a host end left over from a crash, which berthd deletes (UNLINK) and
 * plugs again. Nothing made before a failure is undone here, as with ip: the caller's clean-up
 * removes the host end (and the namespace's end goes with its namespace).
 *
 * Included by berth-launcher.c (one translation unit, one binary).
 */
#include <arpa/inet.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <net/if.h>
#include <sys/socket.h>
#include <sys/time.h>

enum link_step {
	LINK_OK = 0,
	LINK_ARGS,
	LINK_NETNS,
	LINK_BRIDGE,
	LINK_CREATE,
	LINK_HOST_ADDRGENMODE,
	LINK_HOST_UP,
	LINK_ISOLATED,
	LINK_ENTER,
	LINK_PEER,
	LINK_ADDR4,
	LINK_ADDR6,
	LINK_PEER_ADDRGENMODE,
	LINK_PEER_UP,
	LINK_LO_UP,
	LINK_ROUTE4,
	LINK_ROUTE6,
};

/* One request being built: a header, its family's message, then attributes. */
struct nlmsg {
	struct nlmsghdr h;
	char body[1024 - sizeof(struct nlmsghdr)];
};

/* The launcher's own network namespace, to come back to after a plug's moment in another. */
static int home_netns = -1;
static uint32_t nl_seq;

static int nl_socket(void)
{
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (fd < 0)
		return -errno;
	/* The kernel answers at once; a bound on the wait all the same, never a hung launcher. */
	struct timeval tv = {.tv_sec = 5};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	return fd;
}

static void nl_init(struct nlmsg *m, uint16_t type, uint16_t flags, const void *head, size_t nhead)
{
	memset(m, 0, sizeof *m);
	m->h.nlmsg_type = type;
	m->h.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
	m->h.nlmsg_len = NLMSG_LENGTH(nhead);
	memcpy(NLMSG_DATA(&m->h), head, nhead);
}

/* Appends `n` raw bytes (aligned); NULL when the message is full (never with these sizes). */
static void *nl_raw(struct nlmsg *m, const void *data, size_t n)
{
	size_t at = NLMSG_ALIGN(m->h.nlmsg_len);
	if (at + NLMSG_ALIGN(n) > sizeof *m)
		return NULL;
	char *p = (char *)m + at;
	memset(p, 0, NLMSG_ALIGN(n));
	if (data)
		memcpy(p, data, n);
	m->h.nlmsg_len = (uint32_t)(at + NLMSG_ALIGN(n));
	return p;
}

/* Appends an attribute; returns it (a nest's start), NULL when the message is full. */
static struct rtattr *nl_attr(struct nlmsg *m, uint16_t type, const void *data, size_t n)
{
	size_t at = NLMSG_ALIGN(m->h.nlmsg_len);
	if (at + RTA_SPACE(n) > sizeof *m)
		return NULL;
	struct rtattr *a = (struct rtattr *)((char *)m + at);
	a->rta_type = type;
	a->rta_len = (unsigned short)RTA_LENGTH(n);
	if (n)
		memcpy(RTA_DATA(a), data, n);
	m->h.nlmsg_len = (uint32_t)(at + RTA_SPACE(n));
	return a;
}

static int nl_u32(struct nlmsg *m, uint16_t type, uint32_t v) { return nl_attr(m, type, &v, sizeof v) ? 0 : -EMSGSIZE; }
static int nl_u8(struct nlmsg *m, uint16_t type, uint8_t v) { return nl_attr(m, type, &v, sizeof v) ? 0 : -EMSGSIZE; }
static int nl_str(struct nlmsg *m, uint16_t type, const char *s) { return nl_attr(m, type, s, strlen(s) + 1) ? 0 : -EMSGSIZE; }

/* Closes a nest begun with nl_attr(m, type, NULL, 0): its length covers what followed. */
static void nl_end(struct nlmsg *m, struct rtattr *nest)
{
	nest->rta_len = (unsigned short)((char *)m + m->h.nlmsg_len - (char *)nest);
}

/* Sends a request, numbered anew. 0 or -errno. */
static int nl_send(int fd, struct nlmsg *m)
{
	m->h.nlmsg_seq = ++nl_seq;
	struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
	ssize_t w;
	do
		w = sendto(fd, m, m->h.nlmsg_len, 0, (struct sockaddr *)&kernel, sizeof kernel);
	while (w < 0 && errno == EINTR);
	return w < 0 ? -errno : 0;
}

/* Reads the kernel's next answers into `buf`: their length, or -errno (-ETIMEDOUT past the socket's bound). */
static int nl_recv(int fd, char *buf, size_t size)
{
	for (;;) {
		ssize_t n = recv(fd, buf, size, 0);
		if (n >= 0)
			return (int)n;
		if (errno != EINTR)
			return errno == EAGAIN ? -ETIMEDOUT : -errno;
	}
}

/* Sends the request and reads its acknowledgement: 0, or the kernel's -errno. */
static int nl_talk(int fd, struct nlmsg *m)
{
	int len = nl_send(fd, m);
	if (len < 0)
		return len;
	char buf[8192] __attribute__((aligned(NLMSG_ALIGNTO)));
	for (;;) {
		if ((len = nl_recv(fd, buf, sizeof buf)) < 0)
			return len;
		for (struct nlmsghdr *r = (struct nlmsghdr *)buf; NLMSG_OK(r, len); r = NLMSG_NEXT(r, len)) {
			if (r->nlmsg_seq != m->h.nlmsg_seq || r->nlmsg_type != NLMSG_ERROR)
				continue;
			return ((struct nlmsgerr *)NLMSG_DATA(r))->error;
		}
	}
}

/* RTM_NEWLINK on an existing link: its flags (IFF_UP), or one attribute built by `add`. */
static int link_up(int fd, int index)
{
	struct ifinfomsg i = {.ifi_family = AF_UNSPEC, .ifi_index = index, .ifi_flags = IFF_UP, .ifi_change = IFF_UP};
	struct nlmsg m;
	nl_init(&m, RTM_NEWLINK, 0, &i, sizeof i);
	return nl_talk(fd, &m);
}

/* No IPv6 link-local address on the link (addrgenmode none): see network/veth.ts. */
static int link_addrgenmode_none(int fd, int index)
{
	struct ifinfomsg i = {.ifi_family = AF_UNSPEC, .ifi_index = index};
	struct nlmsg m;
	nl_init(&m, RTM_NEWLINK, 0, &i, sizeof i);
	struct rtattr *spec = nl_attr(&m, IFLA_AF_SPEC, NULL, 0);
	struct rtattr *inet6 = spec ? nl_attr(&m, AF_INET6, NULL, 0) : NULL;
	if (!inet6 || nl_u8(&m, IFLA_INET6_ADDR_GEN_MODE, IN6_ADDR_GEN_MODE_NONE) < 0)
		return -EMSGSIZE;
	nl_end(&m, inet6);
	nl_end(&m, spec);
	return nl_talk(fd, &m);
}

/* The bridge port's isolation (`ip link set dev X type bridge_slave isolated on`). */
static int link_isolated(int fd, int index)
{
	struct ifinfomsg i = {.ifi_family = AF_UNSPEC, .ifi_index = index};
	struct nlmsg m;
	nl_init(&m, RTM_NEWLINK, 0, &i, sizeof i);
	struct rtattr *info = nl_attr(&m, IFLA_LINKINFO, NULL, 0);
	if (!info || nl_str(&m, IFLA_INFO_SLAVE_KIND, "bridge") < 0)
		return -EMSGSIZE;
	struct rtattr *data = nl_attr(&m, IFLA_INFO_SLAVE_DATA, NULL, 0);
	if (!data || nl_u8(&m, IFLA_BRPORT_ISOLATED, 1) < 0)
		return -EMSGSIZE;
	nl_end(&m, data);
	nl_end(&m, info);
	return nl_talk(fd, &m);
}

/* The pair: `host` on the bridge, its peer `peer` made in the namespace `netns` (a descriptor). */
static int veth_create(int fd, const char *host, int bridge, uint32_t mtu, int up, const char *peer,
		       const unsigned char mac[6], int netns)
{
	struct ifinfomsg i = {.ifi_family = AF_UNSPEC};
	if (up) {
		i.ifi_flags = IFF_UP;
		i.ifi_change = IFF_UP;
	}
	struct nlmsg m;
	nl_init(&m, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, &i, sizeof i);
	if (nl_str(&m, IFLA_IFNAME, host) < 0 || nl_u32(&m, IFLA_MTU, mtu) < 0 || nl_u32(&m, IFLA_MASTER, (uint32_t)bridge) < 0)
		return -EMSGSIZE;
	struct rtattr *info = nl_attr(&m, IFLA_LINKINFO, NULL, 0);
	if (!info || nl_str(&m, IFLA_INFO_KIND, "veth") < 0)
		return -EMSGSIZE;
	struct rtattr *data = nl_attr(&m, IFLA_INFO_DATA, NULL, 0);
	struct rtattr *peer_info = data ? nl_attr(&m, VETH_INFO_PEER, NULL, 0) : NULL;
	struct ifinfomsg pi = {.ifi_family = AF_UNSPEC};
	if (!peer_info || !nl_raw(&m, &pi, sizeof pi) || nl_str(&m, IFLA_IFNAME, peer) < 0 ||
	    nl_u32(&m, IFLA_MTU, mtu) < 0 || !nl_attr(&m, IFLA_ADDRESS, mac, 6) || nl_u32(&m, IFLA_NET_NS_FD, (uint32_t)netns) < 0)
		return -EMSGSIZE;
	nl_end(&m, peer_info);
	nl_end(&m, data);
	nl_end(&m, info);
	return nl_talk(fd, &m);
}

/* An address given as "a.b.c.d/len" or "x::y/len": its family's bytes and prefix length. */
static int parse_prefix(const char *s, int family, unsigned char *addr, unsigned char *len)
{
	char buf[INET6_ADDRSTRLEN + 8];
	const char *slash = strchr(s, '/');
	size_t n = slash ? (size_t)(slash - s) : strlen(s);
	if (n >= INET6_ADDRSTRLEN)
		return -EINVAL;
	memcpy(buf, s, n);
	buf[n] = 0;
	if (inet_pton(family, buf, addr) != 1)
		return -EINVAL;
	int max = family == AF_INET ? 32 : 128;
	if (!slash) {
		*len = (unsigned char)max;
		return 0;
	}
	char *end;
	long l = strtol(slash + 1, &end, 10);
	if (*end || end == slash + 1 || l < 0 || l > max)
		return -EINVAL;
	*len = (unsigned char)l;
	return 0;
}

/* `ip addr add` (`excl`: NLM_F_EXCL) or `ip addr replace` (NLM_F_REPLACE), `nodad` for IPv6. */
static int addr_put(int fd, int family, int index, const char *prefix, int nodad, uint16_t excl)
{
	unsigned char addr[16], len;
	int r = parse_prefix(prefix, family, addr, &len);
	if (r < 0)
		return r;
	struct ifaddrmsg a = {.ifa_family = (unsigned char)family, .ifa_prefixlen = len, .ifa_index = (unsigned)index};
	if (nodad)
		a.ifa_flags = IFA_F_NODAD;
	size_t n = family == AF_INET ? 4 : 16;
	struct nlmsg m;
	nl_init(&m, RTM_NEWADDR, NLM_F_CREATE | excl, &a, sizeof a);
	if (!nl_attr(&m, IFA_LOCAL, addr, n) || !nl_attr(&m, IFA_ADDRESS, addr, n))
		return -EMSGSIZE;
	/* IPv4's broadcast address (`brd +`), as dockerd's netlink library sets it for prefixes up
	 * to /30: `ip addr` in a container shows `brd`, and a broadcast to the subnet leaves by it. */
	if (family == AF_INET && len < 31) {
		unsigned char brd[4];
		for (int k = 0; k < 4; k++) {
			int bits = (int)len - 8 * k;
			unsigned char host = bits >= 8 ? 0 : bits <= 0 ? 0xff : (unsigned char)(0xff >> bits);
			brd[k] = addr[k] | host;
		}
		if (!nl_attr(&m, IFA_BROADCAST, brd, 4))
			return -EMSGSIZE;
	}
	return nl_talk(fd, &m);
}

static int addr_add(int fd, int family, int index, const char *prefix, int nodad)
{
	return addr_put(fd, family, index, prefix, nodad, NLM_F_EXCL);
}

/* The default route via `gateway` (`ip route add default via G`: table main, protocol boot). */
static int route_default(int fd, int family, const char *gateway)
{
	unsigned char gw[16], len;
	int r = parse_prefix(gateway, family, gw, &len);
	if (r < 0)
		return r;
	struct rtmsg rt = {.rtm_family = (unsigned char)family, .rtm_table = RT_TABLE_MAIN, .rtm_protocol = RTPROT_BOOT,
			   .rtm_scope = RT_SCOPE_UNIVERSE, .rtm_type = RTN_UNICAST};
	struct nlmsg m;
	nl_init(&m, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, &rt, sizeof rt);
	if (!nl_attr(&m, RTA_GATEWAY, gw, family == AF_INET ? 4 : 16))
		return -EMSGSIZE;
	return nl_talk(fd, &m);
}

static int parse_mac(const char *s, unsigned char mac[6])
{
	unsigned v[6];
	char tail;
	if (sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &tail) != 6)
		return -EINVAL;
	for (int k = 0; k < 6; k++)
		mac[k] = (unsigned char)v[k];
	return 0;
}

/* Comes back to the launcher's own namespace; a launcher that cannot would start programs in a
 * container's, so it ends instead (berthd starts another). */
static void leave_netns(void)
{
	if (setns(home_netns, CLONE_NEWNET) < 0) {
		perror("berth-launcher: back to its network namespace");
		_exit(1);
	}
}

/* The plug's steps in the namespace, through a netlink socket opened there. */
static enum link_step plug_inside(int fd, const char *peer, const char *addr4, const char *gw4, const char *addr6,
				  const char *gw6, int quiet, int *err)
{
	int index = (int)if_nametoindex(peer);
	int lo = (int)if_nametoindex("lo");
	if (!index || !lo) {
		*err = -errno;
		return LINK_PEER;
	}
	if (*addr4 && (*err = addr_add(fd, AF_INET, index, addr4, 0)) < 0)
		return LINK_ADDR4;
	if (*addr6 && (*err = addr_add(fd, AF_INET6, index, addr6, 1)) < 0)
		return LINK_ADDR6;
	if (quiet && (*err = link_addrgenmode_none(fd, index)) < 0)
		return LINK_PEER_ADDRGENMODE;
	if ((*err = link_up(fd, index)) < 0)
		return LINK_PEER_UP;
	if ((*err = link_up(fd, lo)) < 0)
		return LINK_LO_UP;
	if (*gw4 && (*err = route_default(fd, AF_INET, gw4)) < 0)
		return LINK_ROUTE4;
	if (*addr6 && *gw6 && (*err = route_default(fd, AF_INET6, gw6)) < 0)
		return LINK_ROUTE6;
	return LINK_OK;
}

/*
 * LINK: u32 flags (1 quiet: no IPv6 link-local addresses; 2 isolated bridge port), then the
 * strings netns path, host end, bridge, peer name, peer MAC, IPv4 address/len, IPv4 gateway,
 * IPv6 address/len, IPv6 gateway, MTU (decimal); "" for an absent one. Answers DONE with i32
 * 0 or -errno and i32 the step (enum link_step).
 */
static void do_link(uint32_t id, const unsigned char *p, size_t n)
{
	const char *s[10];
	unsigned char mac[6];
	int err = -EINVAL, netns = -1, sock = -1;
	enum link_step step = LINK_ARGS;
	if (n < 4 || !strings(p + 4, n - 4, s, 10) || parse_mac(s[4], mac) < 0)
		goto out;
	uint32_t flags = get32(p);
	int quiet = flags & 1, isolated = flags & 2;
	char *end;
	unsigned long mtu = strtoul(s[9], &end, 10);
	if (*end || !*s[9] || mtu > 65535)
		goto out;
	step = LINK_NETNS;
	if ((netns = open(s[0], O_RDONLY | O_CLOEXEC)) < 0) {
		err = -errno;
		goto out;
	}
	step = LINK_BRIDGE;
	int bridge = (int)if_nametoindex(s[2]);
	if (!bridge) {
		err = -errno;
		goto out;
	}
	step = LINK_CREATE;
	if ((err = nl_socket()) < 0)
		goto out;
	sock = err;
	if ((err = veth_create(sock, s[1], bridge, (uint32_t)mtu, !quiet, s[3], mac, netns)) < 0)
		goto out;
	int host = (int)if_nametoindex(s[1]);
	if (!host) {
		err = -errno;
		goto out;
	}
	if (quiet) {
		step = LINK_HOST_ADDRGENMODE;
		if ((err = link_addrgenmode_none(sock, host)) < 0)
			goto out;
		step = LINK_HOST_UP;
		if ((err = link_up(sock, host)) < 0)
			goto out;
	}
	if (isolated) {
		step = LINK_ISOLATED;
		if ((err = link_isolated(sock, host)) < 0)
			goto out;
	}
	close(sock);
	step = LINK_ENTER;
	if (setns(netns, CLONE_NEWNET) < 0) {
		sock = -1;
		err = -errno;
		goto out;
	}
	/* A socket opened here talks to this namespace for its whole life; so do the lookups by name. */
	sock = nl_socket();
	if (sock < 0) {
		err = sock;
		leave_netns();
		goto out;
	}
	step = plug_inside(sock, s[3], s[5], s[6], s[7], s[8], quiet, &err);
	leave_netns();
	if (step == LINK_OK)
		err = 0;
out:
	if (sock >= 0)
		close(sock);
	if (netns >= 0)
		close(netns);
	unsigned char answer[8];
	put32(answer, (uint32_t)err);
	put32(answer + 4, (uint32_t)step);
	reply(RES_DONE, id, answer, sizeof answer, NULL, 0);
}

/* UNLINK: u32 flags (none yet), then the link's name, in the launcher's namespace. Answers DONE, 0 or -errno. */
static void do_unlink(uint32_t id, const unsigned char *p, size_t n)
{
	const char *name;
	if (n < 4 || !strings(p + 4, n - 4, &name, 1) || strlen(name) >= IFNAMSIZ) {
		reply_i32(RES_DONE, id, -EINVAL);
		return;
	}
	int sock = nl_socket();
	if (sock < 0) {
		reply_i32(RES_DONE, id, sock);
		return;
	}
	struct ifinfomsg i = {.ifi_family = AF_UNSPEC};
	struct nlmsg m;
	nl_init(&m, RTM_DELLINK, 0, &i, sizeof i);
	int r = nl_str(&m, IFLA_IFNAME, name) < 0 ? -EMSGSIZE : nl_talk(sock, &m);
	close(sock);
	reply_i32(RES_DONE, id, r);
}

/*
 * BRPORT: u32 flags (1 isolated on; nothing else yet), then the bridge port's name, in the
 * launcher's namespace: `ip link set dev X type bridge_slave isolated on`. Answers DONE, 0 or
 * -errno (ENODEV: no such link; EOPNOTSUPP: not a bridge port).
 */
static void do_brport(uint32_t id, const unsigned char *p, size_t n)
{
	const char *name;
	if (n < 4 || !strings(p + 4, n - 4, &name, 1) || strlen(name) >= IFNAMSIZ || (get32(p) & ~1u)) {
		reply_i32(RES_DONE, id, -EINVAL);
		return;
	}
	int index = (int)if_nametoindex(name);
	if (!index) {
		reply_i32(RES_DONE, id, -errno);
		return;
	}
	int sock = nl_socket();
	if (sock < 0) {
		reply_i32(RES_DONE, id, sock);
		return;
	}
	int r = (get32(p) & 1) ? link_isolated(sock, index) : 0;
	close(sock);
	reply_i32(RES_DONE, id, r);
}
