/* Abuse limits of the account endpoints, in one place, and the lockout that applies them to
 * passwords (auth.c): see README, "Lockouts". */
#ifndef CERTDESK_LIMITS_H
#define CERTDESK_LIMITS_H
#include <stdint.h>

#define SMS_TTL_S 300              /* an SMS code lives 5 minutes */
#define SMS_MAX_ATTEMPTS 5         /* wrong guesses before a code is dead */
#define SMS_PER_MOBILE_IP_MINUTE 1 /* codes to one mobile asked from one address per minute */
#define SMS_PER_MOBILE_IP_HOUR 5   /* ... and per hour: others cannot use up the owner's quota */
#define SMS_PER_MOBILE_HOUR 20     /* codes to one mobile from all addresses per hour (SMS budget) */
#define LOGIN_MAX_FAILURES 5       /* wrong passwords for one account from one address ... */
#define LOGIN_LOCK_S 900           /* ... lock it from that address for 15 minutes */
#define LOGIN_ACCOUNT_FAILURES 20  /* wrong passwords for one account from all addresses ... */
#define LOGIN_ACCOUNT_LOCK_S 3600  /* ... lock it for an hour, except from addresses it used before */
#define LOGIN_IP_FAILURES 30       /* failed logins from one address per window, any account */
#define LOGIN_IP_WINDOW_S 900
#define PASSWORD_CHANGE_FAILURES 5 /* wrong current passwords on the account page ... */
#define PASSWORD_CHANGE_LOCK_S 900 /* ... stop password changes for 15 minutes */

struct http_req;
struct db_conn;
struct form;

struct login_gate {
	char account[96]; /* the counter's name, "org:<USCC>" or "staff:<username>" */
	int64_t attempts; /* attempts from this address, this one included */
	char until[32];   /* when the lock ends (locked), or when the count would be forgotten */
	int locked;       /* 1: refused without looking at the password */
	int everywhere;   /* locked by the count of all addresses (else by this address's) */
};

/* One login attempt past its gate, to check and record (api_login_check). */
struct login_try {
	struct http_req *r;
	const struct login_gate *g;
	const char *session_kind; /* "org" or "staff" */
	int64_t id;               /* the account, 0 when the name has none */
	const char *object;       /* of the audit entries: "organisation" or "staff" */
	const char *name;         /* as typed: the USCC or the username */
	const char *ip_bucket;    /* the rate bucket of the address's failed logins, "login-ip" */
	int disabled;             /* the account may not log in: even its right password fails */
};

/* Counts a login attempt on account (kind "org" or "staff", name as typed, known or not) from the
 * client's address before its password is checked; g->locked says it is refused. Returns DB_OK or < 0. */
int api_login_gate(struct http_req *r, struct db_conn *c, const char *kind, const char *name,
		   struct login_gate *g);
/* Records a right password for the gate's account from the client's address. Returns DB_OK or < 0. */
int api_login_passed(struct http_req *r, struct db_conn *c, const struct login_gate *g);
/* Checks pw against hash (NULL: no such account, the same time is spent) with no pooled connection
 * held, then records the outcome in one transaction: a right one starts the session of t->id and
 * resets the address's count, a wrong one (or any for a disabled account) counts on t->ip_bucket;
 * both audited. Returns 1 for a
 * right password, 0 for a wrong one, -1 when it could not be recorded. */
int api_login_check(struct login_try *t, const char *hash, const char *pw);
/* Returns 1 when the client's address has LOGIN_IP_FAILURES failed logins on ip_bucket. */
int api_login_ip_blocked(struct http_req *r, struct db_conn *c, const char *ip_bucket);
/* Records a wrong password in f: what ("用户名或密码错误"), and how many tries this address has
 * left on the account (the lock error after the last one). The same for unknown names. */
void api_login_wrong(struct form *f, const struct login_gate *g, const char *what, const char *hint);
/* Records the lock error of a gate in f: 429 account_locked with the Beijing time it ends and hint
 * (what else the user can do). */
void api_login_locked(struct form *f, const struct login_gate *g, const char *hint);
/* Formats a UTC time stamp as Beijing time "HH:MM" (UTC+8 all year) into out. */
void api_beijing_hhmm(const char *utc, char out[8]);

#endif
