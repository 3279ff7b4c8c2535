// SPDX-License-Identifier: MIT
/* net/http client records to CLIENT spans (HTTP semantic conventions). */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "net_http_client.h"
#include "net_http_client/record.h"
#include "packed.h"
#include "semconv.h"

/* The strings of a record, in the order its wire form packs them. */
static const struct packed_string packed[] = {
	PACKED_STRING(struct ot_http_client_rec, method_len, method),
	PACKED_STRING(struct ot_http_client_rec, scheme_len, scheme),
	PACKED_STRING(struct ot_http_client_rec, host_len, host),
	PACKED_STRING(struct ot_http_client_rec, path_len, path),
	PACKED_STRING(struct ot_http_client_rec, query_len, query),
	PACKED_STRING(struct ot_http_client_rec, fragment_len, fragment),
};
static const struct packed_record wire_form =
	PACKED_RECORD(struct ot_http_client_rec, struct ot_http_client_wire, packed);

int net_http_client__unpack(const void *wire, size_t size, struct ot_http_client_rec *r)
{
	return packed__unpack_record(&wire_form, wire, size, r);
}

size_t net_http_client__pack(const struct ot_http_client_rec *r, void *out)
{
	return packed__pack_record(&wire_form, r, out);
}

int net_http_client__decode(const struct span_decoding *d, const void *rec, size_t size,
			    struct span *s)
{
	const struct ot_http_client_rec *r;
	struct ot_http_client_rec unpacked;
	size_t mlen, slen, hlen;
	struct url_parts parts;
	char *url = s->scratch;
	bool known;

	if (net_http_client__unpack(rec, size, &unpacked) ||
	    !(r = span__read_record(s, &unpacked, sizeof(unpacked))))
		return -EINVAL;
	mlen = span__captured(r->method_len, OT_METHOD_CAP);
	span__set_identity(d, s, SPAN_KIND_CLIENT, r->pid, r->start_ns, r->end_ns, &r->ids,
		     r->flags & OT_HTTP_CLIENT_HAS_PARENT);

	known = semconv__add_http_method(s, r->method, r->method_len);
	slen = span__captured(r->scheme_len, OT_SCHEME_CAP);
	hlen = span__captured(r->host_len, OT_HOST_CAP);
	/* url.full first: the other derived strings go after it in scratch */
	parts = (struct url_parts){
		.scheme = r->scheme,
		.scheme_len = slen,
		.host = r->host,
		.host_len = hlen,
		.path = r->path,
		.path_len = span__captured(r->path_len, OT_PATH_CAP),
		.query = r->query,
		.query_len = span__captured(r->query_len, OT_QUERY_CAP),
		.fragment = r->fragment,
		.fragment_len = span__captured(r->fragment_len, OT_FRAGMENT_CAP),
		.userinfo = r->flags & OT_HTTP_CLIENT_USERINFO,
	};
	s->scratch_used = semconv__url_full(url, sizeof(s->scratch) / 2, &parts);
	if (span__add_string(s, "url.full", url, s->scratch_used) &&
	    (r->path_len > OT_PATH_CAP || r->query_len > OT_QUERY_CAP ||
	     r->host_len > OT_HOST_CAP || r->fragment_len > OT_FRAGMENT_CAP))
		s->attrs[s->nattrs - 1].truncated = true;
	semconv__add_host_port(s, "server.address", "server.port", r->host, OT_HOST_CAP,
			       r->host_len, slen == 5 && !memcmp(r->scheme, "https", 5) ? 443 : 80);
	if (r->resend_count)
		span__add_int(s, "http.request.resend_count", r->resend_count);
	if (r->flags & OT_HTTP_CLIENT_TRANSPORT_ERROR) {
		s->status = STATUS_ERROR;
		semconv__add_error_type(d, s, r->pid, r->error_itab);
	} else {
		bool status = semconv__add_http_status(s, r->status);

		semconv__add_protocol_version(s, r->proto_major, r->proto_minor);
		if (status && r->status >= 400)
			semconv__set_status_error(s, r->status);
	}
	/* semconv: the client span is named by its method alone */
	if (known)
		span__set_name(s, r->method, mlen, NULL, 0);
	else
		span__set_name(s, "HTTP", 4, NULL, 0);
	return 0;
}
