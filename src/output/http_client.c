// SPDX-License-Identifier: MIT
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <nss.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <sys/socket.h>

#include "cli.h"
#include "http_client.h"

/* The whole response is read into one buffer: head, body, and chunk framing around it. */
#define RESPONSE_BUF_MAX (HTTP_HEAD_MAX + 2 * HTTP_BODY_MAX)

struct http_client {
	const struct otlp_url *target;
	struct tls_ctx *tls;
	int fd;
	struct tls_conn *conn; /* TLS only */
	char host_header[300];
	char *buf; /* the response */
	size_t len;
};

/* -- response parsing ------------------------------------------------------------------------ */

/* The next line of buf[*at..len): its start and length without CR LF; false when incomplete. */
static bool next_line(const char *buf, size_t len, size_t *at, const char **line, size_t *n)
{
	const char *nl = memchr(buf + *at, '\n', len - *at);

	if (!nl)
		return false;
	*line = buf + *at;
	*n = (size_t)(nl - *line);
	if (*n && (*line)[*n - 1] == '\r')
		(*n)--;
	*at = (size_t)(nl - buf) + 1;
	return true;
}

static void trim(const char **s, size_t *n)
{
	while (*n && (**s == ' ' || **s == '\t')) {
		(*s)++;
		(*n)--;
	}
	while (*n && ((*s)[*n - 1] == ' ' || (*s)[*n - 1] == '\t'))
		(*n)--;
}

/* Whether the comma-separated list v[0..n) holds token (case-insensitive). */
static bool list_has(const char *v, size_t n, const char *token)
{
	size_t tlen = strlen(token);

	while (n) {
		const char *comma = memchr(v, ',', n);
		size_t item = comma ? (size_t)(comma - v) : n;
		const char *t = v;
		size_t tn = item;

		trim(&t, &tn);
		if (tn == tlen && !strncasecmp(t, token, tlen))
			return true;
		if (!comma)
			break;
		n -= item + 1;
		v = comma + 1;
	}
	return false;
}

static void copy_value(char *dst, size_t cap, const char *v, size_t n)
{
	if (n >= cap)
		n = cap - 1;
	memcpy(dst, v, n);
	dst[n] = '\0';
}

struct head {
	int status;
	int minor;		/* HTTP/1.minor */
	int64_t content_length; /* -1: none */
	bool chunked, close, keep_alive;
};

static int parse_status_line(const char *line, size_t n, struct head *h)
{
	if (n < 12 || strncmp(line, "HTTP/1.", 7) || !isdigit((unsigned char)line[7]) ||
	    line[8] != ' ' || !isdigit((unsigned char)line[9]) ||
	    !isdigit((unsigned char)line[10]) || !isdigit((unsigned char)line[11]) ||
	    (n > 12 && line[12] != ' '))
		return -EINVAL;
	h->minor = line[7] - '0';
	h->status = (line[9] - '0') * 100 + (line[10] - '0') * 10 + (line[11] - '0');
	return h->status >= 100 ? 0 : -EINVAL;
}

static int parse_content_length(const char *v, size_t n, struct head *h)
{
	int64_t cl = 0;

	if (!n || n > 15)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		if (!isdigit((unsigned char)v[i]))
			return -EINVAL;
		cl = cl * 10 + (v[i] - '0');
	}
	if (h->content_length >= 0 && h->content_length != cl)
		return -EINVAL; /* two different lengths: a smuggling attempt or a broken server */
	h->content_length = cl;
	return 0;
}

static int parse_header(const char *line, size_t n, struct head *h, struct http_response *r)
{
	const char *colon = memchr(line, ':', n), *v;
	size_t name_len, vn;

	if (!colon || colon == line)
		return -EINVAL;
	name_len = (size_t)(colon - line);
	v = colon + 1;
	vn = n - name_len - 1;
	trim(&v, &vn);
#define IS(name) (name_len == sizeof(name) - 1 && !strncasecmp(line, name, name_len))
	if (IS("Content-Length"))
		return parse_content_length(v, vn, h);
	if (IS("Transfer-Encoding")) {
		h->chunked = list_has(v, vn, "chunked");
	} else if (IS("Connection")) {
		h->close |= list_has(v, vn, "close");
		h->keep_alive |= list_has(v, vn, "keep-alive");
	} else if (IS("Retry-After")) {
		copy_value(r->retry_after, sizeof(r->retry_after), v, vn);
	} else if (IS("Content-Type")) {
		copy_value(r->content_type, sizeof(r->content_type), v, vn);
	}
#undef IS
	return 0;
}

/* Parses one head at buf[*at..len); *at moves past it. -EAGAIN when incomplete. */
static int parse_head(const char *buf, size_t len, size_t *at, struct head *h,
		      struct http_response *r)
{
	const char *line;
	size_t n, start = *at;
	int err;

	*h = (struct head){ .content_length = -1 };
	r->retry_after[0] = r->content_type[0] = '\0';
	if (!next_line(buf, len, at, &line, &n))
		return len - start > HTTP_HEAD_MAX ? -E2BIG : -EAGAIN;
	err = parse_status_line(line, n, h);
	if (err)
		return err;
	for (;;) {
		if (*at - start > HTTP_HEAD_MAX)
			return -E2BIG;
		if (!next_line(buf, len, at, &line, &n))
			return len - start > HTTP_HEAD_MAX ? -E2BIG : -EAGAIN;
		if (!n)
			return 0;
		err = parse_header(line, n, h, r);
		if (err)
			return err;
	}
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (char)tolower((unsigned char)c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* A chunk-size line's size (extensions ignored); -1 when malformed. */
static int64_t chunk_size(const char *line, size_t n)
{
	int64_t size = 0;
	size_t i = 0;

	for (; i < n && hex_digit(line[i]) >= 0; i++) {
		if (i == 12)
			return -1;
		size = size * 16 + hex_digit(line[i]);
	}
	if (i == 0 || (i < n && line[i] != ';' && line[i] != ' ' && line[i] != '\t'))
		return -1;
	return size;
}

/*
 * Decodes the chunked body at buf[at..len) in place into buf[at..): returns
 * 0 when complete, -EAGAIN when more is needed, -EINVAL when malformed.
 * *out_len gets the data decoded so far, either way.
 */
static int dechunk(char *buf, size_t len, size_t at, size_t *out_len)
{
	size_t in = at, out = at;

	for (;;) {
		const char *line;
		size_t n;
		int64_t size;

		*out_len = out - at;
		if (!next_line(buf, len, &in, &line, &n))
			return -EAGAIN;
		size = chunk_size(line, n);
		if (size < 0)
			return -EINVAL;
		if (size == 0) {
			/* trailers, up to an empty line */
			while (next_line(buf, len, &in, &line, &n))
				if (!n)
					return 0;
			return -EAGAIN;
		}
		if ((uint64_t)size > len - in) {
			memmove(buf + out, buf + in, len - in);
			*out_len = out - at + (len - in);
			return -EAGAIN;
		}
		memmove(buf + out, buf + in, (size_t)size);
		out += (size_t)size;
		in += (size_t)size;
		if (!next_line(buf, len, &in, &line, &n)) {
			*out_len = out - at;
			return -EAGAIN;
		}
		if (n)
			return -EINVAL; /* chunk data longer than its size */
	}
}

int http_response__parse(char *buf, size_t len, bool eof, struct http_response *r)
{
	struct head h;
	size_t at = 0, avail;
	int err;

	memset(r, 0, sizeof(*r));
	do {
		err = parse_head(buf, len, &at, &h, r);
		if (err == -EAGAIN && eof)
			return -EINVAL; /* the connection ended inside the head */
		if (err)
			return err;
	} while (h.status < 200 && h.status != 101); /* interim responses come first */
	r->status = h.status;
	r->keep_alive = !h.close && (h.minor >= 1 || h.keep_alive);
	r->body = buf + at;
	avail = len - at;
	if (h.status == 204 || h.status == 304 || h.status == 101)
		return 0;
	if (h.chunked) {
		err = dechunk(buf, len, at, &r->body_len);
		if (err == -EAGAIN && eof) {
			r->body_truncated = true;
			r->keep_alive = false;
			return 0;
		}
		return err;
	}
	if (h.content_length >= 0) {
		r->body_len = (uint64_t)h.content_length < avail ? (size_t)h.content_length : avail;
		if ((uint64_t)h.content_length <= avail)
			return 0;
		if (!eof)
			return -EAGAIN;
		r->body_truncated = true;
		r->keep_alive = false;
		return 0;
	}
	/* no length: the body ends with the connection */
	r->keep_alive = false;
	r->body_len = avail;
	return eof ? 0 : -EAGAIN;
}

int64_t http__retry_after_ms(const char *v, time_t now)
{
	struct tm tm = { 0 };
	int64_t secs = 0;
	const char *end;
	time_t when;

	if (!v || !*v)
		return -1;
	if (isdigit((unsigned char)*v)) {
		for (const char *p = v; *p; p++) {
			if (!isdigit((unsigned char)*p) || secs > 1000000000)
				return -1;
			secs = secs * 10 + (*p - '0');
		}
		return secs * 1000;
	}
	/* IMF-fixdate, "Sun, 06 Nov 1994 08:49:37 GMT", the only form senders may use */
	end = strptime(v, "%a, %d %b %Y %H:%M:%S GMT", &tm);
	if (!end || *end)
		return -1;
	when = timegm(&tm);
	if (when == (time_t)-1)
		return -1;
	return when <= now ? 0 : (int64_t)(when - now) * 1000;
}

/* -- connection ------------------------------------------------------------------------------ */

/*
 * Host names are looked up in /etc/hosts, then through the resolv.conf
 * servers, whatever nsswitch.conf says: glibc (>= 2.34) has those two built
 * in, while any other NSS module would be loaded from the host, built for
 * another glibc than the one linked into this static binary.
 */
static void use_builtin_name_lookup(void)
{
	static bool done;

	if (!done)
		__nss_configure_lookup("hosts", "files dns");
	done = true;
}

int http_client__new(const struct otlp_url *target, struct tls_ctx *tls, struct http_client **out)
{
	struct http_client *c = calloc(1, sizeof(*c));
	bool ipv6 = strchr(target->host, ':') != NULL;
	bool default_port = !strcmp(target->port, target->tls ? "443" : "80");

	if (!c)
		return -ENOMEM;
	use_builtin_name_lookup();
	c->buf = malloc(RESPONSE_BUF_MAX);
	if (!c->buf) {
		free(c);
		return -ENOMEM;
	}
	c->target = target;
	c->tls = tls;
	c->fd = -1;
	snprintf(c->host_header, sizeof(c->host_header), "%s%s%s%s%s", ipv6 ? "[" : "",
		 target->host, ipv6 ? "]" : "", default_port ? "" : ":",
		 default_port ? "" : target->port);
	*out = c;
	return 0;
}

void http_client__close(struct http_client *c)
{
	tls_conn__free(c->conn);
	c->conn = NULL;
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

void http_client__free(struct http_client *c)
{
	if (!c)
		return;
	http_client__close(c);
	free(c->buf);
	free(c);
}

/* Connects to one address without blocking past the deadline. */
static int connect_addr(const struct addrinfo *ai, uint64_t deadline_ns)
{
	int fd =
	    socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
	int one = 1, soerr = 0, err;
	socklen_t sl = sizeof(soerr);

	if (fd < 0)
		return -errno;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) && errno != EINPROGRESS) {
		err = -errno;
		close(fd);
		return err;
	}
	err = tls__wait(fd, POLLOUT, deadline_ns);
	if (!err && getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl))
		err = -errno;
	if (!err && soerr)
		err = -soerr;
	if (err) {
		close(fd);
		return err;
	}
	return fd;
}

static int open_connection(struct http_client *c, uint64_t deadline_ns, char *err, size_t errlen)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC,
				  .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_ADDRCONFIG | AI_NUMERICSERV };
	struct addrinfo *ais = NULL;
	int ret, fd = -ECONNREFUSED;

	ret = getaddrinfo(c->target->host, c->target->port, &hints, &ais);
	if (ret) {
		snprintf(err, errlen, "cannot resolve %s: %s", c->target->host,
			 ret == EAI_SYSTEM ? strerror(errno) : gai_strerror(ret));
		return -EHOSTUNREACH;
	}
	for (const struct addrinfo *ai = ais; ai; ai = ai->ai_next) {
		fd = connect_addr(ai, deadline_ns);
		if (fd >= 0 || fd == -ETIMEDOUT)
			break;
	}
	freeaddrinfo(ais);
	if (fd < 0) {
		snprintf(err, errlen, "cannot connect to %s port %s: %s", c->target->host,
			 c->target->port, strerror(-fd));
		return fd;
	}
	c->fd = fd;
	if (c->tls) {
		ret =
		    tls_conn__new(c->tls, fd, c->target->host, deadline_ns, &c->conn, err, errlen);
		if (ret) {
			http_client__close(c);
			return ret;
		}
	}
	return 0;
}

static int write_plain(int fd, struct iovec *iov, int n, uint64_t deadline_ns)
{
	while (n) {
		ssize_t w = writev(fd, iov, n > IOV_MAX ? IOV_MAX : n);
		int err;

		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN)
				return -errno;
			err = tls__wait(fd, POLLOUT, deadline_ns);
			if (err)
				return err;
			continue;
		}
		while (n && (size_t)w >= iov->iov_len) {
			w -= (ssize_t)iov->iov_len;
			iov++;
			n--;
		}
		if (n) {
			iov->iov_base = (char *)iov->iov_base + w;
			iov->iov_len -= (size_t)w;
		}
	}
	return 0;
}

static int write_all(struct http_client *c, struct iovec *iov, int n, uint64_t deadline_ns)
{
	if (!c->conn)
		return write_plain(c->fd, iov, n, deadline_ns);
	for (int i = 0; i < n; i++) {
		int err = tls_conn__write(c->conn, iov[i].iov_base, iov[i].iov_len, deadline_ns);

		if (err)
			return err;
	}
	return 0;
}

static ssize_t read_some(struct http_client *c, void *buf, size_t len, uint64_t deadline_ns)
{
	for (;;) {
		ssize_t n;
		int err;

		if (c->conn)
			return tls_conn__read(c->conn, buf, len, deadline_ns);
		n = read(c->fd, buf, len);
		if (n >= 0)
			return n;
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN)
			return -errno;
		err = tls__wait(c->fd, POLLIN, deadline_ns);
		if (err)
			return err;
	}
}

/* Formats the request line and headers into head. */
static int format_head(const struct http_client *c, const struct http_request *req, size_t body_len,
		       char *head, size_t cap)
{
	int n = snprintf(head, cap,
			 "POST %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: otrace/" OTRACE_VERSION
			 "\r\nContent-Type: %s\r\nContent-Length: %zu\r\n%s%s%s",
			 c->target->path, c->host_header, req->content_type, body_len,
			 req->content_encoding ? "Content-Encoding: " : "",
			 req->content_encoding ?: "", req->content_encoding ? "\r\n" : "");

	for (size_t i = 0; req->headers && i < req->headers->n && n > 0 && (size_t)n < cap; i++)
		n += snprintf(head + n, cap - (size_t)n, "%s: %s\r\n", req->headers->items[i].key,
			      req->headers->items[i].value);
	if (n > 0 && (size_t)n < cap)
		n += snprintf(head + n, cap - (size_t)n, "\r\n");
	return n > 0 && (size_t)n < cap ? n : -E2BIG;
}

/* Reads until the response is complete. *got: whether any byte arrived. */
static int read_response(struct http_client *c, uint64_t deadline_ns, struct http_response *resp,
			 bool *got, char *err, size_t errlen)
{
	int ret = -EAGAIN;

	c->len = 0;
	while (ret == -EAGAIN) {
		ssize_t n =
		    c->len < RESPONSE_BUF_MAX
			? read_some(c, c->buf + c->len, RESPONSE_BUF_MAX - c->len, deadline_ns)
			: 0; /* full: take what is there */

		if (n < 0) {
			snprintf(err, errlen, "reading the response: %s", strerror((int)-n));
			return (int)n;
		}
		*got |= n > 0;
		c->len += (size_t)n;
		ret = http_response__parse(c->buf, c->len, n == 0, resp);
		if (n == 0 && c->len == 0) {
			snprintf(err, errlen, "connection closed without a response");
			return -ECONNRESET;
		}
	}
	if (ret)
		snprintf(err, errlen, "malformed HTTP response");
	return ret ? -EPROTO : 0;
}

static int exchange(struct http_client *c, const struct http_request *req, uint64_t deadline_ns,
		    struct http_response *resp, bool *got, char *err, size_t errlen)
{
	struct iovec iov[1 + 64];
	size_t body_len = 0;
	char head[8192];
	int n, ret;

	if (req->nbody > 64)
		return -E2BIG;
	for (size_t i = 0; i < req->nbody; i++) {
		iov[1 + i] = req->body[i];
		body_len += req->body[i].iov_len;
	}
	n = format_head(c, req, body_len, head, sizeof(head));
	if (n < 0) {
		snprintf(err, errlen, "request headers too long");
		return n;
	}
	iov[0] = (struct iovec){ head, (size_t)n };
	ret = write_all(c, iov, 1 + (int)req->nbody, deadline_ns);
	if (ret) {
		snprintf(err, errlen, "sending the request: %s", strerror(-ret));
		return ret;
	}
	return read_response(c, deadline_ns, resp, got, err, errlen);
}

int http_client__post(struct http_client *c, const struct http_request *req, uint64_t deadline_ns,
		      struct http_response *resp, char *err, size_t errlen)
{
	for (int attempt = 0;; attempt++) {
		bool reused = c->fd >= 0, got = false;
		int ret;

		if (!reused) {
			ret = open_connection(c, deadline_ns, err, errlen);
			if (ret)
				return ret;
		}
		ret = exchange(c, req, deadline_ns, resp, &got, err, errlen);
		if (!ret && !resp->keep_alive)
			http_client__close(c);
		if (!ret)
			return 0;
		http_client__close(c);
		if (!reused || got || attempt || ret == -ETIMEDOUT)
			return ret;
	}
}
