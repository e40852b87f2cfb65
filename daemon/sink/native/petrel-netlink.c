/*
 * petrel-netlink: the kernel sink's netlink pipe (daemon/sink/netlink.ts starts it).
 *
 * Node cannot open AF_NETLINK sockets, and feeding `ip -batch` costs a text round trip, a parse
 * and one sendmsg plus one ACK per route. This program does only the part Node cannot: it writes
 * rtnetlink messages that Node has already encoded (daemon/sink/rtnetlink.ts) to a NETLINK_ROUTE
 * socket, many per sendmsg, and reports back which ones the kernel refused.
 *
 * It runs in the network namespace it is started in (e.g. under `ip netns exec NS`), as
 * `petrel-netlink [PARENT_PID]`, and dies with its parent: messages still queued in the pipe when
 * the daemon goes must not reach the kernel after it (a restarted daemon would see its fresh
 * routes deleted by the old one's queued removals).
 *
 * Input (stdin), frames of: u32 kind, u32 id, u32 len, then len bytes (host byte order).
 *   kind 1: len bytes of complete netlink messages (each with its own nlmsg_seq); id names the chunk.
 *   kind 2: an interface name (len bytes, no NUL) to resolve to its ifindex; id is echoed.
 *   kind 3: one dump request message (e.g. RTM_GETROUTE with NLM_F_DUMP); id names it. The
 *           answers are passed on, except those whose rtmsg protocol differs from the request's
 *           when the request names one (a dump of our own routes need not copy every other one).
 *   kind 4: an interface index (u32) to resolve to its name; id is echoed.
 * Output (stdout), records of: u32 kind, i32 id, i32 value, u32 len, then len bytes of text.
 *   kind 0: ready (written once at start, after the socket is set up).
 *   kind 1: a message failed: id = its nlmsg_seq, value = errno, text = strerror(errno), a newline,
 *           and the kernel's extended-ACK message (empty when it gave none).
 *   kind 2: chunk `id` is done: value 0 when every message got its answer, otherwise an errno
 *           (e.g. ENOBUFS: some answers were lost), and then messages without an error record are
 *           of unknown fate.
 *   kind 3: answer to a name lookup: value = ifindex, 0 when there is no such interface.
 *   kind 4: fatal start-up error: value = errno, text says what; the program then exits 1.
 *   kind 5: a message of a dump's answer: text = the netlink message (then kind 2 ends the dump).
 *   kind 6: answer to an index lookup: text = the interface name, value = 0 (ENODEV when none).
 *
 * Why an ACK only on the last message of each sendmsg: the kernel answers every failed message
 * whether or not it asked for an ACK (netlink_rcv_skb acks when NLM_F_ACK is set *or* the handler
 * failed), and it processes a NETLINK_ROUTE sendmsg synchronously and in order. So the ACK of the
 * last message arrives after the error of every message before it, and it is the only answer a
 * batch of successful messages costs.
 */
#include <errno.h>
#include <net/if.h>
#include <signal.h>
#include <sys/prctl.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#ifndef NETLINK_CAP_ACK
#define NETLINK_CAP_ACK 10
#endif
#ifndef NETLINK_EXT_ACK
#define NETLINK_EXT_ACK 11
#endif
#ifndef NLM_F_CAPPED
#define NLM_F_CAPPED 0x100
#endif
#ifndef NLM_F_ACK_TLVS
#define NLM_F_ACK_TLVS 0x200
#endif
#ifndef NLMSGERR_ATTR_MSG
#define NLMSGERR_ATTR_MSG 1
#endif

enum { IN_MESSAGES = 1, IN_IFNAME = 2, IN_DUMP = 3, IN_IFINDEX = 4 };
enum { OUT_READY = 0, OUT_FAILED = 1, OUT_DONE = 2, OUT_IFINDEX = 3, OUT_FATAL = 4, OUT_MESSAGE = 5, OUT_IFNAME = 6 };

/* Largest input frame accepted (a chunk of a few thousand routes is ~200 KB). */
#define MAX_FRAME (64u << 20)
/* Bytes per sendmsg: the send buffer below must hold it. */
#define MAX_SEND (1u << 20)
/* Socket buffers, forced past the sysctl limits (we hold CAP_NET_ADMIN anyway). */
#define SOCK_BUF (16 << 20)

static int nl = -1;
/* Messages per sendmsg, so that their answers (should all fail) fit the receive buffer. */
static size_t max_msgs = 256;
/* Bytes per sendmsg: at most MAX_SEND, and what the send buffer takes (netlink refuses more). */
static size_t max_send = 64 << 10;

static unsigned char outbuf[1 << 16];
static size_t outlen;

static void flush_out(void)
{
	size_t off = 0;
	while (off < outlen) {
		ssize_t n = write(STDOUT_FILENO, outbuf + off, outlen - off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			exit(2); /* Node went away. */
		}
		off += (size_t)n;
	}
	outlen = 0;
}

static void put_record(uint32_t kind, int32_t id, int32_t value, const char *text, uint32_t len)
{
	uint32_t head[4] = { kind, (uint32_t)id, (uint32_t)value, len };
	if (len > 8192)
		len = head[3] = 8192;
	if (outlen + sizeof head + len > sizeof outbuf)
		flush_out();
	memcpy(outbuf + outlen, head, sizeof head);
	outlen += sizeof head;
	memcpy(outbuf + outlen, text, len);
	outlen += len;
}

static void fatal(const char *what)
{
	int e = errno;
	char text[256];
	snprintf(text, sizeof text, "%s: %s", what, strerror(e));
	put_record(OUT_FATAL, 0, e, text, (uint32_t)strlen(text));
	flush_out();
	exit(1);
}

/* Reads exactly len bytes; 0 at a clean EOF before the first byte, -1 otherwise on EOF/error. */
static int read_full(void *buf, size_t len)
{
	size_t off = 0;
	while (off < len) {
		ssize_t n = read(STDIN_FILENO, (char *)buf + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return off == 0 && n == 0 ? 0 : -1;
		off += (size_t)n;
	}
	return 1;
}

/* The text of the extended ACK attached to an error answer, if any. */
static void ext_ack_text(const struct nlmsghdr *h, const char **text, uint32_t *len)
{
	*text = "";
	*len = 0;
	if (!(h->nlmsg_flags & NLM_F_ACK_TLVS))
		return;
	const struct nlmsgerr *e = NLMSG_DATA(h);
	size_t off = sizeof *e;
	if (!(h->nlmsg_flags & NLM_F_CAPPED))
		off += e->msg.nlmsg_len - sizeof e->msg; /* the whole request was echoed */
	const unsigned char *p = (const unsigned char *)NLMSG_DATA(h) + NLMSG_ALIGN(off);
	const unsigned char *end = (const unsigned char *)h + h->nlmsg_len;
	while (p + sizeof(struct nlattr) <= end) {
		const struct nlattr *a = (const struct nlattr *)p;
		if (a->nla_len < sizeof *a || p + a->nla_len > end)
			return;
		if ((a->nla_type & NLA_TYPE_MASK) == NLMSGERR_ATTR_MSG) {
			*text = (const char *)(a + 1);
			*len = (uint32_t)strnlen(*text, a->nla_len - sizeof *a);
			return;
		}
		p += NLA_ALIGN(a->nla_len);
	}
}

/* Sends buf[0, len) to the kernel in one sendmsg; 0 or the errno. */
static int send_to_kernel(void *buf, size_t len)
{
	struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
	struct iovec iov = { buf, len };
	struct msghdr m = { .msg_name = &kernel, .msg_namelen = sizeof kernel, .msg_iov = &iov, .msg_iovlen = 1 };
	ssize_t sent;
	do
		sent = sendmsg(nl, &m, 0);
	while (sent < 0 && errno == EINTR);
	return sent < 0 ? errno : 0;
}

/*
 * Sends msgs[0, len) (whole messages) in one sendmsg with an ACK on the last, then reads answers
 * until that message's own answer. Returns 0, or an errno when answers may have been lost.
 */
static int send_piece(unsigned char *msgs, size_t len, struct nlmsghdr *last)
{
	static unsigned char rbuf[1 << 16];
	last->nlmsg_flags |= NLM_F_ACK;
	uint32_t want = last->nlmsg_seq;
	int err = send_to_kernel(msgs, len);
	if (err)
		return err;
	int lost = 0;
	for (;;) {
		/* After an overflow the ACK may be gone too: only drain what is queued. */
		ssize_t n = recv(nl, rbuf, sizeof rbuf, lost ? MSG_DONTWAIT : 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == ENOBUFS) {
				lost = ENOBUFS;
				continue;
			}
			return lost ? lost : errno;
		}
		for (struct nlmsghdr *h = (struct nlmsghdr *)rbuf; NLMSG_OK(h, (size_t)n); h = NLMSG_NEXT(h, n)) {
			if (h->nlmsg_type != NLMSG_ERROR)
				continue;
			const struct nlmsgerr *e = NLMSG_DATA(h);
			if (e->error != 0) {
				const char *text;
				uint32_t tlen;
				char both[600];
				ext_ack_text(h, &text, &tlen);
				int n2 = snprintf(both, sizeof both, "%s\n%.*s", strerror(-e->error), (int)(tlen > 512 ? 512 : tlen), text);
				put_record(OUT_FAILED, (int32_t)h->nlmsg_seq, -e->error, both, (uint32_t)(n2 < (int)sizeof both ? n2 : (int)sizeof both - 1));
			}
			if (h->nlmsg_seq == want && !lost)
				return 0;
		}
	}
}

/*
 * Sends one dump request and passes its answers on (kind 5) until the kernel's NLMSG_DONE.
 * Returns 0, or an errno (the kernel's, or ENOBUFS / EIO when the answer could not be read whole).
 */
static int dump(unsigned char *req, size_t len)
{
	static unsigned char rbuf[1 << 16];
	struct nlmsghdr *h = (struct nlmsghdr *)req;
	if (len < NLMSG_LENGTH(sizeof(struct rtmsg)) || h->nlmsg_len != len)
		return EINVAL;
	const struct rtmsg *want = NLMSG_DATA(h);
	int err = send_to_kernel(req, len);
	if (err)
		return err;
	for (;;) {
		ssize_t n = recv(nl, rbuf, sizeof rbuf, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return errno;
		}
		if (n == 0)
			return EIO;
		for (struct nlmsghdr *a = (struct nlmsghdr *)rbuf; NLMSG_OK(a, (size_t)n); a = NLMSG_NEXT(a, n)) {
			if (a->nlmsg_seq != h->nlmsg_seq)
				continue; /* a late answer to something else */
			if (a->nlmsg_type == NLMSG_DONE)
				return 0;
			if (a->nlmsg_type == NLMSG_ERROR) {
				const struct nlmsgerr *e = NLMSG_DATA(a);
				return e->error ? -e->error : 0;
			}
			if (a->nlmsg_len >= NLMSG_LENGTH(sizeof(struct rtmsg)) && want->rtm_protocol != 0 &&
			    ((const struct rtmsg *)NLMSG_DATA(a))->rtm_protocol != want->rtm_protocol)
				continue;
			if (a->nlmsg_len > 8192)
				return EMSGSIZE;
			put_record(OUT_MESSAGE, (int32_t)a->nlmsg_seq, 0, (const char *)a, a->nlmsg_len);
		}
	}
}

/* Sends a chunk of messages in pieces of at most max_send bytes and max_msgs messages. */
static int send_chunk(unsigned char *buf, size_t len)
{
	size_t start = 0, off = 0, count = 0;
	struct nlmsghdr *last = NULL;
	int err = 0;
	while (off < len) {
		struct nlmsghdr *h = (struct nlmsghdr *)(buf + off);
		if (len - off < sizeof *h || h->nlmsg_len < sizeof *h || h->nlmsg_len > len - off)
			return EINVAL; /* Node wrote a malformed chunk: nothing of the rest is sent */
		size_t step = NLMSG_ALIGN(h->nlmsg_len);
		if (step > len - off)
			step = len - off;
		if (count > 0 && (off + step - start > max_send || count == max_msgs)) {
			int e = send_piece(buf + start, off - start, last);
			if (e && !err)
				err = e;
			start = off;
			count = 0;
		}
		last = h;
		count++;
		off += step;
	}
	if (count > 0) {
		int e = send_piece(buf + start, off - start, last);
		if (e && !err)
			err = e;
	}
	return err;
}

static void open_socket(void)
{
	nl = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (nl < 0)
		fatal("socket(AF_NETLINK)");
	int size = SOCK_BUF, one = 1;
	/* The FORCE variants need CAP_NET_ADMIN; without it the sysctl-capped size will do. */
	if (setsockopt(nl, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof size) < 0)
		setsockopt(nl, SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
	if (setsockopt(nl, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size) < 0)
		setsockopt(nl, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
	/* Errors echo only the header of the failed request, and carry the kernel's reason text. */
	setsockopt(nl, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof one);
	setsockopt(nl, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof one);
	struct sockaddr_nl local = { .nl_family = AF_NETLINK };
	if (bind(nl, (struct sockaddr *)&local, sizeof local) < 0)
		fatal("bind(AF_NETLINK)");
	int snd = 0;
	socklen_t sl = sizeof snd;
	if (getsockopt(nl, SOL_SOCKET, SO_SNDBUF, &snd, &sl) == 0 && snd > 0)
		max_send = (size_t)snd / 2 < MAX_SEND ? (size_t)snd / 2 : MAX_SEND;
	int rcv = 0;
	sl = sizeof rcv;
	if (getsockopt(nl, SOL_SOCKET, SO_RCVBUF, &rcv, &sl) == 0 && rcv > 0) {
		/* An error answer costs about 1 KB of receive buffer (skb overhead included); keep a margin. */
		size_t fit = (size_t)rcv / 2048;
		max_msgs = fit < 16 ? 16 : fit > 8192 ? 8192 : fit;
	}
}

int main(int argc, char **argv)
{
	/* Killed when the parent goes; if it went before this line, the parent is no longer the one named. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (argc > 1 && getppid() != (pid_t)atol(argv[1]))
		return 5;
	open_socket();
	put_record(OUT_READY, 0, 0, "", 0);
	flush_out();
	unsigned char *buf = NULL;
	size_t cap = 0;
	for (;;) {
		uint32_t head[3];
		int r = read_full(head, sizeof head);
		if (r == 0)
			return 0; /* stdin closed: Node is done with us */
		if (r < 0 || head[2] > MAX_FRAME)
			return 3;
		if (head[2] + 1 > cap) {
			cap = head[2] + 1;
			free(buf);
			buf = malloc(cap);
			if (!buf)
				return 4;
		}
		if (head[2] > 0 && read_full(buf, head[2]) != 1)
			return 3;
		if (head[0] == IN_MESSAGES) {
			int err = send_chunk(buf, head[2]);
			const char *text = err ? strerror(err) : "";
			put_record(OUT_DONE, (int32_t)head[1], err, text, (uint32_t)strlen(text));
		} else if (head[0] == IN_DUMP) {
			int err = dump(buf, head[2]);
			const char *text = err ? strerror(err) : "";
			put_record(OUT_DONE, (int32_t)head[1], err, text, (uint32_t)strlen(text));
		} else if (head[0] == IN_IFINDEX) {
			char name[IF_NAMESIZE] = "";
			uint32_t index = 0;
			if (head[2] == sizeof index)
				memcpy(&index, buf, sizeof index);
			int found = index != 0 && if_indextoname(index, name) != NULL;
			put_record(OUT_IFNAME, (int32_t)head[1], found ? 0 : ENODEV, name, found ? (uint32_t)strlen(name) : 0);
		} else if (head[0] == IN_IFNAME) {
			buf[head[2]] = '\0';
			put_record(OUT_IFINDEX, (int32_t)head[1], (int32_t)if_nametoindex((char *)buf), "", 0);
		}
		flush_out();
	}
}
