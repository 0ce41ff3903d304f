/* The signer protocol's encoding and the client against a fake signer that misbehaves. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "pki/signer_client.h"

static void test_key_ids(void **state)
{
	(void)state;
	assert_true(signer_key_id_valid("rsa2048-issuing-1", 17));
	assert_true(signer_key_id_valid("a", 1));
	assert_true(signer_key_id_valid("0123456789012345678901234567890123456789", 40));
	assert_false(signer_key_id_valid("01234567890123456789012345678901234567890", 41));
	assert_false(signer_key_id_valid("", 0));
	assert_false(signer_key_id_valid("Rsa", 3));
	assert_false(signer_key_id_valid("a/b", 3));
	assert_false(signer_key_id_valid("a.b", 3));
	assert_false(signer_key_id_valid("a\0b", 3));
}

static void test_request_head(void **state)
{
	unsigned char h[SIGNER_REQ_HEAD_LEN];
	struct signer_req_head d = {0};
	const char *why = NULL;
	(void)state;

	assert_int_equal(signer_req_head_encode(h, 1, 17, 65536), 0);
	assert_memory_equal(h, "CDS1\x01\x11\x00\x01\x00\x00", SIGNER_REQ_HEAD_LEN);
	assert_int_equal(signer_req_head_decode(h, &d, &why), 0);
	assert_int_equal(d.kind, 1);
	assert_int_equal(d.key_id_len, 17);
	assert_int_equal(d.data_len, 65536);

	assert_int_equal(signer_req_head_encode(h, 0, 1, 1), -1);
	assert_int_equal(signer_req_head_encode(h, 5, 1, 1), -1);
	assert_int_equal(signer_req_head_encode(h, 4, 0, 1), -1);
	assert_int_equal(signer_req_head_encode(h, 4, 41, 1), -1);
	assert_int_equal(signer_req_head_encode(h, 4, 1, 0), -1);
	assert_int_equal(signer_req_head_encode(h, 4, 1, 65537), -1);

	/* Hostile heads: each field out of its limit. */
	memcpy(h, "CDS1\x01\x05\x00\x01\x00\x01", SIGNER_REQ_HEAD_LEN);
	assert_int_equal(signer_req_head_decode(h, &d, &why), -1);
	assert_string_equal(why, "bad request: data length");
	memcpy(h, "CDS1\x01\x05\xff\xff\xff\xff", SIGNER_REQ_HEAD_LEN);
	assert_int_equal(signer_req_head_decode(h, &d, &why), -1);
	memcpy(h, "CDS1\x01\x29\x00\x00\x00\x01", SIGNER_REQ_HEAD_LEN);
	assert_int_equal(signer_req_head_decode(h, &d, &why), -1);
	assert_string_equal(why, "bad request: key id length");
	memcpy(h, "CDS1\x09\x05\x00\x00\x00\x01", SIGNER_REQ_HEAD_LEN);
	assert_int_equal(signer_req_head_decode(h, &d, &why), -1);
	assert_string_equal(why, "bad request: unknown kind");
	memcpy(h, "CDS2\x01\x05\x00\x00\x00\x01", SIGNER_REQ_HEAD_LEN);
	assert_int_equal(signer_req_head_decode(h, &d, &why), -1);
	assert_string_equal(why, "bad request: magic");
}

static void test_reply_head(void **state)
{
	unsigned char h[SIGNER_REP_HEAD_LEN];
	struct signer_rep_head d = {0};
	(void)state;

	assert_int_equal(signer_rep_head_encode(h, SIGNER_OK, 256), 0);
	assert_memory_equal(h, "CDS1\x00\x00\x00\x01\x00", SIGNER_REP_HEAD_LEN);
	assert_int_equal(signer_rep_head_decode(h, &d), 0);
	assert_int_equal(d.status, 0);
	assert_int_equal(d.len, 256);
	assert_int_equal(signer_rep_head_encode(h, SIGNER_OK, 0), -1);
	assert_int_equal(signer_rep_head_encode(h, SIGNER_NO_KEY, 0), 0);
	assert_int_equal(signer_rep_head_encode(h, 5, 1), -1);
	assert_int_equal(signer_rep_head_encode(h, SIGNER_REFUSED, SIGNER_MAX_REPLY + 1), -1);

	memcpy(h, "CDS1\x00\x7f\xff\xff\xff", SIGNER_REP_HEAD_LEN);
	assert_int_equal(signer_rep_head_decode(h, &d), -1);
	memcpy(h, "CDS1\x00\x00\x00\x00\x00", SIGNER_REP_HEAD_LEN);
	assert_int_equal(signer_rep_head_decode(h, &d), -1);
	memcpy(h, "CDS1\x05\x00\x00\x00\x01", SIGNER_REP_HEAD_LEN);
	assert_int_equal(signer_rep_head_decode(h, &d), -1);
	memcpy(h, "XDS1\x00\x00\x00\x00\x01", SIGNER_REP_HEAD_LEN);
	assert_int_equal(signer_rep_head_decode(h, &d), -1);
}

/* A fake signer: accepts one connection, checks the request, sends reply (rlen bytes), closes. */
struct fake {
	int lfd;
	const unsigned char *reply;
	size_t rlen;
	unsigned char got[SIGNER_REQ_HEAD_LEN + 64];
	size_t gotlen;
	int stall;
};

static void *fake_serve(void *arg)
{
	struct fake *f = arg;
	int c = accept(f->lfd, NULL, NULL);
	if (c < 0)
		return NULL;
	ssize_t n = recv(c, f->got, 19, MSG_WAITALL); /* the request run_fake sends */
	f->gotlen = n > 0 ? (size_t)n : 0;
	if (f->stall) { /* answer nothing: wait until the client gives up and closes */
		char b;
		while (recv(c, &b, 1, 0) > 0)
			;
	}
	if (f->rlen > 0 && send(c, f->reply, f->rlen, MSG_NOSIGNAL) < 0)
		f->rlen = 0;
	close(c);
	return NULL;
}

/* Runs signer_sign against a fake signer replying with reply; returns signer_sign's result. */
static int run_fake(const void *reply, size_t rlen, unsigned char **sig, size_t *siglen, char *err,
		    size_t errlen, struct fake *f)
{
	char path[] = "/tmp/cd-signer-proto-XXXXXX";
	assert_non_null(mkdtemp(path));
	char sock[64];
	snprintf(sock, sizeof(sock), "%s/s", path);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock);
	f->lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_int_equal(bind(f->lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(f->lfd, 4), 0);
	f->reply = reply;
	f->rlen = rlen;
	pthread_t t;
	pthread_create(&t, NULL, fake_serve, f);
	/* "CDS1" 1 key "ab" + 7 data bytes: exactly 19 bytes, which the fake reads whole. */
	int rc = signer_sign(sock, "ab", 1, (const unsigned char *)"\x30\x05\x02\x01\x01\x05\x00", 7, sig,
			     siglen, err, errlen);
	pthread_join(t, NULL);
	close(f->lfd);
	unlink(sock);
	rmdir(path);
	return rc;
}

static void test_client_ok_and_request_bytes(void **state)
{
	struct fake f = {0};
	unsigned char *sig = NULL;
	size_t siglen = 0;
	char err[256];
	(void)state;

	f.gotlen = 0;
	int rc = run_fake("CDS1\x00\x00\x00\x00\x03xyz", 12, &sig, &siglen, err, sizeof(err), &f);
	assert_int_equal(rc, 0);
	assert_int_equal(siglen, 3);
	assert_memory_equal(sig, "xyz", 3);
	free(sig);
	assert_int_equal(f.gotlen, 19);
	assert_memory_equal(f.got,
			    "CDS1\x01\x02\x00\x00\x00\x07"
			    "ab\x30\x05\x02\x01\x01\x05\x00",
			    19);
}

static void test_client_statuses(void **state)
{
	struct fake f = {0};
	unsigned char *sig = NULL;
	size_t siglen = 0;
	char err[256];
	(void)state;

	assert_int_equal(run_fake("CDS1\x01\x00\x00\x00\x05no\nca", 14, &sig, &siglen, err, sizeof(err), &f),
			 SIGNER_REFUSED);
	assert_null(sig);
	assert_string_equal(err, "signer: refused: no?ca"); /* control characters never reach the logs */
	assert_int_equal(run_fake("CDS1\x02\x00\x00\x00\x00", 9, &sig, &siglen, err, sizeof(err), &f),
			 SIGNER_NO_KEY);
	assert_int_equal(run_fake("CDS1\x03\x00\x00\x00\x00", 9, &sig, &siglen, err, sizeof(err), &f),
			 SIGNER_KEY_UNAVAILABLE);
}

static void test_client_hostile_replies(void **state)
{
	struct fake f = {0};
	unsigned char *sig = NULL;
	size_t siglen = 0;
	char err[256];
	(void)state;

	/* A length beyond the limit is not believed (nothing allocated, -1). */
	assert_int_equal(run_fake("CDS1\x00\x7f\xff\xff\xff", 9, &sig, &siglen, err, sizeof(err), &f), -1);
	/* A reply cut short, an empty OK, a bad magic, no reply at all. */
	assert_int_equal(run_fake("CDS1\x00\x00\x00\x00\x08xyz", 12, &sig, &siglen, err, sizeof(err), &f),
			 -1);
	assert_int_equal(run_fake("CDS1\x00\x00\x00\x00\x00", 9, &sig, &siglen, err, sizeof(err), &f), -1);
	assert_int_equal(run_fake("HTTP/1.1 200", 12, &sig, &siglen, err, sizeof(err), &f), -1);
	assert_int_equal(run_fake("", 0, &sig, &siglen, err, sizeof(err), &f), -1);
	assert_null(sig);
}

/* A signer that accepts the request and never answers: the client gives up after 10 s, not later. */
static void test_client_timeout(void **state)
{
	struct fake f = {.stall = 1};
	unsigned char *sig = NULL;
	size_t siglen = 0;
	char err[256];
	(void)state;

	int64_t t0 = signer_now_ms();
	assert_int_equal(run_fake("", 0, &sig, &siglen, err, sizeof(err), &f), -1);
	int64_t ms = signer_now_ms() - t0;
	assert_true(ms >= SIGNER_IO_TIMEOUT_MS - 100 && ms < SIGNER_IO_TIMEOUT_MS + 3000);
	assert_non_null(strstr(err, "timed out"));
}

static void test_client_unreachable_and_bad_args(void **state)
{
	unsigned char *sig = NULL;
	size_t siglen = 0;
	char err[256];
	unsigned char big[1] = {0x30};
	(void)state;

	assert_int_equal(
		signer_sign("/nonexistent/signer.sock", "ab", 1, big, 1, &sig, &siglen, err, sizeof(err)),
		-1);
	assert_non_null(strstr(err, "unreachable"));
	assert_int_equal(
		signer_sign("/nonexistent/signer.sock", "AB", 1, big, 1, &sig, &siglen, err, sizeof(err)),
		SIGNER_REFUSED);
	assert_int_equal(
		signer_sign("/nonexistent/signer.sock", "ab", 7, big, 1, &sig, &siglen, err, sizeof(err)),
		SIGNER_REFUSED);
	assert_int_equal(
		signer_sign("/nonexistent/signer.sock", "ab", 1, big, 65537, &sig, &siglen, err, sizeof(err)),
		SIGNER_REFUSED);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_key_ids),
		cmocka_unit_test(test_request_head),
		cmocka_unit_test(test_reply_head),
		cmocka_unit_test(test_client_ok_and_request_bytes),
		cmocka_unit_test(test_client_statuses),
		cmocka_unit_test(test_client_hostile_replies),
		cmocka_unit_test(test_client_unreachable_and_bad_args),
		cmocka_unit_test(test_client_timeout),
	};
	return cmocka_run_group_tests_name("signer_proto", tests, NULL, NULL);
}
