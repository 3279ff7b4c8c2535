// SPDX-License-Identifier: MIT
/*
 * All of otrace's BPF programs, one object: the libraries share the ring
 * buffer and the context registry that links child spans to their parents.
 * User space loads one instance per traced binary, each with that binary's
 * struct offsets in the read-only configuration of each library.
 *
 * The core (bpf/core/) depends on no library. Each instrumented library is
 * one folder, lib/<library>/, whose probe.bpf.h holds its programs; the build
 * generates libraries.bpf.h, which includes every one of them.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "common.bpf.h"
#include "go_map.h"
#include "propagation.bpf.h"

char LICENSE[] SEC("license") = "Dual MIT/GPL";

#include "libraries.bpf.h"
