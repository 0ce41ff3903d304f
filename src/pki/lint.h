/* Pre-issuance lints, as Let's Encrypt runs them: the certificate is first built and signed with a
 * throwaway key of the CA's type (pki_tbs_build), every lint below reads that whole certificate, and
 * only one with no error is sent to the real key. Each lint is a small pure function. */
#ifndef CERTDESK_PKI_LINT_H
#define CERTDESK_PKI_LINT_H
#include <stddef.h>

#include <openssl/x509.h>

struct cert_profile_rec;

/* What a lint looks at. */
struct pki_lint_in {
	X509 *cert;
	X509 *ca;
	const struct cert_profile_rec *profile;
	const char *uscc;
};

struct pki_lint {
	const char *name; /* e.g. "e_serial_positive" (e_: an error stops issuance) */
	/* Returns 0 when the certificate passes, else 1 with the reason (English) in why. */
	int (*check)(const struct pki_lint_in *in, char *why, size_t whylen);
};

/* The lint list and its length. */
extern const struct pki_lint pki_lints[];
extern const int pki_lint_count;

/* Runs every lint on cert; returns 0 when all pass, else -1 with "<lint name>: <reason>" of the
 * first failure in err. */
int pki_lint_run(X509 *cert, X509 *ca, const struct cert_profile_rec *profile, const char *uscc, char *err,
		 size_t errlen);
/* Returns the lint named name, or NULL. */
const struct pki_lint *pki_lint_find(const char *name);

#endif
