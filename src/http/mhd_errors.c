/* libmicrohttpd answers a request it cannot parse (a malformed request line or header, a bad
 * Content-Length or chunk, a head too large, an unknown HTTP version) by itself, with a fixed HTML
 * body, and 0.9.75 has no option to change that body. It makes that body with
 * MHD_create_response_from_buffer, called through the library's PLT, so the definition below, in
 * certdeskd, takes the call: it passes every call through to the library, except that one of those
 * fixed HTML pages becomes our JSON error, so that every answer of the server has the one shape. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <string.h>

#include <microhttpd.h>

typedef struct MHD_Response *(*from_buffer_fn)(size_t, void *, enum MHD_ResponseMemoryMode);

/* The library's own pages, recognised by their title, and what we say instead. */
static const struct {
	const char *title;
	const char *json;
} pages[] = {
	{"<html><head><title>Request too big</title>",
	 "{\"error\":{\"code\":\"request_head_too_large\",\"message\":\"请求地址或请求头过长\"}}"},
	{"<html><head><title>Requested HTTP version is not supported</title>",
	 "{\"error\":{\"code\":\"http_version_not_supported\",\"message\":\"不支持该 HTTP 版本\"}}"},
	{"<html><head><title>Request malformed</title>",
	 "{\"error\":{\"code\":\"bad_request\",\"message\":\"请求格式不正确\"}}"},
	{"<html><head><title>Internal server error</title>",
	 "{\"error\":{\"code\":\"internal\",\"message\":\"服务器内部错误，请稍后重试\"}}"},
	{"<html><head><title>",
	 "{\"error\":{\"code\":\"bad_request\",\"message\":\"请求无法处理\"}}"},
};

struct MHD_Response *MHD_create_response_from_buffer(size_t size, void *buffer, enum MHD_ResponseMemoryMode mode)
{
	static from_buffer_fn real;
	struct MHD_Response *resp;

	if (real == NULL)
		real = (from_buffer_fn)dlsym(RTLD_NEXT, "MHD_create_response_from_buffer");
	if (mode == MHD_RESPMEM_PERSISTENT && buffer != NULL && size > 19 && memcmp(buffer, "<html>", 6) == 0)
		for (size_t i = 0; i < sizeof(pages) / sizeof(pages[0]); i++)
			if (size >= strlen(pages[i].title) && memcmp(buffer, pages[i].title, strlen(pages[i].title)) == 0) {
				resp = real(strlen(pages[i].json), (void *)pages[i].json, MHD_RESPMEM_PERSISTENT);
				if (resp != NULL) {
					MHD_add_response_header(resp, "Content-Type", "application/json; charset=utf-8");
					MHD_add_response_header(resp, "Cache-Control", "no-store");
				}
				return resp;
			}
	return real(size, buffer, mode);
}
