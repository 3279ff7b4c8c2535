// SPDX-License-Identifier: MIT
/*
 * worker.c - the load threads of wrk2hdr.
 *
 * Each thread owns some connections and runs one epoll loop. Connection j
 * (of c, at total rate R) sends its request i at the *intended* time
 *
 *	t0 + j / R + i * c / R
 *
 * so that together the connections form one evenly spaced stream at R.
 * A connection has at most one request outstanding; if it is still busy
 * when the next one is due, that request simply goes out late. Latency is
 * taken from the intended time, so a server stall is charged to every
 * request that should have been sent during it (no coordinated omission).
 * The naive latency from the actual send time is kept alongside.
 *
 * With --closed-loop there is no schedule: a connection sends its next
 * request as soon as the previous response is in, and the latency is taken
 * from the actual send time. That measures saturation throughput, nothing
 * about latency under a given load.
 *
 * Timing comes from a timerfd armed at the next due time, because
 * epoll_wait()'s millisecond timeout would add up to 1 ms of schedule
 * jitter to every measurement.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <math.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "http_resp.h"
#include "loadgen.h"

#define RECONNECT_DELAY_NS	(10 * NSEC_PER_MSEC)
#define START_DELAY_NS		(50 * NSEC_PER_MSEC)	/* connect first */
#define POLL_BACKSTOP_MS	100	/* notice loadgen_stop */
#define MAX_EVENTS		64
#define READ_BUF_SIZE		65536

atomic_int loadgen_stop;

enum conn_state {
	CONN_DOWN,		/* closed, reopen at retry_at */
	CONN_CONNECTING,
	CONN_IDLE,		/* waiting for the next intended time */
	CONN_WRITING,
	CONN_READING,
};

struct worker;

struct conn {
	struct worker *w;
	int fd;
	uint32_t events;	/* epoll interest currently registered */
	enum conn_state state;
	int64_t offset_ns;	/* schedule stagger of this connection */
	uint64_t next;		/* index of the next request to send */
	int64_t intended;	/* current request: scheduled send time */
	int64_t sent;		/* current request: actual send time */
	int64_t started;	/* connect() time */
	int64_t retry_at;
	size_t written;
	int64_t resp_bytes;
	struct resp_parser rp;
};

struct worker {
	const struct config *cfg;
	const struct schedule *s;
	pthread_t tid;
	int epfd;
	int tfd;
	int64_t armed;		/* timerfd deadline, 0 when not armed */
	int inflight;
	struct conn *conns;
	int nconns;
	struct hdr *corrected;
	struct hdr *uncorrected;
	struct counters n;
	char buf[READ_BUF_SIZE];
};

int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * NSEC_PER_SEC + ts.tv_nsec;
}

static int64_t min64(int64_t a, int64_t b)
{
	return a < b ? a : b;
}

/* Errors during warm-up are not part of the result. */
static void count_error(struct worker *w, int64_t *counter, int64_t now)
{
	if (now >= w->s->rec_start)
		(*counter)++;
}

static int64_t conn_due(const struct conn *c)
{
	if (c->w->s->closed)	/* due as soon as idle, from t0 on */
		return c->w->s->t0;
	return c->w->s->t0 + c->offset_ns +
	       (int64_t)((double)c->next * c->w->s->interval_ns);
}

static void conn_set_events(struct conn *c, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = c };

	if (c->events == events)
		return;
	epoll_ctl(c->w->epfd, EPOLL_CTL_MOD, c->fd, &ev);
	c->events = events;
}

static void conn_reset(struct conn *c, int64_t now, int64_t delay)
{
	if (c->fd >= 0)
		close(c->fd);	/* also drops it from the epoll set */
	c->fd = -1;
	c->state = CONN_DOWN;
	c->retry_at = now + delay;
}

static void conn_open(struct conn *c, int64_t now)
{
	struct worker *w = c->w;
	struct epoll_event ev = { .events = EPOLLOUT, .data.ptr = c };
	int one = 1;

	c->started = now;
	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		goto fail;
	/* small requests must not wait for Nagle + delayed ACK (40 ms) */
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(c->fd, (const struct sockaddr *)&w->cfg->addr,
		    sizeof(w->cfg->addr)) < 0 && errno != EINPROGRESS)
		goto fail;
	if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, c->fd, &ev) < 0)
		goto fail;
	c->events = EPOLLOUT;
	c->state = CONN_CONNECTING;
	return;
fail:
	count_error(w, &w->n.err_connect, now);
	conn_reset(c, now, RECONNECT_DELAY_NS);
}

static void conn_connected(struct conn *c, int64_t now)
{
	int err = 0;
	socklen_t len = sizeof(err);

	if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0 || err) {
		count_error(c->w, &c->w->n.err_connect, now);
		conn_reset(c, now, RECONNECT_DELAY_NS);
		return;
	}
	c->state = CONN_IDLE;
	conn_set_events(c, EPOLLIN);
}

static void conn_write(struct conn *c, int64_t now)
{
	const struct config *cfg = c->w->cfg;
	ssize_t n;

	while (c->written < cfg->request_len) {
		n = send(c->fd, cfg->request + c->written,
			 cfg->request_len - c->written, MSG_NOSIGNAL);
		if (n > 0) {
			c->written += (size_t)n;
		} else if (n < 0 && errno == EINTR) {
			continue;
		} else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			conn_set_events(c, EPOLLIN | EPOLLOUT);
			return;
		} else {
			count_error(c->w, &c->w->n.err_write, now);
			conn_reset(c, now, 0);
			return;
		}
	}
	c->state = CONN_READING;
	conn_set_events(c, EPOLLIN);
}

static void conn_send(struct conn *c, int64_t now)
{
	c->intended = c->w->s->closed ? now : conn_due(c);
	c->next++;
	c->sent = now;
	c->written = 0;
	c->resp_bytes = 0;
	resp__init(&c->rp);
	c->state = CONN_WRITING;
	conn_write(c, now);
}

static int64_t to_us(int64_t ns)
{
	return (ns + NSEC_PER_USEC / 2) / NSEC_PER_USEC;
}

/* A full response arrived: record it if it was intended in the window. */
static void conn_complete(struct conn *c, int64_t now)
{
	struct worker *w = c->w;

	c->state = CONN_IDLE;
	if (c->intended < w->s->rec_start || c->intended >= w->s->end)
		return;
	hdr__record(w->corrected, to_us(now - c->intended));
	hdr__record(w->uncorrected, to_us(now - c->sent));
	w->n.completed++;
	w->n.bytes += c->resp_bytes;
	if (c->rp.status < 200 || c->rp.status > 299)
		w->n.non2xx++;
}

static void conn_consume(struct conn *c, size_t len, int64_t now)
{
	struct worker *w = c->w;
	size_t used;

	if (c->state != CONN_READING) {
		/* nothing was asked: the stream can't be trusted any more */
		count_error(w, &w->n.err_parse, now);
		conn_reset(c, now, 0);
		return;
	}
	used = resp__feed(&c->rp, w->buf, len);
	c->resp_bytes += (int64_t)used;
	if (c->rp.state == RESP_ERROR) {
		count_error(w, &w->n.err_parse, now);
		conn_reset(c, now, 0);
		return;
	}
	if (c->rp.state != RESP_DONE)
		return;
	conn_complete(c, now);
	if (used < len) {
		count_error(w, &w->n.err_parse, now);	/* unsolicited bytes */
		conn_reset(c, now, 0);
	} else if (c->rp.close_after) {
		conn_reset(c, now, 0);
	}
}

/* Peer closed. Fine between requests, an error in the middle of one. */
static void conn_eof(struct conn *c, int64_t now)
{
	if (c->state == CONN_READING) {
		resp__eof(&c->rp);
		if (c->rp.state == RESP_DONE)
			conn_complete(c, now);
		else
			count_error(c->w, &c->w->n.err_read, now);
	} else if (c->state == CONN_WRITING) {
		count_error(c->w, &c->w->n.err_read, now);
	}
	conn_reset(c, now, 0);
}

static void conn_read(struct conn *c, int64_t now)
{
	/* level-triggered: one read per wake-up, epoll reports the rest */
	ssize_t n = recv(c->fd, c->w->buf, sizeof(c->w->buf), 0);

	if (n > 0) {
		conn_consume(c, (size_t)n, now);
	} else if (n == 0) {
		conn_eof(c, now);
	} else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
		if (c->state == CONN_WRITING || c->state == CONN_READING)
			count_error(c->w, &c->w->n.err_read, now);
		conn_reset(c, now, 0);
	}
}

static void conn_event(struct conn *c, uint32_t events, int64_t now)
{
	if (c->state == CONN_CONNECTING) {
		conn_connected(c, now);
		return;
	}
	if ((events & EPOLLOUT) && c->state == CONN_WRITING)
		conn_write(c, now);
	if ((events & (EPOLLIN | EPOLLERR | EPOLLHUP)) && c->fd >= 0)
		conn_read(c, now);
}

static bool sending_allowed(const struct worker *w, int64_t now)
{
	return now < w->s->end && !atomic_load(&loadgen_stop);
}

/*
 * Do what is due on @c; return when it next needs attention. Every branch
 * that acts leaves @c in a state whose deadline lies in the future, so the
 * re-evaluation terminates.
 */
static int64_t conn_tick(struct conn *c, int64_t now)
{
	struct worker *w = c->w;
	int64_t due, timeout = w->cfg->timeout_ns;

	switch (c->state) {
	case CONN_DOWN:
		if (!sending_allowed(w, now))
			return INT64_MAX;
		if (now < c->retry_at)
			return c->retry_at;
		conn_open(c, now);
		return conn_tick(c, now);
	case CONN_IDLE:
		due = conn_due(c);
		if (!sending_allowed(w, now) || due >= w->s->end)
			return INT64_MAX;
		if (due > now)
			return due;
		conn_send(c, now);
		return conn_tick(c, now);
	case CONN_CONNECTING:
		if (now - c->started < timeout)
			return c->started + timeout;
		count_error(w, &w->n.err_connect, now);
		conn_reset(c, now, RECONNECT_DELAY_NS);
		return conn_tick(c, now);
	default:	/* a request is in flight */
		if (now - c->sent < timeout) {
			w->inflight++;
			return c->sent + timeout;
		}
		count_error(w, &w->n.err_timeout, now);
		conn_reset(c, now, 0);
		return conn_tick(c, now);
	}
}

/* Act on all due connections; return the next deadline of the thread. */
static int64_t worker_tick(struct worker *w, int64_t now)
{
	int64_t wake = now < w->s->end ? w->s->end : w->s->hard_end;
	int i;

	w->inflight = 0;
	for (i = 0; i < w->nconns; i++)
		wake = min64(wake, conn_tick(&w->conns[i], now));
	return wake;
}

static bool worker_done(const struct worker *w, int64_t now)
{
	if (atomic_load(&loadgen_stop) || now >= w->s->hard_end)
		return true;
	return now >= w->s->end && w->inflight == 0;
}

static void arm_timer(struct worker *w, int64_t deadline)
{
	struct itimerspec its = { 0 };

	if (deadline == w->armed)
		return;
	its.it_value.tv_sec = deadline / NSEC_PER_SEC;
	its.it_value.tv_nsec = deadline % NSEC_PER_SEC;
	timerfd_settime(w->tfd, TFD_TIMER_ABSTIME, &its, NULL);
	w->armed = deadline;
}

static void worker_wait(struct worker *w, int64_t deadline)
{
	struct epoll_event evs[MAX_EVENTS];
	uint64_t expirations;
	int i, n;

	arm_timer(w, deadline);
	n = epoll_wait(w->epfd, evs, MAX_EVENTS, POLL_BACKSTOP_MS);
	for (i = 0; i < n; i++) {
		if (evs[i].data.ptr == w) {
			if (read(w->tfd, &expirations, sizeof(expirations)) > 0)
				w->armed = 0;
			continue;
		}
		conn_event(evs[i].data.ptr, evs[i].events, now_ns());
	}
}

/* How many i >= 0 have i * interval < span. */
static double slots_before(double span, double interval)
{
	return span <= 0.0 ? 0.0 : ceil(span / interval);
}

/* Requests intended in [from, to) on @c that were never sent (backlog). */
static int64_t conn_unsent(const struct conn *c, int64_t from, int64_t to)
{
	const struct schedule *s = c->w->s;
	double base = (double)(s->t0 + c->offset_ns);
	double first, last, sent = (double)c->next;

	if (s->closed)		/* no schedule, so no backlog */
		return 0;
	first = slots_before((double)from - base, s->interval_ns);
	last = slots_before((double)to - base, s->interval_ns);
	if (sent < first)
		sent = first;
	return last > sent ? (int64_t)(last - sent) : 0;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	int64_t now, wake;
	int i;

	for (;;) {
		now = now_ns();
		wake = worker_tick(w, now);
		if (worker_done(w, now))
			break;
		worker_wait(w, wake);
	}
	for (i = 0; i < w->nconns; i++) {
		w->n.unsent += conn_unsent(&w->conns[i], w->s->rec_start,
					   min64(now, w->s->end));
		conn_reset(&w->conns[i], now, 0);
	}
	return NULL;
}

static int worker_init(struct worker *w, const struct config *cfg,
		       const struct schedule *s, int first_conn, int nconns)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = w };
	int i;

	w->cfg = cfg;
	w->s = s;
	w->nconns = nconns;
	w->conns = calloc((size_t)nconns, sizeof(*w->conns));
	w->corrected = hdr__new();
	w->uncorrected = hdr__new();
	w->epfd = epoll_create1(EPOLL_CLOEXEC);
	w->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (!w->conns || !w->corrected || !w->uncorrected || w->epfd < 0 ||
	    w->tfd < 0 || epoll_ctl(w->epfd, EPOLL_CTL_ADD, w->tfd, &ev) < 0)
		return -1;
	for (i = 0; i < nconns; i++) {
		w->conns[i].w = w;
		w->conns[i].fd = -1;
		w->conns[i].state = CONN_DOWN;
		w->conns[i].offset_ns =
			(int64_t)((double)(first_conn + i) * s->stagger_ns);
	}
	return 0;
}

static void worker_destroy(struct worker *w)
{
	if (w->epfd > 0)
		close(w->epfd);
	if (w->tfd > 0)
		close(w->tfd);
	hdr__free(w->corrected);
	hdr__free(w->uncorrected);
	free(w->conns);
}

static void add_counters(struct counters *dst, const struct counters *src)
{
	dst->completed += src->completed;
	dst->bytes += src->bytes;
	dst->non2xx += src->non2xx;
	dst->err_connect += src->err_connect;
	dst->err_read += src->err_read;
	dst->err_write += src->err_write;
	dst->err_timeout += src->err_timeout;
	dst->err_parse += src->err_parse;
	dst->unsent += src->unsent;
}

static void make_schedule(const struct config *cfg, struct schedule *s)
{
	s->closed = cfg->closed;
	if (cfg->closed) {
		s->interval_ns = 0;
		s->stagger_ns = 0;
	} else {
		s->interval_ns = (double)NSEC_PER_SEC * cfg->connections /
				 cfg->rate;
		s->stagger_ns = (double)NSEC_PER_SEC / cfg->rate;
	}
	s->t0 = now_ns() + START_DELAY_NS;
	s->rec_start = s->t0 + cfg->warmup_ns;
	s->end = s->rec_start + cfg->duration_ns;
	s->hard_end = s->end + cfg->timeout_ns;
}

/* Run all threads to the end of the schedule and merge their results. */
static int run_threads(struct worker *ws, int n, struct result *res)
{
	int i, started = 0, err = 0;

	for (i = 0; i < n; i++) {
		if (pthread_create(&ws[i].tid, NULL, worker_main, &ws[i])) {
			fprintf(stderr, "wrk2hdr: cannot start thread\n");
			atomic_store(&loadgen_stop, 1);
			err = -1;
			break;
		}
		started++;
	}
	for (i = 0; i < started; i++) {
		pthread_join(ws[i].tid, NULL);
		hdr__merge(res->corrected, ws[i].corrected);
		hdr__merge(res->uncorrected, ws[i].uncorrected);
		add_counters(&res->n, &ws[i].n);
	}
	return err;
}

int run_load(const struct config *cfg, struct result *res)
{
	struct worker *ws = calloc((size_t)cfg->threads, sizeof(*ws));
	struct schedule s;
	int i, err = ws ? 0 : -1, first = 0, n;
	int64_t stop;

	memset(res, 0, sizeof(*res));
	res->corrected = hdr__new();
	res->uncorrected = hdr__new();
	if (!res->corrected || !res->uncorrected)
		err = -1;
	make_schedule(cfg, &s);
	for (i = 0; !err && i < cfg->threads; i++) {
		n = cfg->connections / cfg->threads +
		    (i < cfg->connections % cfg->threads);
		err = worker_init(&ws[i], cfg, &s, first, n);
		first += n;
	}
	if (!err)
		err = run_threads(ws, cfg->threads, res);
	stop = now_ns();
	res->interrupted = atomic_load(&loadgen_stop);
	res->duration_s = (double)(min64(stop, s.end) - s.rec_start) /
			  (double)NSEC_PER_SEC;
	if (res->duration_s < 0)
		res->duration_s = 0;
	for (i = 0; ws && i < cfg->threads; i++)
		worker_destroy(&ws[i]);
	free(ws);
	return err;
}
