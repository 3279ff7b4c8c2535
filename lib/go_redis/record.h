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

/* A command as the record keeps it: how long args[0] is, and how many arguments there are. */
struct ot_redis_cmd_head {
	__u32 name_len; /* full length of args[0]; 0: not a string */
	__u32 nargs;	/* len(args), the name included */
};

/* A command decoded: its head and the first bytes of its name, args[0] ("georadiusbymember_ro"). */
struct ot_redis_cmd {
	__u32 name_len;
	__u32 nargs;
	char name[OT_REDIS_NAME_CAP];
};

/*
 * What an operation's record holds besides its strings, first in both its
 * forms. The itab is a link-time address (the load bias of a PIE is taken
 * off in BPF), so user space can name the error's type from .symtab.
 */
#define OT_REDIS_HEAD                                                                    \
	struct ot_rec_hdr hdr;                                                           \
	__u32 pid;                                                                       \
	__u32 flags; /* enum ot_redis_flag */                                            \
	__u64 goroutine;                                                                 \
	__u64 start_ns;                                                                  \
	__u64 end_ns;                                                                    \
	__u64 error_itab; /* itab of the error (its dynamic type); 0 none */             \
	__s64 db;	  /* the client's Options.DB (OT_REDIS_HAS_DB) */                \
	__u32 kind;	  /* enum ot_redis_kind */                                       \
	__u32 ncmds; /* pipeline and transaction: len(cmds), MULTI and EXEC included */  \
	/* each string's full length; its first bytes, up to its cap, travel with it */ \
	__u32 addr_len;	 /* the client's Options.Addr */                                 \
	__u32 error_len; /* the error's message (OT_REDIS_ERROR_STRING or _MSG) */       \
	struct ot_span_ids ids;

/* One go-redis operation on one connection, decoded; a command: cmds[0]. */
struct ot_redis_rec {
	OT_REDIS_HEAD
	struct ot_redis_cmd cmds[OT_REDIS_CMDS];
	char addr[OT_HOST_CAP];
	char error[OT_REDIS_ERROR_CAP];
};

/*
 * One operation as the ring buffer carries it: the head and its commands'
 * heads, then the captured bytes of the commands' names (cmds[0] first),
 * addr and error, one after the other; hdr.size ends after the last.
 */
struct ot_redis_wire {
	OT_REDIS_HEAD
	struct ot_redis_cmd_head cmds[OT_REDIS_CMDS];
	char strings[];
};

/* The most the strings of a wire record take: the sum of their caps. */
#define OT_REDIS_STRINGS_MAX (OT_REDIS_CMDS * OT_REDIS_NAME_CAP + OT_HOST_CAP + OT_REDIS_ERROR_CAP)

#endif
