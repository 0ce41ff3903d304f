/* Platform facts for the UI and operators' probes. */
#include "api/api.h"
#include "config/config.h"
#include "store/store.h"

#ifndef CERTDESK_VERSION
#error "CERTDESK_VERSION must be defined by the build"
#endif

const char *api_version(void)
{
	return CERTDESK_VERSION;
}

int api_meta_get(struct http_req *r)
{
	const struct app *app = http_ctx(r);

	return http_reply_json(r, 200,
			       json_pack("{s:s, s:s, s:s, s:s}", "name", "certdesk", "title",
					 "数字证书在线业务办理平台", "version", CERTDESK_VERSION, "database",
					 db_backend_name(app->db)));
}

int api_healthz_get(struct http_req *r)
{
	const struct app *app = http_ctx(r);

	if (store_ping(app->db) != 0)
		return http_reply_error(r, 503, "database_unavailable", "数据库不可用", NULL);
	return http_reply_json(r, 200, json_pack("{s:s, s:s}", "status", "ok", "database", "ok"));
}
