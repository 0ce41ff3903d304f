/* Finance's daily ledger (缴费对账): the payments of one Beijing day with totals per provider, as
 * JSON for the page and as CSV to set against the providers' statements (对账单). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/api.h"
#include "core/workdays.h"
#include "util/timefmt.h"

/* Writes field as one CSV cell: quoted, quotes doubled, and a leading = + - @ neutralised so that a
 * spreadsheet never takes a unit name for a formula. */
static void csv_cell(FILE *f, const char *field, int last)
{
	fputc('"', f);
	if (field[0] == '=' || field[0] == '+' || field[0] == '-' || field[0] == '@')
		fputc('\'', f);
	for (const char *p = field; *p != '\0'; p++) {
		if (*p == '"')
			fputc('"', f);
		fputc(*p, f);
	}
	fputs(last ? "\"\r\n" : "\",", f);
}

/* Writes an RFC 3339 UTC time stamp as Beijing time "YYYY-MM-DD HH:MM:SS" into out (20 bytes). */
static void beijing(const char *utc, char out[20])
{
	struct tm tm = {0};
	time_t t;

	out[0] = '\0';
	if (sscanf(utc, "%4d-%2d-%2dT%2d:%2d:%2d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
		   &tm.tm_min, &tm.tm_sec) != 6)
		return;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	t = timegm(&tm) + 8 * 3600;
	gmtime_r(&t, &tm);
	strftime(out, 20, "%Y-%m-%d %H:%M:%S", &tm);
}

/* The refund column of a ledger row: "" without a refund. */
static const char *refund_label(json_t *refund)
{
	const char *state = json_string_value(json_object_get(refund, "state"));

	if (state == NULL)
		return "";
	return strcmp(state, "done") == 0 ? "已退款" : strcmp(state, "failed") == 0 ? "退款失败" : "退款中";
}

/* Replies with the ledger as CSV (UTF-8 with a BOM, as spreadsheets in China expect). */
static int ledger_csv(struct http_req *r, const char *date, json_t *items)
{
	static const char *const heads[] = {
		"订单编号",   "单位名称",   "统一社会信用代码",     "支付方式", "商户订单号",
		"平台交易号", "金额（元）", "付款时间（北京时间）", "入账",     "退款"};
	char *buf = NULL, yuan[32], when[20], disposition[96];
	size_t len = 0, i;
	FILE *f = open_memstream(&buf, &len);
	json_t *it;
	int rc;

	fputs("\xEF\xBB\xBF", f);
	for (i = 0; i < 10; i++)
		csv_cell(f, heads[i], i == 9);
	json_array_foreach (items, i, it) {
		json_t *refund = json_object_get(it, "refund");
		long long fen = (long long)json_integer_value(json_object_get(it, "amount_fen"));
		snprintf(yuan, sizeof(yuan), "%lld.%02lld", fen / 100, fen % 100);
		beijing(json_string_value(json_object_get(it, "paid_at")), when);
		csv_cell(f, json_string_value(json_object_get(it, "order_no")), 0);
		csv_cell(f, json_string_value(json_object_get(it, "unit_name")), 0);
		csv_cell(f, json_string_value(json_object_get(it, "uscc")), 0);
		csv_cell(f,
			 strcmp(json_string_value(json_object_get(it, "provider")), "wxpay") == 0 ? "微信支付"
												  : "支付宝",
			 0);
		csv_cell(f, json_string_value(json_object_get(it, "out_trade_no")), 0);
		csv_cell(f, json_string_value(json_object_get(it, "trade_no")), 0);
		csv_cell(f, yuan, 0);
		csv_cell(f, when, 0);
		csv_cell(f, json_is_true(json_object_get(it, "credited")) ? "是" : "否（重复支付）", 0);
		csv_cell(f, refund_label(refund), 1);
	}
	fclose(f);
	snprintf(disposition, sizeof(disposition), "attachment; filename=\"payments-%s.csv\"", date);
	http_add_header(r, "Content-Disposition", disposition);
	rc = http_reply_bytes(r, 200, "text/csv; charset=utf-8", buf, len);
	free(buf);
	return rc;
}

/* GET /api/v1/admin/payments?date=YYYY-MM-DD[&format=csv]: the payments of one Beijing day, with
 * totals per provider, for finance to reconcile with the providers' statements. */
int api_payments_ledger(struct http_req *r)
{
	struct app *app = http_ctx(r);
	const char *date = http_query(r, "date"), *format = http_query(r, "format");
	char from[TIMEFMT_LEN], to[TIMEFMT_LEN];
	json_t *items = NULL, *totals, *it;
	struct db_conn *c;
	struct tm tm = {0};
	size_t i;
	int d, rc;

	if (date == NULL || strlen(date) != 10 || workdays_date_parse(date, &d) != WORKDAYS_OK)
		return http_reply_error(r, 400, "bad_query", "请给出日期，格式为 YYYY-MM-DD", "date");
	if (format != NULL && strcmp(format, "csv") != 0 && strcmp(format, "json") != 0)
		return http_reply_error(r, 400, "bad_query", "format 应为 csv 或 json", "format");
	tm.tm_year = d / 10000 - 1900;
	tm.tm_mon = d / 100 % 100 - 1;
	tm.tm_mday = d % 100;
	timefmt_rfc3339(timegm(&tm) - 8 * 3600, from); /* Beijing midnight */
	timefmt_rfc3339(timegm(&tm) + 16 * 3600, to);
	c = db_acquire(app->db);
	rc = store_payments_ledger(c, from, to, &items);
	db_release(c);
	if (rc != DB_OK) {
		json_decref(items);
		return api_internal(r, "ledger");
	}
	if (format != NULL && strcmp(format, "csv") == 0) {
		rc = ledger_csv(r, date, items);
		json_decref(items);
		return rc;
	}
	totals = json_pack("{s:{s:i, s:I, s:I}, s:{s:i, s:I, s:I}}", "wxpay", "count", 0, "amount_fen",
			   (json_int_t)0, "refunded_fen", (json_int_t)0, "alipay", "count", 0, "amount_fen",
			   (json_int_t)0, "refunded_fen", (json_int_t)0);
	json_array_foreach (items, i, it) {
		json_t *t = json_object_get(totals, json_string_value(json_object_get(it, "provider")));
		json_t *refund = json_object_get(it, "refund");
		json_int_t fen = json_integer_value(json_object_get(it, "amount_fen"));
		if (t == NULL)
			continue;
		json_object_set_new(t, "count",
				    json_integer(json_integer_value(json_object_get(t, "count")) + 1));
		json_object_set_new(t, "amount_fen",
				    json_integer(json_integer_value(json_object_get(t, "amount_fen")) + fen));
		if (refund != NULL &&
		    strcmp(json_string_value(json_object_get(refund, "state")), "done") == 0)
			json_object_set_new(
				t, "refunded_fen",
				json_integer(json_integer_value(json_object_get(t, "refunded_fen")) +
					     json_integer_value(json_object_get(refund, "amount_fen"))));
	}
	return http_reply_json(r, 200,
			       json_pack("{s:s, s:s, s:s, s:o, s:o}", "date", date, "from", from, "to", to,
					 "items", items, "totals", totals));
}
