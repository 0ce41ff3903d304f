/* The paper forms: each renders as a one-page PDF, byte-identical for the same order (also in another
 * process), with the right QR code and text. The checks that read the PDF back use poppler-utils
 * (pdftoppm, pdftotext) and zbar-tools (zbarimg); they are skipped with a message when missing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <pthread.h>
#include <string.h>
#include <unistd.h>

#include "docs/forms.h"

#define CREATED 1795487400LL /* 2026-11-24 10:30:00 +08:00 */

static const enum form_kind kinds[] = {FORM_APPLICATION, FORM_AUTHORISATION, FORM_SEAL};
static char self_path[4096];

/* Returns a complete main-key order. */
static struct order_doc sample(void)
{
	return (struct order_doc){
		.order_no = "YT20261124-000123",
		.project_name = "鹰潭市阳光采购服务平台",
		.key_type = "main",
		.key_type_label = "主锁（含电子签章）",
		.price_fen = 22000,
		.unit_name = "鹰潭市信江建设工程有限公司",
		.uscc = "91360600MA35XXXX1K",
		.unit_address = "江西省鹰潭市月湖区胜利西路88号",
		.legal_name = "王建国",
		.legal_id_type_label = "居民身份证",
		.legal_id_number = "360602197505050012",
		.legal_mobile = "13907010001",
		.handler_name = "李晓梅",
		.handler_id_number = "36060219900808002X",
		.handler_mobile = "13807012345",
		.handler_email = "lixm@example.com",
		.invoice_title = "鹰潭市信江建设工程有限公司",
		.invoice_tax_number = "91360600MA35XXXX1K",
		.invoice_email = "finance@example.com",
		.recipient_name = "李晓梅",
		.recipient_mobile = "13807012345",
		.recipient_address = "江西省鹰潭市月湖区胜利西路88号 信江大厦1203室",
		.form_qr_text = "https://certdesk.example.cn/f/YT20261124-000123",
		.verify_url = "https://certdesk.example.cn/v/9fK2mQ7xLr3TzW8a",
		.created_at = CREATED,
	};
}

/* Renders kind for d, asserting success, and returns the PDF. */
static unsigned char *render(enum form_kind kind, const struct order_doc *d, size_t *len)
{
	unsigned char *pdf = NULL;

	assert_int_equal(forms_render_pdf(kind, d, &pdf, len), 0);
	assert_non_null(pdf);
	return pdf;
}

/* Asserts that p looks like a complete PDF. */
static void assert_pdf(const unsigned char *p, size_t len)
{
	assert_true(len > 1000);
	assert_memory_equal(p, "%PDF-", 5);
	while (len > 0 && (p[len - 1] == '\n' || p[len - 1] == '\r'))
		len--;
	assert_true(len > 5);
	assert_memory_equal(p + len - 5, "%%EOF", 5);
}

/* Returns whether the PDF tools are installed; prints which packages are missing if not. */
static int have_tools(void)
{
	if (system("command -v pdftoppm >/dev/null 2>&1 && command -v pdftotext >/dev/null 2>&1 && "
		   "command -v zbarimg >/dev/null 2>&1") == 0)
		return 1;
	print_message("skipped: needs pdftoppm/pdftotext (poppler-utils) and zbarimg (zbar-tools)\n");
	return 0;
}

/* Writes len bytes to a new temporary file, whose name goes to path. */
static void write_temp(const unsigned char *p, size_t len, char path[64])
{
	int fd;

	snprintf(path, 64, "/tmp/test_forms.XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, p, len), (ssize_t)len);
	close(fd);
}

/* Runs cmd and returns its standard output (caller frees). */
static char *run(const char *cmd)
{
	FILE *fp = popen(cmd, "r");
	size_t n = 0, cap = 4096;
	char *out = malloc(cap);

	assert_non_null(fp);
	assert_non_null(out);
	for (size_t r; (r = fread(out + n, 1, cap - n - 1, fp)) > 0;) {
		n += r;
		if (cap - n < 2) {
			cap *= 2;
			out = realloc(out, cap);
			assert_non_null(out);
		}
	}
	out[n] = '\0';
	pclose(fp);
	return out;
}

static void test_titles(void **state)
{
	(void)state;
	assert_string_equal(forms_title(FORM_APPLICATION), "数字证书用户申请表");
	assert_string_equal(forms_title(FORM_AUTHORISATION), "法人授权委托书");
	assert_string_equal(forms_title(FORM_SEAL), "签章采集表");
}

static void test_each_kind_renders(void **state)
{
	struct order_doc d = sample();
	(void)state;

	for (size_t i = 0; i < 3; i++) {
		size_t len;
		unsigned char *p = render(kinds[i], &d, &len);
		assert_pdf(p, len);
		free(p);
	}
}

static void test_refusals(void **state)
{
	struct order_doc d = sample();
	unsigned char *p = (unsigned char *)"x";
	size_t len = 7;
	(void)state;

	d.key_type = "secondary";
	d.key_type_label = "副锁（无电子签章）";
	d.price_fen = 19000;
	assert_int_equal(forms_render_pdf(FORM_SEAL, &d, &p, &len), -1);
	assert_null(p);
	assert_int_equal(len, 0);
	free(render(FORM_APPLICATION, &d, &len));
	free(render(FORM_AUTHORISATION, &d, &len));
	assert_int_equal(forms_render_pdf((enum form_kind)7, &d, &p, &len), -1);
	assert_int_equal(forms_render_pdf(FORM_APPLICATION, NULL, &p, &len), -1);
	assert_int_equal(forms_render_pdf(FORM_APPLICATION, &d, NULL, &len), -1);
}

static void test_blank_fields(void **state)
{
	struct order_doc zero = {0}, empty = sample();
	(void)state;

	empty.order_no = empty.project_name = empty.key_type = empty.key_type_label = "";
	empty.unit_name = empty.uscc = empty.unit_address = "";
	empty.legal_name = empty.legal_id_type_label = empty.legal_id_number = empty.legal_mobile = "";
	empty.handler_name = empty.handler_id_number = empty.handler_mobile = empty.handler_email = "";
	empty.invoice_title = empty.invoice_tax_number = empty.invoice_email = "";
	empty.recipient_name = empty.recipient_mobile = empty.recipient_address = "";
	empty.form_qr_text = empty.verify_url = "";
	empty.created_at = 0;
	for (size_t i = 0; i < 3; i++) {
		size_t len;
		unsigned char *p = render(kinds[i], &zero, &len);
		assert_pdf(p, len);
		free(p);
		p = render(kinds[i], &empty, &len);
		assert_pdf(p, len);
		free(p);
	}
}

/* Returns a string of n copies of the UTF-8 character c (caller frees). */
static char *repeat(const char *c, int n)
{
	size_t k = strlen(c);
	char *s = malloc(k * (size_t)n + 1);

	assert_non_null(s);
	for (int i = 0; i < n; i++)
		memcpy(s + k * (size_t)i, c, k);
	s[k * (size_t)n] = '\0';
	return s;
}

/* Asserts that every word pdftotext finds in the PDF lies inside the page less a 7 mm border. */
static void assert_text_inside(const unsigned char *p, size_t len)
{
	char pdf[64], cmd[256];
	char *html, *w;
	int words = 0;
	const double edge = 7 * 72 / 25.4;

	write_temp(p, len, pdf);
	snprintf(cmd, sizeof(cmd), "pdftotext -bbox %s - 2>/dev/null", pdf);
	html = run(cmd);
	for (w = html; (w = strstr(w, "<word ")) != NULL; w++) {
		double x0, y0, x1, y1;
		assert_int_equal(sscanf(w, "<word xMin=\"%lf\" yMin=\"%lf\" xMax=\"%lf\" yMax=\"%lf\"", &x0,
					&y0, &x1, &y1),
				 4);
		if (x0 < edge || y0 < edge || x1 > 595.28 - edge || y1 > 841.89 - edge)
			fail_msg("text outside the page: %.80s", w);
		words++;
	}
	assert_true(words > 20);
	free(html);
	unlink(pdf);
}

static void test_long_strings_stay_on_page(void **state)
{
	struct order_doc d = sample();
	char *addr = repeat("江", 200), *name = repeat("鹰潭", 60), *mail = repeat("a", 300);
	(void)state;

	d.unit_address = d.recipient_address = addr;
	d.unit_name = d.invoice_title = d.project_name = d.handler_name = d.legal_name = name;
	d.handler_email = d.invoice_email = d.order_no = d.uscc = d.handler_id_number = mail;
	d.form_qr_text = d.verify_url = mail;
	for (size_t i = 0; i < 3; i++) {
		size_t len;
		unsigned char *p = render(kinds[i], &d, &len);
		assert_pdf(p, len);
		if (have_tools())
			assert_text_inside(p, len);
		free(p);
	}
	/* bad UTF-8 is printed as U+FFFD, not refused */
	d.unit_name = "\xff\xfe\xe6\xb1";
	free(render(FORM_APPLICATION, &d, &(size_t){0}));
	free(render(FORM_AUTHORISATION, &d, &(size_t){0}));
	free(addr);
	free(name);
	free(mail);
}

/* 200 rare characters on which cairo 1.16's CFF subsetter, fed Noto Sans CJK through
 * pango_cairo_show_layout, aborts the process (assertion in _cairo_array_index). */
static const char rare[] =
	"羈奺閬娛譍叁遝沝侎傫痯観熗茱捖騧弌闤皾鉰齸蝮踴荴铣捴肟翍枱赩熣簔慣漵随燆摫鶟墵簥礅恄漕溤湊窷缯熺陡觟"
	"侹愓"
	"庬湙櫪朧圄頨鋎鴨来鎁蓰沲韯忑铦裱耖朑墑鸍埠憘啜凟臣绹荨徘馦驧庈鋭鏮坾泠绚忘犐柨胖箭擒櫐琟恨窂賽銆獘奖"
	"返瑃"
	"梻襒働猨鶠駚嬰鲾網蛇溠鴦啴咪癥扷廱麉嬸屦薷鼔餒浹梛躊軽胋嶏椨缡逻弥頇準乷嵹柌阆繣讳鏂鲉殆灂勓捹铵蹝毖"
	"芉焈"
	"菩脃烐贺媂庖旤閞倈蠚厽貅楯聬鋲礊洪娉埞卵萙蚌昪搬騳蹁晑輿罁郋簦朹毉簋餃噁禧咡袮厨鰨撠惧犌";

static void test_rare_characters_neither_abort_nor_bloat(void **state)
{
	struct order_doc d = sample();
	(void)state;

	d.unit_address = d.recipient_address = d.unit_name = rare;
	d.handler_email = "KI Kl li@example.com"; /* Latin glyphs whose order once embedded whole fonts */
	for (size_t i = 0; i < 3; i++) {
		size_t len;
		unsigned char *p = render(kinds[i], &d, &len);
		assert_pdf(p, len);
		assert_true(len < 600 * 1024);
		free(p);
	}
	/* the sample itself stays small: no font is embedded whole */
	d = sample();
	for (size_t i = 0; i < 3; i++) {
		size_t len;
		free(render(kinds[i], &d, &len));
		assert_true(len < 350 * 1024);
	}
}

/* Returns whether the n bytes at p contain needle. */
static int contains(const unsigned char *p, size_t n, const char *needle)
{
	size_t k = strlen(needle);

	for (size_t i = 0; i + k <= n; i++)
		if (memcmp(p + i, needle, k) == 0)
			return 1;
	return 0;
}

/* The fonts are embedded as compact CFF subsets (CID-keyed, plus a WinAnsi one for Latin), not as
 * Type 3 fonts whose every outline point is printed as text (three times the size and the CPU time),
 * and cairo is kept from copying the whole 'CFF ' table of each font for each PDF (issue 17). */
static void test_fonts_embedded_as_cff(void **state)
{
	struct order_doc d = sample();
	(void)state;

	for (size_t i = 0; i < 3; i++) {
		size_t len;
		unsigned char *p = render(kinds[i], &d, &len);
		assert_false(contains(p, len, "/Subtype /Type3"));
		assert_true(contains(p, len, "/FontFile3"));
		assert_true(contains(p, len, "/CIDFontType0"));
		assert_true(contains(p, len, "/ToUnicode"));
		assert_true(len < 120 * 1024);
		free(p);
	}
	assert_true(forms_cff_refused() > 0);
}

/* Returns this process's resident file-backed memory in KiB. */
static long rss_file_kb(void)
{
	char line[256];
	long kb = -1;
	FILE *f = fopen("/proc/self/status", "r");

	assert_non_null(f);
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "RssFile: %ld", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

/* The pages of the fonts that drawing touched can be dropped from the process (issue 17: they counted
 * in certdeskd's RSS for good), and the next form is still right. */
static void test_font_pages_released(void **state)
{
	struct order_doc d = sample();
	size_t len;
	long before;
	unsigned char *p;
	(void)state;

	free(render(FORM_APPLICATION, &d, &len));
	before = rss_file_kb();
	assert_true(forms_release_font_pages() > 0);
	assert_true(rss_file_kb() < before - 2048);
	p = render(FORM_APPLICATION, &d, &len);
	assert_pdf(p, len);
	assert_true(contains(p, len, "/CIDFontType0"));
	free(p);
}

/* Asserts whether rendering kind for a and b gives the same bytes. */
static void compare(enum form_kind kind, const struct order_doc *a, const struct order_doc *b, int same)
{
	size_t la, lb;
	unsigned char *pa = render(kind, a, &la), *pb = render(kind, b, &lb);

	if (same) {
		assert_int_equal(la, lb);
		assert_memory_equal(pa, pb, la);
	} else {
		assert_true(la != lb || memcmp(pa, pb, la) != 0);
	}
	free(pa);
	free(pb);
}

static void test_reproducible(void **state)
{
	struct order_doc a = sample(), b = sample();
	(void)state;

	for (size_t i = 0; i < 3; i++)
		compare(kinds[i], &a, &b, 1);
	b.order_no = "YT20261124-000124";
	for (size_t i = 0; i < 3; i++)
		compare(kinds[i], &a, &b, 0);
	b = sample();
	b.created_at += 86400;
	compare(FORM_APPLICATION, &a, &b, 0);
}

static void test_reproducible_across_processes(void **state)
{
	struct order_doc d = sample();
	char path[64], cmd[4200];
	size_t len;
	unsigned char *mine = render(FORM_AUTHORISATION, &d, &len), *theirs;
	FILE *fp;
	(void)state;

	write_temp((const unsigned char *)"", 0, path);
	snprintf(cmd, sizeof(cmd), "'%s' --render-letter %s", self_path, path);
	assert_int_equal(system(cmd), 0);
	theirs = malloc(len + 1);
	assert_non_null(theirs);
	fp = fopen(path, "rb");
	assert_non_null(fp);
	assert_int_equal(fread(theirs, 1, len + 1, fp), len);
	fclose(fp);
	assert_memory_equal(mine, theirs, len);
	free(mine);
	free(theirs);
	unlink(path);
}

struct job {
	const unsigned char *want[3];
	size_t want_len[3];
	int bad;
};

/* Renders every form a few times and counts the renders that differ from the reference. */
static void *render_many(void *arg)
{
	struct job *j = arg;
	struct order_doc d = sample();

	for (int r = 0; r < 3; r++) {
		for (size_t i = 0; i < 3; i++) {
			unsigned char *p = NULL;
			size_t len = 0;
			if (forms_render_pdf(kinds[i], &d, &p, &len) != 0 || len != j->want_len[i] ||
			    memcmp(p, j->want[i], len) != 0)
				j->bad++;
			free(p);
		}
	}
	return NULL;
}

/* The HTTP workers render in parallel: each thread gets the same bytes as a lone render. */
static void test_threads(void **state)
{
	struct order_doc d = sample();
	struct job jobs[4];
	pthread_t t[4];
	unsigned char *ref[3];
	size_t len[3];
	(void)state;

	for (size_t i = 0; i < 3; i++)
		ref[i] = render(kinds[i], &d, &len[i]);
	memset(jobs, 0, sizeof(jobs));
	for (int k = 0; k < 4; k++) {
		for (size_t i = 0; i < 3; i++) {
			jobs[k].want[i] = ref[i];
			jobs[k].want_len[i] = len[i];
		}
		assert_int_equal(pthread_create(&t[k], NULL, render_many, &jobs[k]), 0);
	}
	for (int k = 0; k < 4; k++) {
		assert_int_equal(pthread_join(t[k], NULL), 0);
		assert_int_equal(jobs[k].bad, 0);
	}
	for (size_t i = 0; i < 3; i++)
		free(ref[i]);
}

static void test_metadata(void **state)
{
	struct order_doc d = sample();
	size_t len;
	unsigned char *p = render(FORM_APPLICATION, &d, &len);
	char *s = malloc(len + 1);
	(void)state;

	/* PDF bytes may contain NULs: search a copy with them made visible */
	for (size_t i = 0; i < len; i++)
		s[i] = p[i] ? (char)p[i] : ' ';
	s[len] = '\0';
	/* cairo 1.16 writes PDF dates without the optional "D:" prefix */
	assert_non_null(strstr(s, "/CreationDate (20261124103000+08'00)"));
	assert_non_null(strstr(s, "/ModDate (20261124103000+08'00)"));
	assert_non_null(strstr(s, "/Creator (certdesk)"));
	assert_null(strstr(s, "/ID"));
	free(s);
	free(p);
}

/* Asserts that zbarimg reads exactly want from page 1 of the PDF and pdftotext finds each of texts. */
static void check_readback(const unsigned char *p, size_t len, const char *want, const char *const *texts)
{
	char pdf[64], cmd[512];
	char *out;

	write_temp(p, len, pdf);
	snprintf(cmd, sizeof(cmd),
		 "pdftoppm -r 150 -png -f 1 -l 1 %s %s && zbarimg -q --raw %s-1.png 2>/dev/null", pdf, pdf,
		 pdf);
	out = run(cmd);
	out[strcspn(out, "\n")] = '\0';
	assert_string_equal(out, want);
	free(out);
	snprintf(cmd, sizeof(cmd), "pdftotext -layout %s - 2>/dev/null", pdf);
	out = run(cmd);
	for (; *texts != NULL; texts++)
		if (strstr(out, *texts) == NULL)
			fail_msg("pdftotext lacks \"%s\" in:\n%s", *texts, out);
	free(out);
	snprintf(cmd, sizeof(cmd), "%s-1.png", pdf);
	unlink(cmd);
	unlink(pdf);
}

static void test_qr_and_text_read_back(void **state)
{
	struct order_doc d = sample();
	(void)state;

	if (!have_tools())
		skip();
	d.created_at = 1795451400LL; /* 2026-11-23 16:30 UTC is already the 24th in Asia/Shanghai */
	for (size_t i = 0; i < 3; i++) {
		const char *texts[] = {"YT20261124-000123", forms_title(kinds[i]),
				       "鹰潭市信江建设工程有限公司", NULL, NULL};
		size_t len;
		unsigned char *p = render(kinds[i], &d, &len);
		if (kinds[i] == FORM_APPLICATION)
			texts[3] = "订单日期：2026年11月24日";
		check_readback(p, len, kinds[i] == FORM_AUTHORISATION ? d.verify_url : d.form_qr_text, texts);
		free(p);
	}
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_titles),
		cmocka_unit_test(test_each_kind_renders),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_blank_fields),
		cmocka_unit_test(test_long_strings_stay_on_page),
		cmocka_unit_test(test_rare_characters_neither_abort_nor_bloat),
		cmocka_unit_test(test_fonts_embedded_as_cff),
		cmocka_unit_test(test_font_pages_released),
		cmocka_unit_test(test_reproducible),
		cmocka_unit_test(test_reproducible_across_processes),
		cmocka_unit_test(test_threads),
		cmocka_unit_test(test_metadata),
		cmocka_unit_test(test_qr_and_text_read_back),
	};
	ssize_t n;

	if (argc == 3 && strcmp(argv[1], "--render-letter") == 0) { /* the other process */
		struct order_doc d = sample();
		unsigned char *p;
		size_t len;
		FILE *fp = fopen(argv[2], "wb");
		if (fp == NULL || forms_render_pdf(FORM_AUTHORISATION, &d, &p, &len) != 0)
			return 1;
		fwrite(p, 1, len, fp);
		free(p);
		return fclose(fp) == 0 ? 0 : 1;
	}
	n = readlink("/proc/self/exe", self_path, sizeof(self_path) - 1);
	if (n <= 0)
		return 1;
	self_path[n] = '\0';
	return cmocka_run_group_tests(tests, NULL, NULL);
}
