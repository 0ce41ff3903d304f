/* Shared inside src/seal (seal_der.c, seal_verify.c, seal_make.c): a small DER writer. */
#ifndef CERTDESK_SEAL_INTERNAL_H
#define CERTDESK_SEAL_INTERNAL_H
#include <stddef.h>

/* A growing buffer of DER; fail is set (and the bytes dropped) on out-of-memory or overflow. */
struct dbuf {
	unsigned char *p;
	size_t len, cap;
	int fail;
};

/* Appends n bytes. */
void dbuf_put(struct dbuf *b, const void *d, size_t n);
/* Appends a TLV: tag, the DER length of n, then n bytes of v. */
void dbuf_tlv(struct dbuf *b, int tag, const void *v, size_t n);
/* Appends a TLV holding inner's bytes, then frees inner. */
void dbuf_wrap(struct dbuf *b, int tag, struct dbuf *inner);
/* Appends an INTEGER of v (0 <= v). */
void dbuf_int(struct dbuf *b, long v);
/* Frees b's bytes. */
void dbuf_free(struct dbuf *b);

/* The DER of OID 1.2.156.10197.1.501 (SM2-with-SM3), tag and length included. */
extern const unsigned char seal_sm2_sm3_oid_der[10];

#endif
