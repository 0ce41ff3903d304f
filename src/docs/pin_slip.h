/* The PIN slip (证书密码信封) put into the parcel with a produced USB key (issue 13). */
#ifndef CERTDESK_PIN_SLIP_H
#define CERTDESK_PIN_SLIP_H
#include <stddef.h>

struct pin_slip {
	const char *org_name;     /* the organisation (单位名称) */
	const char *order_no;     /* e.g. "YT20261124-000123" */
	const char *project_name; /* 鹰潭市阳光采购服务平台, may be NULL */
	const char *key_serial;   /* the USB key's serial number */
	const char *key_model;    /* its model, may be "" */
	const char *user_pin;     /* the initial user PIN; NULL when it is the project's default */
	long long created_at;     /* Unix time printed as the date (and the PDF's metadata date) */
};

/* Renders the slip as an A5 PDF into *pdf (malloc'd, caller wipes and frees: it holds the PIN) of
 * *len bytes. Returns 0 or -1. */
int pin_slip_render_pdf(const struct pin_slip *s, unsigned char **pdf, size_t *len);

#endif
