/* The data of an order (unit, legal person, handler, invoice, recipient, seal): one flat JSON object,
 * every field validated on the server; missing fields are allowed in a draft and listed. */
#ifndef CERTDESK_ORDER_FORM_H
#define CERTDESK_ORDER_FORM_H
#include <jansson.h>

struct form;
struct org_rec;

/* Validates the fields present in in (a JSON object; errors go to f under the field's name) and
 * returns a new object with the normalised values of those fields that apply to key_type, merged
 * over base (may be NULL: fields not in in keep base's values). Caller decrefs. */
json_t *order_form_read(struct form *f, json_t *in, json_t *base, const char *key_type);
/* Fills fields a new order can take from the account: handler, invoice title and tax number, seal name. */
void order_form_defaults(json_t *form, const struct org_rec *o, const char *key_type);
/* Returns [{"field","label"}...] of the required fields of key_type that form lacks. Caller decrefs. */
json_t *order_form_missing(json_t *form, const char *key_type);
/* Returns the Chinese label of the legal person's ID type code, or "". */
const char *order_form_id_type_label(const char *code);

#endif
