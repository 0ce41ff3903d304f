/* Reading and validating JSON request fields: every problem is collected with its field name and a
 * Chinese message, and the reply lists them all ({"error": first, "errors": [...]}). */
#ifndef CERTDESK_FORM_H
#define CERTDESK_FORM_H
#include <jansson.h>
#include <stddef.h>

struct http_req;

struct form {
	struct http_req *r;
	json_t *body;    /* borrowed */
	json_t *errors;  /* array */
	unsigned status; /* status of the reply: 422 unless an error asks for another */
};

/* Starts validating body (a JSON object) for request r. */
void form_init(struct form *f, struct http_req *r, json_t *body);
/* Records a problem with field (may be NULL); the first problem's status wins. */
void form_error(struct form *f, unsigned status, const char *field, const char *code, const char *message);
/* Returns the trimmed string field name (label is its Chinese name for messages) of minc to maxc
 * characters, or NULL: absent or nothing but white space (an error when required) or invalid (an
 * error recorded: not UTF-8, control characters, invisible or direction-control characters, see
 * str_has_invisible). The text is owned by the body. */
const char *form_text(struct form *f, const char *name, const char *label, long minc, long maxc,
		      int required);
/* Returns the boolean field name (absent: 0); a non-boolean is an error. */
int form_bool(struct form *f, const char *name);
/* Returns 1 when problems were recorded. */
int form_failed(const struct form *f);
/* Replies with the recorded problems and frees them (form_free is then a no-op); returns 0. */
int form_reply(struct form *f);
/* Ends a handler: replies with the recorded problems, or else with status and ok (stolen; freed
 * when unused); releases the form and the request body (may be NULL). Returns 0. */
int form_finish(struct form *f, json_t *body, unsigned status, json_t *ok);
/* Frees what the form holds (the body is not the form's). */
void form_free(struct form *f);

#endif
