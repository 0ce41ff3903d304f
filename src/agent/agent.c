/* The agent's state: the loaded modules, the sessions, one lock for token work (agent.h). */
#include <openssl/crypto.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agent/agent.h"
#include "agent/drivers.h"
#include "util/strutil.h"
#include "util/xalloc.h"

#define MAX_SESSIONS 64
#define DRIVERS_CACHE_S 60 /* the driver scan walks directories: at most once a minute */

struct session {
	char token[33];
	char key[TOK_ID_MAX];
	char origin[256];
	time_t last;
	struct token_module *m;
};

struct agent {
	struct agent_config cfg;
	struct token_module *mods[AGENT_MAX_MODULES];
	int nmods, np11, nskf;
	struct session sessions[MAX_SESSIONS];
	pthread_mutex_t lock;
	json_t *drivers; /* the last scan of other CA vendors' drivers, NULL before the first */
	time_t drivers_at;
};

/* Loads each path of the comma-separated p11 list. */
static void load_p11(struct agent *a)
{
	char list[sizeof(a->cfg.p11_modules)], *save = NULL;

	str_copy(list, a->cfg.p11_modules, sizeof(list));
	for (char *t = strtok_r(list, ", \t", &save); t != NULL; t = strtok_r(NULL, ", \t", &save))
		if (a->nmods < AGENT_MAX_MODULES)
			agent_add_module(a, token_p11_load(t, a->np11 + 1, a->cfg.p11_transport_so_pin));
	if (a->cfg.p11kit) {
		struct token_module **extra = NULL;
		int n = 0;
		token_p11_load_registered(&extra, &n, a->np11 + 1, a->cfg.p11_transport_so_pin);
		for (int i = 0; i < n; i++) {
			if (a->nmods < AGENT_MAX_MODULES)
				agent_add_module(a, extra[i]);
			else
				extra[i]->ops->unload(extra[i]);
		}
		free(extra);
	}
}

/* Loads each path:bits of the SKF list. */
static void load_skf(struct agent *a)
{
	char list[sizeof(a->cfg.skf_libraries)], *save = NULL;

	str_copy(list, a->cfg.skf_libraries, sizeof(list));
	for (char *t = strtok_r(list, ", \t", &save); t != NULL && a->nmods < AGENT_MAX_MODULES;
	     t = strtok_r(NULL, ", \t", &save)) {
		char *colon = strrchr(t, ':');
		int bits = colon != NULL ? atoi(colon + 1) : 32;
		if (colon != NULL)
			*colon = '\0';
		if (bits == 64)
			agent_add_module(a, token_skf64_load(t, a->nskf, a->cfg.devauth_key));
		else
			agent_add_module(a, token_skf32_load(t, a->nskf, a->cfg.devauth_key));
	}
}

struct agent *agent_new(const struct agent_config *c)
{
	struct agent *a = xcalloc(sizeof(*a));

	a->cfg = *c;
	pthread_mutex_init(&a->lock, NULL);
	load_p11(a);
	load_skf(a);
	return a;
}

void agent_add_module(struct agent *a, struct token_module *m)
{
	if (a->nmods >= AGENT_MAX_MODULES) {
		m->ops->unload(m);
		return;
	}
	if (strcmp(m->kind, "skf") == 0)
		a->nskf++;
	else
		a->np11++;
	a->mods[a->nmods++] = m;
}

void agent_free(struct agent *a)
{
	for (int i = 0; i < MAX_SESSIONS; i++)
		if (a->sessions[i].token[0] != '\0')
			agent_session_end(a, a->sessions[i].token, a->sessions[i].key);
	for (int i = 0; i < a->nmods; i++)
		a->mods[i]->ops->unload(a->mods[i]);
	json_decref(a->drivers);
	pthread_mutex_destroy(&a->lock);
	free(a);
}

void agent_id_prefix(const struct token_module *m, char out[16])
{
	if (strcmp(m->kind, "skf") == 0)
		snprintf(out, 16, "skf%d:", m->index);
	else
		snprintf(out, 16, "p11-%d-", m->index);
}

struct token_module *agent_module_of(struct agent *a, const char *id)
{
	char prefix[16];

	for (int i = 0; i < a->nmods; i++) {
		agent_id_prefix(a->mods[i], prefix);
		if (a->mods[i]->ok && strncmp(id, prefix, strlen(prefix)) == 0)
			return a->mods[i];
	}
	return NULL;
}

/* The other CA vendors' drivers on the PC, without the libraries the agent loads itself (every
 * module's path, compared by realpath); rescanned when the last scan is a minute old. */
static json_t *other_drivers(struct agent *a)
{
	const char *own[AGENT_MAX_MODULES];
	time_t now = time(NULL);

	if (a->drivers == NULL || now - a->drivers_at >= DRIVERS_CACHE_S || now < a->drivers_at) {
		for (int i = 0; i < a->nmods; i++)
			own[i] = a->mods[i]->path;
		json_decref(a->drivers);
		a->drivers = agent_drivers_scan(a->cfg.driver_dirs, own, (size_t)a->nmods);
		a->drivers_at = now;
	}
	return json_deep_copy(a->drivers);
}

json_t *agent_status_json(struct agent *a)
{
	json_t *mods = json_array();

	for (int i = 0; i < a->nmods; i++) {
		struct token_module *m = a->mods[i];
		json_t *o = json_pack("{s:s, s:s, s:s, s:b}", "kind", m->kind, "name", m->name, "path",
				      m->path, "ok", m->ok);
		if (strcmp(m->kind, "skf") == 0)
			json_object_set_new(o, "ulong_bits", json_integer(m->ulong_bits));
		if (!m->ok)
			json_object_set_new(o, "error", json_string(m->error));
		json_array_append_new(mods, o);
	}
	return json_pack("{s:s, s:o, s:o}", "version", CERTDESK_VERSION, "modules", mods, "other_drivers",
			 other_drivers(a));
}

static void sessions_prune(struct agent *a);

json_t *agent_keys_json(struct agent *a)
{
	json_t *keys = json_array();

	sessions_prune(a); /* a key pulled out and plugged back in is listed through fresh handles */
	for (int i = 0; i < a->nmods; i++)
		if (a->mods[i]->ok)
			a->mods[i]->ops->list_keys(a->mods[i], keys);
	return json_pack("{s:o}", "keys", keys);
}

void agent_lock(struct agent *a)
{
	pthread_mutex_lock(&a->lock);
}

void agent_unlock(struct agent *a)
{
	pthread_mutex_unlock(&a->lock);
}

const struct agent_config *agent_cfg(const struct agent *a)
{
	return &a->cfg;
}

/* Frees slot s, logging its key out when no other session uses it. */
static void session_clear(struct agent *a, struct session *s)
{
	int others = 0;

	for (int i = 0; i < MAX_SESSIONS; i++)
		if (&a->sessions[i] != s && a->sessions[i].token[0] != '\0' &&
		    strcmp(a->sessions[i].key, s->key) == 0)
			others++;
	if (others == 0 && s->m != NULL)
		s->m->ops->logout(s->m, s->key);
	OPENSSL_cleanse(s, sizeof(*s));
}

/* Ends the sessions idle for longer than the configured time (10 minutes by default). */
static void sessions_expire(struct agent *a)
{
	time_t now = time(NULL);

	for (int i = 0; i < MAX_SESSIONS; i++)
		if (a->sessions[i].token[0] != '\0' && now - a->sessions[i].last > a->cfg.session_idle_s)
			session_clear(a, &a->sessions[i]);
}

/* Ends the sessions whose key's login is gone: the key was pulled out, even when it has been plugged
 * back in since (its login and handles died with the removal), so the page is told to log in again. */
static void sessions_prune(struct agent *a)
{
	for (int i = 0; i < MAX_SESSIONS; i++) {
		struct session *s = &a->sessions[i];
		char key[TOK_ID_MAX];
		if (s->token[0] == '\0' || s->m == NULL || s->m->ops->logged_in(s->m, s->key))
			continue;
		str_copy(key, s->key, sizeof(key)); /* clearing the slot wipes s->key */
		agent_sessions_drop_key(a, key);
	}
}

void agent_session_new(struct agent *a, struct token_module *m, const char *id, const char *origin,
		       char out[33])
{
	struct session *s = NULL, *oldest = &a->sessions[0];

	sessions_expire(a);
	for (int i = 0; i < MAX_SESSIONS && s == NULL; i++) {
		if (a->sessions[i].token[0] == '\0')
			s = &a->sessions[i];
		else if (a->sessions[i].last < oldest->last)
			oldest = &a->sessions[i];
	}
	if (s == NULL) { /* full: the least recently used one goes, its key stays logged in for the new one */
		s = oldest;
		OPENSSL_cleanse(s, sizeof(*s));
	}
	tok_random_hex(s->token, 16);
	str_copy(s->key, id, sizeof(s->key));
	str_copy(s->origin, origin != NULL ? origin : "", sizeof(s->origin));
	s->m = m;
	s->last = time(NULL);
	memcpy(out, s->token, 33);
}

int agent_session_check(struct agent *a, const char *token, const char *id, const char *origin)
{
	sessions_expire(a);
	if (token == NULL || strlen(token) != 32)
		return 0;
	for (int i = 0; i < MAX_SESSIONS; i++) {
		struct session *s = &a->sessions[i];
		if (s->token[0] != '\0' && CRYPTO_memcmp(s->token, token, 32) == 0) {
			if (strcmp(s->key, id) != 0 || strcmp(s->origin, origin != NULL ? origin : "") != 0)
				return 0;
			if (s->m != NULL && !s->m->ops->logged_in(s->m, s->key)) {
				agent_sessions_drop_key(a, id); /* the key was pulled out: log in again */
				return 0;
			}
			s->last = time(NULL);
			return 1;
		}
	}
	return 0;
}

void agent_session_end(struct agent *a, const char *token, const char *id)
{
	for (int i = 0; i < MAX_SESSIONS; i++) {
		struct session *s = &a->sessions[i];
		if (s->token[0] != '\0' && strcmp(s->token, token) == 0 && strcmp(s->key, id) == 0)
			session_clear(a, s);
	}
}

void agent_sessions_drop_key(struct agent *a, const char *id)
{
	for (int i = 0; i < MAX_SESSIONS; i++)
		if (a->sessions[i].token[0] != '\0' && strcmp(a->sessions[i].key, id) == 0)
			session_clear(a, &a->sessions[i]);
}
