/* The signer's own append-only log: one JSON object per line for every signature and every refusal,
 * written with O_APPEND and fsync'd before the signature is handed out, so no signature exists that
 * the log does not show. The lines are written by one thread at a time. */
#include "signer/signer.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "pki/signer_client.h"
#include "util/timefmt.h"

static int log_fd = -1;
static pthread_mutex_t log_mu = PTHREAD_MUTEX_INITIALIZER;

int siglog_open(const char *path, char *err, size_t errlen)
{
	log_fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0640);
	if (log_fd < 0) {
		snprintf(err, errlen, "log %s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

void siglog_close(void)
{
	if (log_fd >= 0)
		close(log_fd);
	log_fd = -1;
}

/* Writes the SHA-256 of p (n bytes) in hex into out (65 bytes). */
static void sha256_hex(const unsigned char *p, size_t n, char out[65])
{
	unsigned char md[32];
	unsigned int mdlen = 0;

	out[0] = '\0';
	if (EVP_Digest(p, n, md, &mdlen, EVP_sha256(), NULL) != 1)
		return;
	for (unsigned int i = 0; i < mdlen; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
}

/* Builds the JSON object of e. */
static json_t *entry_json(const struct siglog_entry *e)
{
	char now[TIMEFMT_LEN], hex[65] = "";
	json_t *o = json_object();

	json_object_set_new(o, "time", json_string(timefmt_now_ms(now)));
	json_object_set_new(o, "key", e->key_id != NULL ? json_string(e->key_id) : json_null());
	json_object_set_new(o, "kind", json_integer(e->kind));
	json_object_set_new(o, "kind_name", json_string(checks_kind_name(e->kind)));
	if (e->tbs != NULL) {
		sha256_hex(e->tbs, e->tbslen, hex);
		json_object_set_new(o, "tbs_sha256", json_string(hex));
		json_object_set_new(o, "tbs_len", json_integer((json_int_t)e->tbslen));
	}
	if (e->serial != NULL && e->serial[0] != '\0')
		json_object_set_new(o, "serial", json_string(e->serial));
	json_object_set_new(o, "peer_uid", json_integer(e->peer_uid));
	json_object_set_new(o, "peer_pid", json_integer(e->peer_pid));
	json_object_set_new(o, "result",
			    json_string(e->status == SIGNER_OK ? "signed" : signer_status_name(e->status)));
	if (e->reason != NULL)
		json_object_set_new(o, "reason", json_string(e->reason)); /* NULL when not UTF-8: dropped */
	return o;
}

int siglog_write(const struct siglog_entry *e)
{
	json_t *o = entry_json(e);
	char *line = json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII);
	int rc = -1;

	json_decref(o);
	if (line == NULL)
		return -1;
	size_t n = strlen(line);
	line[n] = '\n'; /* replaces the NUL: written by length below */
	pthread_mutex_lock(&log_mu);
	if (log_fd >= 0 && write(log_fd, line, n + 1) == (ssize_t)(n + 1) && fsync(log_fd) == 0)
		rc = 0;
	pthread_mutex_unlock(&log_mu);
	free(line);
	return rc;
}
