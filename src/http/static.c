/* The built web UI: files from the web root with their content type and cache policy; any other
 * path (not under /api/) gets index.html so the browser-side router can show the page. */
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "http/http_internal.h"
#include "util/xalloc.h"

static const struct {
	const char *ext, *type;
} types[] = {
	{".html", "text/html; charset=utf-8"},
	{".js", "text/javascript; charset=utf-8"},
	{".mjs", "text/javascript; charset=utf-8"},
	{".css", "text/css; charset=utf-8"},
	{".json", "application/json"},
	{".map", "application/json"},
	{".svg", "image/svg+xml"},
	{".png", "image/png"},
	{".jpg", "image/jpeg"},
	{".jpeg", "image/jpeg"},
	{".gif", "image/gif"},
	{".webp", "image/webp"},
	{".ico", "image/x-icon"},
	{".woff", "font/woff"},
	{".woff2", "font/woff2"},
	{".ttf", "font/ttf"},
	{".txt", "text/plain; charset=utf-8"},
	{".pdf", "application/pdf"},
	{".wasm", "application/wasm"},
};

/* Returns the content type for path by its extension, or NULL when it is not one we serve. */
static const char *type_of(const char *path)
{
	const char *dot = strrchr(path, '.'), *slash = strrchr(path, '/');

	if (dot == NULL || (slash != NULL && dot < slash))
		return NULL;
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (strcasecmp(dot, types[i].ext) == 0)
			return types[i].type;
	return NULL;
}

/* Returns 1 when path is safe to join to the web root: absolute, no "..", no hidden parts. */
static int path_safe(const char *path)
{
	if (path[0] != '/' || strchr(path, '\\') != NULL)
		return 0;
	return strstr(path, "/.") == NULL;
}

/* Opens root + rel as a regular file; returns the fd and its size, or -1. */
static int open_file(const char *root, const char *rel, off_t *size)
{
	char *full = xasprintf("%s%s", root, rel);
	struct stat st;
	int fd = open(full, O_RDONLY | O_CLOEXEC);

	free(full);
	if (fd < 0)
		return -1;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return -1;
	}
	*size = st.st_size;
	return fd;
}

/* Queues the open file fd as the answer. */
static int send_file(struct http_req *r, int fd, off_t size, const char *type, const char *cache)
{
	struct MHD_Response *resp = MHD_create_response_from_fd((uint64_t)size, fd);

	if (resp == NULL) {
		close(fd);
		return http_reply_error(r, 500, "internal", "服务器内部错误，请稍后重试", NULL);
	}
	MHD_add_response_header(resp, "Content-Type", type);
	MHD_add_response_header(resp, "Cache-Control", cache);
	/* connect-src: the producer's page talks to certdesk-agent on this PC's loopback address
	 * (any port: the agent's port is a setting). */
	if (strncmp(type, "text/html", 9) == 0)
		MHD_add_response_header(resp, "Content-Security-Policy",
					"default-src 'self'; connect-src 'self' http://127.0.0.1:*; "
					"img-src 'self' data: blob:; "
					"style-src 'self' 'unsafe-inline'; object-src 'none'; "
					"frame-ancestors 'none'; base-uri 'self'");
	return http_queue(r, 200, resp);
}

int http_serve_static(struct http_req *r)
{
	const char *root = r->opts->web_root, *type = type_of(r->path);
	off_t size = 0;
	int fd = -1;

	if (path_safe(r->path) && strcmp(r->path, "/") != 0 && type != NULL)
		fd = open_file(root, r->path, &size);
	if (fd >= 0) {
		/* Vite puts content-hashed names under /assets/: they never change. */
		int hashed = strncmp(r->path, "/assets/", 8) == 0;
		return send_file(r, fd, size, type,
				 hashed ? "public, max-age=31536000, immutable" : "no-cache");
	}
	/* A missing asset is a 404, not the index page: a script tag must not receive HTML. */
	if (type != NULL && strcmp(type, "text/html; charset=utf-8") != 0)
		return http_reply_error(r, 404, "not_found", "未找到请求的资源", NULL);
	fd = open_file(root, "/index.html", &size);
	if (fd < 0)
		return http_reply_error(r, 404, "not_found", "网页文件不存在，请先构建前端 (web/dist)", NULL);
	return send_file(r, fd, size, "text/html; charset=utf-8", "no-cache");
}
