/* SPDX-License-Identifier: MIT */
/* go-redis's wire record: one command, pipeline or transaction sent to Redis. */
#ifndef OTRACE_GO_REDIS_RECORD_H
#define OTRACE_GO_REDIS_RECORD_H

#include "records.h"

#define OT_REC_REDIS 8

#define OT_REDIS_CMDS	   8  /* commands of a pipeline whose names are kept */
#define OT_REDIS_NAME_CAP  24 /* a command's name, args[0] ("georadiusbymember_ro") */
#define OT_REDIS_ERROR_CAP 64 /* start of the error's message */

enum ot_redis_kind {
	OT_REDIS_COMMAND = 1,  /* (*baseClient)._process: one attempt of one command */
	OT_REDIS_PIPELINE = 2, /* pipelineProcessCmds */
	OT_REDIS_TX = 3,       /* txPipelineProcessCmds: MULTI, the commands, EXEC */
};

enum ot_redis_flag {
	OT_REDIS_HAS_PARENT = 1 << 0,	/* ids.parent_span_id is set */
	OT_REDIS_ERROR = 1 << 1,	/* the operation ended with an error */
	OT_REDIS_ERROR_STRING = 1 << 2, /* the error is of a string type; error holds it */
	OT_REDIS_ERROR_MSG = 1 << 3,	/* the error points to a struct with a string first */
	OT_REDIS_NO_CONN = 1 << 4,	/* failed before it got a connection */
	OT_REDIS_HAS_DB = 1 << 5,	/* db is the client's Options.DB */
};

/* A command as the record keeps it: args[0] and how many arguments follow it. */
struct ot_redis_cmd {
	__u32 name_len; /* full length of args[0]; 0: not a string */
	__u32 nargs;	/* len(args), the name included */
	char name[OT_REDIS_NAME_CAP];
};

/*
 * One go-redis operation on one connection. The itab is a link-time address
 * (the load bias of a PIE is taken off in BPF), so user space can name the
 * error's type from .symtab.
 */
struct ot_redis_rec {
	struct ot_rec_hdr hdr;
	__u32 pid;
	__u32 flags; /* enum ot_redis_flag */
	__u64 goroutine;
	__u64 start_ns;
	__u64 end_ns;
	__u64 error_itab; /* itab of the error (its dynamic type); 0 none */
	__s64 db;	  /* the client's Options.DB (OT_REDIS_HAS_DB) */
	__u32 kind;	  /* enum ot_redis_kind */
	__u32 ncmds;	  /* pipeline and transaction: len(cmds), MULTI and EXEC included */
	__u32 addr_len;	  /* the client's Options.Addr */
	__u32 error_len;  /* the error's message (OT_REDIS_ERROR_STRING or _MSG) */
	struct ot_span_ids ids;
	struct ot_redis_cmd cmds[OT_REDIS_CMDS]; /* a command: cmds[0] */
	char addr[OT_HOST_CAP];
	char error[OT_REDIS_ERROR_CAP];
};

#endif
