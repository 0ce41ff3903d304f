/* certdesk-sim: simulators of the outside services certdesk talks to (payment gateways, SMS,
 * face verification, courier, e-mail), speaking their wire protocols with test keys. Development and
 * tests start it; production never does. */
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "config/config.h"
#include "http/http.h"
#include "sim/alipay.h"
#include "sim/faceid.h"
#include "sim/recorder.h"
#include "sim/sf.h"
#include "sim/smtp.h"
#include "sim/sms.h"
#include "sim/wxpay.h"

/* GET /healthz */
static int sim_health(struct http_req *r)
{
	return http_reply_json(r, 200, json_pack("{s:s, s:s}", "status", "ok", "service", "certdesk-sim"));
}

/* GET /_sim/requests[?prefix=/path]: what the simulators received. */
static int sim_requests(struct http_req *r)
{
	return http_reply_json(r, 200, recorder_list(http_query(r, "prefix")));
}

/* DELETE /_sim/requests */
static int sim_clear(struct http_req *r)
{
	recorder_clear();
	return http_reply_json(r, 200, json_object());
}

/* Any other path: recorded, then refused, since no simulator answers there yet. */
static int sim_unknown(struct http_req *r)
{
	size_t len;
	const char *body = http_body(r, &len);

	recorder_add(http_method(r), http_path(r), http_header(r, "Content-Type"), body, len);
	return http_reply_error(r, 404, "not_simulated", "模拟器没有这个接口", NULL);
}

static const struct route sim_routes[] = {
	{"GET", "/healthz", sim_health, 0},
	{"GET", "/_sim/requests", sim_requests, 0},
	{"DELETE", "/_sim/requests", sim_clear, 0},
	/* Tencent FaceID H5 (sim/faceid.c, sim/faceid_h5.c) */
	{"POST", "/faceid", faceid_api, 0},
	{"POST", "/faceid/", faceid_api, 0},
	{"GET", "/faceid/h5", faceid_h5_page, 0},
	{"POST", "/faceid/h5/decide", faceid_h5_decide, 0},
	{"POST", "/_sim/faceid/{token}/decide", faceid_sim_decide, 0},
	/* Tencent Cloud SMS (sim/sms.c) */
	{"POST", "/sms", sms_api, 0},
	{"POST", "/sms/", sms_api, 0},
	{"GET", "/_sim/sms", sms_sim_inbox, 0},
	{"DELETE", "/_sim/sms", sms_sim_clear, 0},
	{"POST", "/_sim/sms/fail-next", sms_sim_fail_next, 0},
	{"POST", "/_sim/sms/delay-next", sms_sim_delay_next, 0},
	/* SF Express route query (sim/sf.c) */
	{"POST", "/sf/std/service", sf_api, 0},
	{"GET", "/_sim/sf", sf_sim_queries, 0},
	{"DELETE", "/_sim/sf", sf_sim_clear, 0},
	{"POST", "/_sim/sf/routes", sf_sim_set_routes, 0},
	{"POST", "/_sim/sf/fail-next", sf_sim_fail_next, 0},
	/* Alipay face-to-face payment (sim/alipay.c, alipay_notify.c, alipay_page.c) */
	{"POST", "/alipay/gateway.do", alipay_sim_gateway, 0},
	{"GET", "/alipay/scan/{id}", alipay_sim_scan_page, 0},
	{"POST", "/alipay/scan/{id}/pay", alipay_sim_scan_pay, 0},
	{"POST", "/alipay/scan/{id}/cancel", alipay_sim_scan_cancel, 0},
	{"GET", "/_sim/alipay/trades", alipay_sim_trades, 0},
	{"POST", "/_sim/alipay/trades/{out_trade_no}/pay", alipay_sim_pay, 0},
	{"POST", "/_sim/alipay/trades/{out_trade_no}/notify", alipay_sim_notify, 0},
	{"POST", "/_sim/alipay/fail-next", alipay_sim_fail_next, 0},
	{"DELETE", "/_sim/alipay", alipay_sim_clear, 0},
	/* SMTP (sim/smtp.c): the messages its mail server received */
	{"GET", "/_sim/mail", smtp_sim_inbox, 0},
	{"DELETE", "/_sim/mail", smtp_sim_clear, 0},
	{"POST", "/_sim/mail/refuse", smtp_sim_refuse, 0},
	/* WeChat Pay API v3 Native (sim/wxpay.c, sim/wxpay_notify.c, sim/wxpay_page.c) */
	{"POST", "/wxpay/v3/pay/transactions/native", wxpay_sim_create, 0},
	{"GET", "/wxpay/v3/pay/transactions/out-trade-no/{out_trade_no}", wxpay_sim_query, 0},
	{"POST", "/wxpay/v3/pay/transactions/out-trade-no/{out_trade_no}/close", wxpay_sim_close, 0},
	{"POST", "/wxpay/v3/refund/domestic/refunds", wxpay_sim_refund, 0},
	{"GET", "/wxpay/v3/refund/domestic/refunds/{out_refund_no}", wxpay_sim_refund_query, 0},
	{"GET", "/wxpay/scan/{pr}", wxpay_sim_page, 0},
	{"POST", "/wxpay/scan/{pr}/pay", wxpay_sim_page_pay, 0},
	{"POST", "/wxpay/scan/{pr}/cancel", wxpay_sim_page_cancel, 0},
	{"POST", "/_sim/wxpay/orders/{out_trade_no}/pay", wxpay_sim_ctl_pay, 0},
	{"POST", "/_sim/wxpay/orders/{out_trade_no}/notify", wxpay_sim_ctl_notify, 0},
	{"GET", "/_sim/wxpay/orders", wxpay_sim_ctl_orders, 0},
	{"POST", "/_sim/wxpay/fail-next", wxpay_sim_ctl_fail_next, 0},
	{"POST", "/_sim/wxpay/refund-mode", wxpay_sim_ctl_refund_mode, 0},
	{"DELETE", "/_sim/wxpay", wxpay_sim_ctl_clear, 0},
	{"GET", "/*", sim_unknown, 0},
	{"POST", "/*", sim_unknown, 0},
	{"PUT", "/*", sim_unknown, 0},
	{"DELETE", "/*", sim_unknown, 0},
};

int main(int argc, char **argv)
{
	struct config cfg;
	struct http_server *srv;
	const char *path = argc == 3 && strcmp(argv[1], "--config") == 0 ? argv[2] : NULL;
	char err[1024];
	sigset_t set;
	int sig, smtp_port;

	if (argc != 1 && path == NULL) {
		fprintf(stderr, "usage: certdesk-sim [--config FILE]   (uses the [sim] section)\n");
		return 2;
	}
	if (config_load(&cfg, path, err, sizeof(err)) != 0) {
		fprintf(stderr, "certdesk-sim: configuration: %s\n", err);
		config_free(&cfg);
		return 2;
	}
	if (sodium_init() < 0) {
		fprintf(stderr, "certdesk-sim: libsodium cannot start\n");
		config_free(&cfg);
		return 1;
	}
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	srv = http_server_start(
		&(struct http_server_opts){.listen_address = cfg.sim_listen_address,
					   .port = cfg.sim_port,
					   .threads = 2,
					   .max_body_bytes = 1 << 20,
					   .routes = sim_routes,
					   .ctx = &cfg,
					   .nroutes = (int)(sizeof(sim_routes) / sizeof(sim_routes[0]))},
		err, sizeof(err));
	if (srv == NULL) {
		fprintf(stderr, "certdesk-sim: %s\n", err);
		config_free(&cfg);
		return 1;
	}
	/* not fatal: the other simulators are still of use when the mail port is taken */
	if ((smtp_port = smtp_sim_start(cfg.sim_listen_address, cfg.sim_smtp_port, err, sizeof(err))) < 0)
		fprintf(stderr, "certdesk-sim: WARNING: %s; running without SMTP\n", err);
	printf("certdesk-sim listening on http://%s:%d, SMTP on port %d\n", cfg.sim_listen_address,
	       http_server_port(srv), smtp_port);
	fflush(stdout);
	sigwait(&set, &sig);
	http_server_stop(srv, 5);
	smtp_sim_stop();
	alipay_sim_stop();
	recorder_clear();
	faceid_clear();
	sms_clear();
	sf_clear();
	wxpay_sim_stop();
	config_free(&cfg);
	return 0;
}
