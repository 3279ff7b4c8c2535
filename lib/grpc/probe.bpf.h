// SPDX-License-Identifier: MIT
/*
 * google.golang.org/grpc: server calls (server.bpf.h), client calls
 * (client.bpf.h) and, with --propagate, traceparent metadata on outgoing
 * calls (propagate.bpf.h).
 */
#include "server.bpf.h"
#include "client.bpf.h"
#include "propagate.bpf.h"
