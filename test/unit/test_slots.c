// SPDX-License-Identifier: MIT
/*
 * The slot claims of otrace's per-CPU buffers (bpf/core/slots.h), the code
 * the BPF programs run: distinct slots while held, a refusal when all are
 * held, releases in any order, and no slot shared by two holders, neither
 * when programs are preempted at any point on one CPU (every interleaving
 * of a seeded random schedule) nor with threads truly running at once.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#include "slots.h"
#include "unittest.h"

static void test_claims(void)
{
	__u64 busy = 0;
	int got[OT_SLOTS];

	for (int i = 0; i < OT_SLOTS; i++) {
		got[i] = ot_slot_claim(&busy);
		CHECK(got[i] >= 0 && got[i] < OT_SLOTS);
		for (int j = 0; j < i; j++)
			CHECK(got[i] != got[j]);
	}
	CHECK(busy == (1ULL << OT_SLOTS) - 1);
	CHECK(ot_slot_claim(&busy) == -1);
	CHECK(busy == (1ULL << OT_SLOTS) - 1); /* a refused claim takes nothing */

	/* released out of the order claimed: the freed slots, and only them, come back */
	ot_slot_release(&busy, 1);
	CHECK(busy == (((1ULL << OT_SLOTS) - 1) & ~2ULL));
	CHECK(ot_slot_claim(&busy) == 1);
	ot_slot_release(&busy, 2);
	ot_slot_release(&busy, 0);
	CHECK(ot_slot_claim(&busy) == 0);
	CHECK(ot_slot_claim(&busy) == 2);
	CHECK(ot_slot_claim(&busy) == -1);
	for (int i = 0; i < OT_SLOTS; i++)
		ot_slot_release(&busy, i);
	CHECK(busy == 0);
}

/*
 * One CPU, programs preempted anywhere: each "program" claims a slot,
 * writes its own id over the slot's bytes in several steps, checks them,
 * and releases. A seeded scheduler picks which program runs its next step,
 * so claims and releases interleave in every order. A slot held by two
 * programs at once shows as bytes of another id.
 */
#define PROGS 6
#define SLOT_BYTES 16

enum step { IDLE, CLAIMED, WRITING, CHECKING };

struct prog {
	enum step step;
	int slot;
	int pos;
	unsigned runs, refused;
};

static void test_preempted_anywhere(void)
{
	unsigned char buf[OT_SLOTS][SLOT_BYTES];
	struct prog p[PROGS] = {};
	unsigned seed = 12345, mixed = 0, runs = 0, refused = 0;
	__u64 busy = 0;

	for (int n = 0; n < 200000; n++) {
		int id = rand_r(&seed) % PROGS;
		struct prog *g = &p[id];

		switch (g->step) {
		case IDLE:
			g->slot = ot_slot_claim(&busy);
			if (g->slot < 0) {
				g->refused++;
				break;
			}
			g->step = WRITING;
			g->pos = 0;
			break;
		case WRITING:
			buf[g->slot][g->pos++] = (unsigned char)(id + 1);
			if (g->pos == SLOT_BYTES)
				g->step = CHECKING;
			break;
		case CHECKING:
			for (int i = 0; i < SLOT_BYTES; i++)
				mixed += buf[g->slot][i] != id + 1;
			ot_slot_release(&busy, g->slot);
			g->runs++;
			g->step = IDLE;
			break;
		default:
			break;
		}
	}
	for (int i = 0; i < PROGS; i++) {
		runs += p[i].runs;
		refused += p[i].refused;
	}
	CHECK(mixed == 0);
	CHECK(runs > 5000);
	CHECK(refused > 0); /* six programs, four slots: the refusal was exercised */
}

/* Threads on several CPUs at once on one busy word: the atomics themselves. */
#define THREADS 8
#define ROUNDS 200000

static __u64 shared_busy;
static volatile int owner[OT_SLOTS];
static unsigned shared_mixed[THREADS], shared_runs[THREADS];

static void *hammer(void *arg)
{
	int id = (int)(intptr_t)arg + 1;

	for (int n = 0; n < ROUNDS; n++) {
		int s = ot_slot_claim(&shared_busy);

		if (s < 0)
			continue;
		owner[s] = id;
		for (int spin = 0; spin < 20; spin++)
			if (owner[s] != id)
				shared_mixed[id - 1]++;
		owner[s] = 0;
		ot_slot_release(&shared_busy, s);
		shared_runs[id - 1]++;
	}
	return NULL;
}

static void test_concurrent(void)
{
	pthread_t t[THREADS];
	unsigned mixed = 0, runs = 0;

	for (int i = 0; i < THREADS; i++)
		CHECK(pthread_create(&t[i], NULL, hammer, (void *)(intptr_t)i) == 0);
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	for (int i = 0; i < THREADS; i++) {
		mixed += shared_mixed[i];
		runs += shared_runs[i];
	}
	CHECK(mixed == 0);
	CHECK(runs > 0);
	CHECK(shared_busy == 0);
}

int main(void)
{
	test_claims();
	test_preempted_anywhere();
	test_concurrent();
	return ut_summary();
}
