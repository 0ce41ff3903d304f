/* The order state machine, exhaustively: every state x event x actor x role against the designed
 * table, guards, labels. The expected table is written out here independently of the code. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <string.h>

#include "core/order_fsm.h"
#include "core/roles.h"

struct expect {
	enum order_state from;
	enum order_event event;
	enum order_state to;
	enum order_actor actor;
	int role; /* staff role, -1 for none */
};

static const struct expect design[] = {
	{OS_DRAFT, OE_EDIT, OS_DRAFT, OA_ORG, -1},
	{OS_REJECTED, OE_EDIT, OS_REJECTED, OA_ORG, -1},
	{OS_DRAFT, OE_SUBMIT, OS_SUBMITTED, OA_ORG, -1},
	{OS_REJECTED, OE_SUBMIT, OS_SUBMITTED, OA_ORG, -1},
	{OS_SUBMITTED, OE_PASS, OS_AWAITING_PAYMENT, OA_STAFF, ROLE_REVIEWER},
	{OS_SUBMITTED, OE_REJECT, OS_REJECTED, OA_STAFF, ROLE_REVIEWER},
	{OS_AWAITING_PAYMENT, OE_PAID, OS_AWAITING_PAPER, OA_SYSTEM, -1},
	{OS_AWAITING_PAPER, OE_COURIER, OS_PAPER_SENT, OA_ORG, -1},
	{OS_PAPER_REJECTED, OE_COURIER, OS_PAPER_SENT, OA_ORG, -1},
	{OS_PAPER_SENT, OE_PAPER_OK, OS_PRODUCING, OA_STAFF, ROLE_PAPER},
	{OS_PAPER_SENT, OE_PAPER_BAD, OS_PAPER_REJECTED, OA_STAFF, ROLE_PAPER},
	{OS_PRODUCING, OE_MADE, OS_PRODUCED, OA_STAFF, ROLE_PRODUCER},
	{OS_PRODUCED, OE_SHIP, OS_SHIPPED, OA_STAFF, ROLE_SHIPPER},
	{OS_SHIPPED, OE_COMPLETE, OS_COMPLETED, OA_SYSTEM, -1},
	{OS_DRAFT, OE_DELETE, OS_DELETED, OA_ORG, -1},
	{OS_SUBMITTED, OE_DELETE, OS_DELETED, OA_ORG, -1},
	{OS_REJECTED, OE_DELETE, OS_DELETED, OA_ORG, -1},
	{OS_AWAITING_PAPER, OE_CANCEL, OS_REFUNDING, OA_STAFF, ROLE_FINANCE},
	{OS_PAPER_SENT, OE_CANCEL, OS_REFUNDING, OA_STAFF, ROLE_FINANCE},
	{OS_PAPER_REJECTED, OE_CANCEL, OS_REFUNDING, OA_STAFF, ROLE_FINANCE},
	{OS_PAID, OE_CANCEL, OS_REFUNDING, OA_STAFF, ROLE_FINANCE}, /* a renewal not yet issued */
	{OS_REFUNDING, OE_REFUNDED, OS_REFUNDED, OA_SYSTEM, -1},
};

static const struct order_facts all_met = {1, 1, 1, 1};

/* Returns the designed transition for (s, e), or NULL. */
static const struct expect *lookup(int s, int e)
{
	for (size_t i = 0; i < sizeof(design) / sizeof(design[0]); i++)
		if ((int)design[i].from == s && (int)design[i].event == e)
			return &design[i];
	return NULL;
}

static void test_exhaustive(void **state)
{
	(void)state;
	for (int s = 0; s < OS_COUNT; s++)
		for (int e = 0; e < OE_COUNT; e++)
			for (int a = OA_ORG; a <= OA_SYSTEM; a++)
				for (unsigned roles = 0; roles < (1u << ROLE_COUNT); roles++) {
					const struct expect *x = lookup(s, e);
					enum order_state next = OS_COUNT;
					int v = order_fsm_decide(s, e, a, roles, &all_met, &next), want;
					if (a != OA_STAFF && roles != 0)
						continue; /* roles mean nothing outside staff */
					if (x == NULL)
						want = FSM_WRONG_STATE;
					else if ((int)x->actor != a ||
						 (a == OA_STAFF && !(roles & (1u << x->role))))
						want = FSM_WRONG_ACTOR;
					else
						want = FSM_OK;
					if (v != want)
						fail_msg("%s + %s by actor %d roles %#x: got %d, want %d",
							 order_state_name(s), order_event_name(e), a, roles,
							 v, want);
					if (v == FSM_OK)
						assert_int_equal(next, x->to);
				}
}

static void test_admin_is_not_every_role(void **state)
{
	enum order_state next;
	(void)state;

	/* an admin does not review, check paper or ship unless given those roles too */
	assert_int_equal(order_fsm_decide(OS_SUBMITTED, OE_PASS, OA_STAFF, 1u << ROLE_ADMIN, &all_met, &next),
			 FSM_WRONG_ACTOR);
	assert_int_equal(order_fsm_decide(OS_PRODUCED, OE_SHIP, OA_STAFF, 1u << ROLE_ADMIN, &all_met, &next),
			 FSM_WRONG_ACTOR);
	/* an organisation cannot pay itself or pass its own review */
	assert_int_equal(order_fsm_decide(OS_AWAITING_PAYMENT, OE_PAID, OA_ORG, 0, &all_met, &next),
			 FSM_WRONG_ACTOR);
	assert_int_equal(order_fsm_decide(OS_SUBMITTED, OE_PASS, OA_ORG, 0, &all_met, &next),
			 FSM_WRONG_ACTOR);
}

static void test_submit_guards(void **state)
{
	const char *codes[4];
	enum order_state next;
	(void)state;

	for (unsigned m = 0; m < 16; m++) {
		struct order_facts f = {!!(m & 1), !!(m & 2), !!(m & 4), !!(m & 8)};
		int v = order_fsm_decide(OS_DRAFT, OE_SUBMIT, OA_ORG, 0, &f, &next);
		int n = order_fsm_missing(&f, codes);
		assert_int_equal(v, m == 15 ? FSM_OK : FSM_GUARD_FAILED);
		assert_int_equal(n, 4 - __builtin_popcount(m));
	}
	struct order_facts only_docs = {0, 1, 1, 1};
	assert_int_equal(order_fsm_missing(&only_docs, codes), 1);
	assert_string_equal(codes[0], "documents_missing");
	/* guards bind submit only */
	struct order_facts none = {0, 0, 0, 0};
	assert_int_equal(order_fsm_decide(OS_DRAFT, OE_DELETE, OA_ORG, 0, &none, &next), FSM_OK);
}

static void test_names_and_labels(void **state)
{
	(void)state;
	for (int s = 0; s < OS_COUNT; s++) {
		assert_non_null(order_state_label(s));
		assert_non_null(order_state_next_step(s));
		assert_int_equal(order_state_from_name(order_state_name(s)), s);
	}
	for (int e = 0; e < OE_COUNT; e++)
		assert_non_null(order_event_name(e));
	assert_string_equal(order_state_label(OS_AWAITING_PAYMENT), "预审通过，待付款");
	assert_int_equal(order_state_from_name("nonsense"), -1);
	assert_null(order_state_name(OS_COUNT));
	assert_true(order_state_live(OS_COMPLETED));
	assert_false(order_state_live(OS_DELETED));
	assert_false(order_state_live(OS_REFUNDED));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exhaustive),
		cmocka_unit_test(test_admin_is_not_every_role),
		cmocka_unit_test(test_submit_guards),
		cmocka_unit_test(test_names_and_labels),
	};
	return cmocka_run_group_tests_name("order_fsm", tests, NULL, NULL);
}
