#define _GNU_SOURCE /* struct ucred */
/* One connection: read the request (exact lengths, limits checked before anything is read), find the
 * key, check what is to be signed, sign, log, reply, close. Nothing leaves without its log line. */
#include "signer/signer.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "pki/signer_client.h"
#include "util/log.h"

static pthread_rwlock_t keys_lock = PTHREAD_RWLOCK_INITIALIZER;
static struct keystore *keys;

const struct keystore *serve_keys_acquire(void)
{
	pthread_rwlock_rdlock(&keys_lock);
	return keys;
}

void serve_keys_release(void)
{
	pthread_rwlock_unlock(&keys_lock);
}

void serve_keys_swap(struct keystore *ks)
{
	pthread_rwlock_wrlock(&keys_lock); /* waits for the requests signing with the old keys */
	struct keystore *old = keys;
	keys = ks;
	pthread_rwlock_unlock(&keys_lock);
	keystore_free(old);
}

/* Sends a reply; the peer may be gone, which changes nothing here. */
static void reply(int fd, int status, const void *body, size_t len, int64_t deadline)
{
	unsigned char head[SIGNER_REP_HEAD_LEN];

	if (len > SIGNER_MAX_REPLY)
		len = SIGNER_MAX_REPLY;
	if (signer_rep_head_encode(head, status, len) != 0)
		return;
	if (signer_write_full(fd, head, sizeof(head), deadline) == 0 && len > 0)
		signer_write_full(fd, body, len, deadline);
}

/* Logs e and answers its status with its reason. */
static void refuse(int fd, struct siglog_entry *e, int status, const char *reason, int64_t deadline)
{
	e->status = status;
	e->reason = reason;
	if (siglog_write(e) != 0)
		log_error("signer", "cannot write the log");
	reply(fd, status, reason, strlen(reason), deadline);
}

/* Checks and signs data with key id under the current keys; answers on fd. */
static void sign_and_reply(int fd, struct siglog_entry *e, const unsigned char *data, size_t len,
			   int64_t deadline)
{
	struct check_info info = {0};
	char why[256] = "";
	unsigned char *sig = NULL;
	size_t siglen = 0;
	int rc;

	const struct keystore *ks = serve_keys_acquire();
	const struct signer_key *k = keystore_find(ks, e->key_id);
	if (k == NULL) {
		serve_keys_release();
		refuse(fd, e, SIGNER_NO_KEY, "no such key", deadline);
		return;
	}
	rc = checks_request(k, e->kind, data, len, &info, why, sizeof(why));
	if (rc == 0 && e->kind == SIGNER_KIND_SEAL) /* the seal's certificates: issued by a CA here */
		rc = keystore_seal_issuers(ks, data, len, why, sizeof(why));
	e->serial = info.serial;
	if (rc != 0) {
		serve_keys_release();
		refuse(fd, e, SIGNER_REFUSED, why, deadline);
		return;
	}
	rc = k->be->sign(k->state, k->alg, data, len, &sig, &siglen, why, sizeof(why));
	serve_keys_release();
	if (rc != 0) {
		refuse(fd, e, rc, why[0] != '\0' ? why : "signing failed", deadline);
		return;
	}
	e->status = SIGNER_OK;
	if (siglog_write(e) != 0) { /* an unlogged signature never leaves */
		OPENSSL_free(sig);
		reply(fd, SIGNER_INTERNAL, "log write failed", 16, deadline);
		log_error("signer", "cannot write the log: signature withheld");
		return;
	}
	reply(fd, SIGNER_OK, sig, siglen, deadline);
	OPENSSL_free(sig);
}

void serve_connection(int fd)
{
	int64_t deadline = signer_now_ms() + SIGNER_IO_TIMEOUT_MS;
	unsigned char head[SIGNER_REQ_HEAD_LEN];
	char id[SIGNER_MAX_KEY_ID + 1];
	struct signer_req_head h = {0};
	struct siglog_entry e = {.peer_uid = -1, .peer_pid = -1};
	struct ucred cred = {0};
	socklen_t cl = sizeof(cred);
	unsigned char *data = NULL;
	const char *why = NULL;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cl) == 0) {
		e.peer_uid = (long)cred.uid;
		e.peer_pid = (long)cred.pid;
	}
	if (signer_read_full(fd, head, sizeof(head), deadline) != 0)
		goto out; /* nothing asked, nothing to log */
	if (signer_req_head_decode(head, &h, &why) != 0) {
		refuse(fd, &e, SIGNER_REFUSED, why, deadline);
		goto out;
	}
	e.kind = h.kind;
	if (signer_read_full(fd, id, h.key_id_len, deadline) != 0)
		goto out;
	id[h.key_id_len] = '\0';
	if (!signer_key_id_valid(id, h.key_id_len)) {
		refuse(fd, &e, SIGNER_REFUSED, "bad request: key id", deadline);
		goto out;
	}
	e.key_id = id;
	if ((data = malloc(h.data_len)) == NULL || signer_read_full(fd, data, h.data_len, deadline) != 0)
		goto out;
	e.tbs = data;
	e.tbslen = h.data_len;
	sign_and_reply(fd, &e, data, h.data_len, deadline);
out:
	free(data);
	close(fd);
}
