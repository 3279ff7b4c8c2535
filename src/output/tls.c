// SPDX-License-Identifier: MIT
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "tls.h"

struct tls_ctx {
	SSL_CTX *ssl_ctx;
};

struct tls_conn {
	SSL *ssl;
	int fd;
};

/*
 * Where distributions keep their CA bundle (the list Go's crypto/x509 uses):
 * otrace is one static binary, so OpenSSL's compiled-in /usr/lib/ssl (Debian's)
 * is not where every host keeps it.
 */
static const char *const ca_bundles[] = {
	"/etc/ssl/certs/ca-certificates.crt",		     /* Debian, Ubuntu, Gentoo, Arch */
	"/etc/pki/tls/certs/ca-bundle.crt",		     /* Fedora, RHEL 6 */
	"/etc/ssl/ca-bundle.pem",			     /* openSUSE */
	"/etc/pki/tls/cacert.pem",			     /* OpenELEC */
	"/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem", /* CentOS, RHEL 7 */
	"/etc/ssl/cert.pem",				     /* Alpine */
};

uint64_t tls__now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int tls__wait(int fd, short events, uint64_t deadline_ns)
{
	for (;;) {
		struct pollfd pfd = { .fd = fd, .events = events };
		uint64_t now = tls__now_ns();
		int n;

		if (now >= deadline_ns)
			return -ETIMEDOUT;
		n = poll(&pfd, 1, (int)((deadline_ns - now + 999999) / 1000000));
		if (n > 0)
			return 0; /* readable, writable, or an error the next call reports */
		if (n < 0 && errno != EINTR)
			return -errno;
	}
}

/* The first queued OpenSSL error as text, and the queue emptied. */
static void ssl_error_text(const char *what, char *err, size_t errlen)
{
	unsigned long e = ERR_get_error();
	const char *reason = e ? ERR_reason_error_string(e) : NULL;

	snprintf(err, errlen, "%s: %s", what, reason ?: "unknown error");
	ERR_clear_error();
}

static int fail(char *err, size_t errlen, const char *fmt, const char *arg)
{
	snprintf(err, errlen, fmt, arg);
	return -EINVAL;
}

static int load_trust(SSL_CTX *ctx, const char *ca_file, char *err, size_t errlen)
{
	const char *env_file = getenv("SSL_CERT_FILE"), *env_dir = getenv("SSL_CERT_DIR");

	if (ca_file) {
		if (SSL_CTX_load_verify_locations(ctx, ca_file, NULL) != 1) {
			char why[200];

			ssl_error_text(ca_file, why, sizeof(why));
			return fail(err, errlen, "no usable CA certificate in %s", why);
		}
		return 0;
	}
	if ((env_file && *env_file) || (env_dir && *env_dir)) {
		if (SSL_CTX_load_verify_locations(ctx, env_file && *env_file ? env_file : NULL,
						  env_dir && *env_dir ? env_dir : NULL) != 1)
			return fail(err, errlen, "%s hold no usable CA certificate",
				    "SSL_CERT_FILE/SSL_CERT_DIR");
		return 0;
	}
	for (size_t i = 0; i < sizeof(ca_bundles) / sizeof(ca_bundles[0]); i++)
		if (access(ca_bundles[i], R_OK) == 0 &&
		    SSL_CTX_load_verify_locations(ctx, ca_bundles[i], NULL) == 1)
			return 0;
	ERR_clear_error();
	if (access("/etc/ssl/certs", R_OK) == 0 &&
	    SSL_CTX_load_verify_locations(ctx, NULL, "/etc/ssl/certs") == 1)
		return 0;
	return fail(err, errlen,
		    "no system CA certificates found (looked for %s and others): set "
		    "OTEL_EXPORTER_OTLP_CERTIFICATE",
		    ca_bundles[0]);
}

static int load_client(SSL_CTX *ctx, const char *cert, const char *key, char *err, size_t errlen)
{
	char why[256];

	if (!cert)
		return 0;
	if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
		ssl_error_text(cert, why, sizeof(why));
		return fail(err, errlen, "no usable client certificate in %s", why);
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1) {
		ssl_error_text(key, why, sizeof(why));
		return fail(err, errlen, "no usable client key in %s", why);
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		ERR_clear_error();
		return fail(err, errlen, "the client key %s does not match the certificate", key);
	}
	return 0;
}

int tls_ctx__new(const char *ca_file, const char *client_cert, const char *client_key,
		 struct tls_ctx **out, char *err, size_t errlen)
{
	struct tls_ctx *t = calloc(1, sizeof(*t));
	int ret;

	*out = NULL;
	if (!t)
		return -ENOMEM;
	/* the host's openssl.cnf could ask for modules a static binary cannot load */
	OPENSSL_init_ssl(OPENSSL_INIT_NO_LOAD_CONFIG, NULL);
	t->ssl_ctx = SSL_CTX_new(TLS_client_method());
	if (!t->ssl_ctx) {
		free(t);
		return -ENOMEM;
	}
	SSL_CTX_set_min_proto_version(t->ssl_ctx, TLS1_2_VERSION);
	/* a body read until the connection closes ends there, close_notify or not */
	SSL_CTX_set_options(t->ssl_ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
	SSL_CTX_set_verify(t->ssl_ctx, SSL_VERIFY_PEER, NULL);
	SSL_CTX_set_mode(t->ssl_ctx,
			 SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	ret = load_trust(t->ssl_ctx, ca_file, err, errlen);
	ret = ret ?: load_client(t->ssl_ctx, client_cert, client_key, err, errlen);
	if (ret) {
		tls_ctx__free(t);
		return ret;
	}
	*out = t;
	return 0;
}

void tls_ctx__free(struct tls_ctx *t)
{
	if (!t)
		return;
	SSL_CTX_free(t->ssl_ctx);
	free(t);
}

/* Waits for what OpenSSL asked for after ret; 0 to try again, else a negative errno. */
static int wait_for(struct tls_conn *c, int ret, uint64_t deadline_ns)
{
	switch (SSL_get_error(c->ssl, ret)) {
	case SSL_ERROR_WANT_READ:
		return tls__wait(c->fd, POLLIN, deadline_ns);
	case SSL_ERROR_WANT_WRITE:
		return tls__wait(c->fd, POLLOUT, deadline_ns);
	case SSL_ERROR_ZERO_RETURN:
		return -EPIPE;
	default:
		ERR_clear_error();
		return -ECONNRESET;
	}
}

/* Names the peer for SNI and verification: an IP address literal or a DNS name. */
static int set_peer(SSL *ssl, const char *host)
{
	struct in6_addr a6;
	struct in_addr a4;

	if (inet_pton(AF_INET, host, &a4) == 1 || inet_pton(AF_INET6, host, &a6) == 1)
		return X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host) == 1 ? 0 : -EINVAL;
	if (SSL_set_tlsext_host_name(ssl, host) != 1 || SSL_set1_host(ssl, host) != 1)
		return -EINVAL;
	return 0;
}

static void handshake_error(struct tls_conn *c, char *err, size_t errlen)
{
	long v = SSL_get_verify_result(c->ssl);
	unsigned long e = ERR_peek_error();

	if (v != X509_V_OK)
		snprintf(err, errlen, "TLS: the server's certificate was refused: %s",
			 X509_verify_cert_error_string(v));
	else if (e)
		snprintf(err, errlen, "TLS handshake failed: %s",
			 ERR_reason_error_string(e) ?: "unknown error");
	else
		snprintf(err, errlen, "TLS handshake failed: connection closed by the server");
	ERR_clear_error();
}

int tls_conn__new(struct tls_ctx *ctx, int fd, const char *host, uint64_t deadline_ns,
		  struct tls_conn **out, char *err, size_t errlen)
{
	struct tls_conn *c = calloc(1, sizeof(*c));
	int ret;

	*out = NULL;
	if (!c)
		return -ENOMEM;
	c->fd = fd;
	c->ssl = SSL_new(ctx->ssl_ctx);
	if (!c->ssl || SSL_set_fd(c->ssl, fd) != 1 || set_peer(c->ssl, host)) {
		snprintf(err, errlen, "TLS setup failed for %s", host);
		tls_conn__free(c);
		return -EPROTO;
	}
	for (;;) {
		ret = SSL_connect(c->ssl);
		if (ret == 1)
			break;
		if (SSL_get_error(c->ssl, ret) != SSL_ERROR_WANT_READ &&
		    SSL_get_error(c->ssl, ret) != SSL_ERROR_WANT_WRITE) {
			handshake_error(c, err, errlen);
			tls_conn__free(c);
			return -EPROTO;
		}
		ret = wait_for(c, ret, deadline_ns);
		if (ret) {
			snprintf(err, errlen, "TLS handshake timed out");
			tls_conn__free(c);
			return ret;
		}
	}
	*out = c;
	return 0;
}

void tls_conn__free(struct tls_conn *c)
{
	if (!c)
		return;
	SSL_free(c->ssl);
	free(c);
}

int tls_conn__write(struct tls_conn *c, const void *buf, size_t len, uint64_t deadline_ns)
{
	const char *p = buf;

	while (len) {
		int n = SSL_write(c->ssl, p, len > INT32_MAX ? INT32_MAX : (int)len);
		int ret;

		if (n > 0) {
			p += n;
			len -= (size_t)n;
			continue;
		}
		ret = wait_for(c, n, deadline_ns);
		if (ret)
			return ret == -EPIPE ? -ECONNRESET : ret;
	}
	return 0;
}

ssize_t tls_conn__read(struct tls_conn *c, void *buf, size_t len, uint64_t deadline_ns)
{
	for (;;) {
		int n = SSL_read(c->ssl, buf, len > INT32_MAX ? INT32_MAX : (int)len);
		int ret;

		if (n > 0)
			return n;
		ret = wait_for(c, n, deadline_ns);
		if (ret == -EPIPE)
			return 0; /* close_notify: the end of the stream */
		if (ret)
			return ret;
	}
}
