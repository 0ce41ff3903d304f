/* The order's state machine: every state, every event, who may fire it and what it needs. Pure
 * code: the caller gathers the facts (struct order_facts) and applies the answer.
 *
 *  draft --submit--> submitted --pass--> awaiting_payment --paid--> awaiting_paper --courier--> paper_sent
 *  submitted --reject--> rejected --submit--> submitted
 *  paper_sent --paper_bad--> paper_rejected --courier--> paper_sent
 *  paper_sent --paper_ok--> producing --made--> produced --ship--> shipped --complete--> completed
 *  draft | submitted | rejected --delete--> deleted
 *  awaiting_paper | paper_sent | paper_rejected --cancel--> refunding --refunded--> refunded
 *
 * Renewals (orders of kind 'renewal', api/renewal.c; issue 15) have their own path through the same
 * names: awaiting_payment --paid--> paid --issue--> issued --confirm--> completed, and an unpaid one
 * superseded by a new attempt (or given up by its user) --> cancelled; a paid one not yet issued
 * --cancel--> refunding (finance, with a refund) --refunded--> refunded.
 */
#ifndef CERTDESK_ORDER_FSM_H
#define CERTDESK_ORDER_FSM_H

enum order_state {
	OS_DRAFT,
	OS_SUBMITTED,
	OS_REJECTED,
	OS_AWAITING_PAYMENT,
	OS_AWAITING_PAPER,
	OS_PAPER_SENT,
	OS_PAPER_REJECTED,
	OS_PRODUCING,
	OS_PRODUCED,
	OS_SHIPPED,
	OS_COMPLETED,
	OS_DELETED,
	OS_REFUNDING,
	OS_REFUNDED,
	OS_PAID,      /* renewal: paid, certificates not yet issued */
	OS_ISSUED,    /* renewal: renewed certificates issued, not yet confirmed on the key */
	OS_CANCELLED, /* renewal: unpaid, superseded */
	OS_COUNT
};

enum order_event {
	OE_EDIT, /* change the order's data: not a transition, but allowed only in some states */
	OE_SUBMIT,
	OE_PASS,
	OE_REJECT,
	OE_PAID,
	OE_COURIER,
	OE_PAPER_OK,
	OE_PAPER_BAD,
	OE_MADE,
	OE_SHIP,
	OE_COMPLETE,
	OE_DELETE,
	OE_CANCEL,
	OE_REFUNDED,
	OE_COUNT
};

/* Who fires an event. Staff act through their roles (enum role of core/roles.h). */
enum order_actor { OA_ORG, OA_STAFF, OA_SYSTEM };

/* Facts the guards need, gathered by the caller. */
struct order_facts {
	int documents_complete; /* every document the key type requires is uploaded and accepted */
	int verified;           /* a successful legal-person verification bound to this order */
	int uscc_ok;            /* the organisation's USCC passed its check or staff confirmed it */
	int form_complete;      /* every order field the key type requires is filled in */
};

enum fsm_verdict {
	FSM_OK = 0,
	FSM_WRONG_STATE,  /* the event does not apply in this state (409) */
	FSM_WRONG_ACTOR,  /* this actor may not fire it (403) */
	FSM_GUARD_FAILED, /* a precondition is missing (422): see fsm_missing */
};

/* Decides event e on an order in state s fired by actor (with staff role bits roles when staff).
 * Returns an enum fsm_verdict; on FSM_OK *next is the new state (s itself for OE_EDIT). */
int order_fsm_decide(enum order_state s, enum order_event e, enum order_actor actor, unsigned roles,
		     const struct order_facts *f, enum order_state *next);
/* For a FSM_GUARD_FAILED submit, writes the missing preconditions' codes (documents_missing,
 * verification_missing, uscc_unconfirmed, form_incomplete) into codes; returns how many. */
int order_fsm_missing(const struct order_facts *f, const char *codes[4]);

/* Code name (GLOSSARY) and Chinese label of a state; NULL when out of range. */
const char *order_state_name(enum order_state s);
const char *order_state_label(enum order_state s);
/* What the organisation should do next in state s, in Chinese. */
const char *order_state_next_step(enum order_state s);
/* Returns the state named name, or -1. */
int order_state_from_name(const char *name);
/* Code name of an event ("submit", ...); NULL when out of range. */
const char *order_event_name(enum order_event e);
/* Returns 1 when an order in state s still counts as a live key (the one-main-key rule). */
int order_state_live(enum order_state s);

#endif
