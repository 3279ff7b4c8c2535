// SPDX-License-Identifier: MIT
/*
 * All of otrace's BPF programs, one object: the libraries share the ring
 * buffer and the context registry that links child spans to their parents.
 * User space loads one instance per traced binary, each with that binary's
 * struct offsets in the read-only config below.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "otrace.h"
#include "go_abi.h"
#include "go_map.h"
#include "traceparent.h"
#include "common.bpf.h"

char LICENSE[] SEC("license") = "Dual MIT/GPL";

const volatile struct ot_http_server_cfg http_cfg = {};
const volatile struct ot_http_client_cfg http_client_cfg = {};
const volatile struct ot_propagate_cfg propagate_cfg = {};
const volatile struct ot_sql_cfg sql_cfg = {};
const volatile struct ot_grpc_cfg grpc_cfg = {};

#include "http_server.bpf.h"
#include "propagate.bpf.h"
#include "http_client.bpf.h"
#include "sql.bpf.h"
#include "grpc_server.bpf.h"
#include "grpc_client.bpf.h"
#include "propagate_grpc.bpf.h"
