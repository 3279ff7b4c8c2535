/* SPDX-License-Identifier: MIT */
/*
 * TLS for the exporter, through OpenSSL (Debian's libssl, linked statically):
 * peer verification always on, against the system's trust store or the CA
 * file the user gives, host name checked, client certificates for mTLS.
 * Sockets are non-blocking; every wait has a deadline.
 */
#ifndef OTRACE_TLS_H
#define OTRACE_TLS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct tls_ctx;
struct tls_conn;

/*
 * Sets up verification: ca_file NULL means the system's trust store (the
 * first of the distributions' bundle locations that exists; SSL_CERT_FILE
 * and SSL_CERT_DIR win). Returns 0, or -EINVAL with a one-line reason in err
 * (no certificate in the file, key does not match, no trust store).
 */
int tls_ctx__new(const char *ca_file, const char *client_cert, const char *client_key,
		 struct tls_ctx **out, char *err, size_t errlen);
void tls_ctx__free(struct tls_ctx *ctx);

/*
 * Handshakes on the connected non-blocking socket fd and verifies that the
 * peer is host. Returns 0, -ETIMEDOUT at deadline_ns (CLOCK_MONOTONIC), or
 * -EPROTO / -ECONNRESET with the reason in err (a bad certificate says why).
 */
int tls_conn__new(struct tls_ctx *ctx, int fd, const char *host, uint64_t deadline_ns,
		  struct tls_conn **out, char *err, size_t errlen);
void tls_conn__free(struct tls_conn *c);
/* Writes all of buf. 0, -ETIMEDOUT or -ECONNRESET. */
int tls_conn__write(struct tls_conn *c, const void *buf, size_t len, uint64_t deadline_ns);
/* Reads some bytes: their count, 0 at the end of the stream, -ETIMEDOUT or -ECONNRESET. */
ssize_t tls_conn__read(struct tls_conn *c, void *buf, size_t len, uint64_t deadline_ns);

/* Waits until fd is readable (events POLLIN) or writable (POLLOUT): 0 or -ETIMEDOUT. */
int tls__wait(int fd, short events, uint64_t deadline_ns);
uint64_t tls__now_ns(void);

#endif
