#include "core/order_fsm.h"

#include <string.h>

#include "core/roles.h"

#define BIT(r) (1u << (r))

struct transition {
	enum order_state from;
	enum order_event event;
	enum order_state to;
	enum order_actor actor;
	unsigned roles; /* staff: any of these roles */
};

/* The whole machine. An event not listed for a state is refused. */
static const struct transition table[] = {
	{OS_DRAFT, OE_EDIT, OS_DRAFT, OA_ORG, 0},
	{OS_REJECTED, OE_EDIT, OS_REJECTED, OA_ORG, 0},
	{OS_DRAFT, OE_SUBMIT, OS_SUBMITTED, OA_ORG, 0},
	{OS_REJECTED, OE_SUBMIT, OS_SUBMITTED, OA_ORG, 0},
	{OS_SUBMITTED, OE_PASS, OS_AWAITING_PAYMENT, OA_STAFF, BIT(ROLE_REVIEWER)},
	{OS_SUBMITTED, OE_REJECT, OS_REJECTED, OA_STAFF, BIT(ROLE_REVIEWER)},
	{OS_AWAITING_PAYMENT, OE_PAID, OS_AWAITING_PAPER, OA_SYSTEM, 0},
	{OS_AWAITING_PAPER, OE_COURIER, OS_PAPER_SENT, OA_ORG, 0},
	{OS_PAPER_REJECTED, OE_COURIER, OS_PAPER_SENT, OA_ORG, 0},
	{OS_PAPER_SENT, OE_PAPER_OK, OS_PRODUCING, OA_STAFF, BIT(ROLE_PAPER)},
	{OS_PAPER_SENT, OE_PAPER_BAD, OS_PAPER_REJECTED, OA_STAFF, BIT(ROLE_PAPER)},
	{OS_PRODUCING, OE_MADE, OS_PRODUCED, OA_STAFF, BIT(ROLE_PRODUCER)},
	{OS_PRODUCED, OE_SHIP, OS_SHIPPED, OA_STAFF, BIT(ROLE_SHIPPER)},
	{OS_SHIPPED, OE_COMPLETE, OS_COMPLETED, OA_SYSTEM, 0},
	{OS_DRAFT, OE_DELETE, OS_DELETED, OA_ORG, 0},
	{OS_SUBMITTED, OE_DELETE, OS_DELETED, OA_ORG, 0},
	{OS_REJECTED, OE_DELETE, OS_DELETED, OA_ORG, 0},
	{OS_AWAITING_PAPER, OE_CANCEL, OS_REFUNDING, OA_STAFF, BIT(ROLE_FINANCE)},
	{OS_PAPER_SENT, OE_CANCEL, OS_REFUNDING, OA_STAFF, BIT(ROLE_FINANCE)},
	{OS_PAPER_REJECTED, OE_CANCEL, OS_REFUNDING, OA_STAFF, BIT(ROLE_FINANCE)},
	/* a renewal paid but not yet issued (issue 15) */
	{OS_PAID, OE_CANCEL, OS_REFUNDING, OA_STAFF, BIT(ROLE_FINANCE)},
	{OS_REFUNDING, OE_REFUNDED, OS_REFUNDED, OA_SYSTEM, 0},
};

int order_fsm_missing(const struct order_facts *f, const char *codes[4])
{
	int n = 0;

	if (!f->form_complete)
		codes[n++] = "form_incomplete";
	if (!f->documents_complete)
		codes[n++] = "documents_missing";
	if (!f->verified)
		codes[n++] = "verification_missing";
	if (!f->uscc_ok)
		codes[n++] = "uscc_unconfirmed";
	return n;
}

int order_fsm_decide(enum order_state s, enum order_event e, enum order_actor actor, unsigned roles,
		     const struct order_facts *f, enum order_state *next)
{
	const char *codes[4];

	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		const struct transition *t = &table[i];
		if (t->from != s || t->event != e)
			continue;
		if (t->actor != actor || (actor == OA_STAFF && (roles & t->roles) == 0))
			return FSM_WRONG_ACTOR;
		if (e == OE_SUBMIT && order_fsm_missing(f, codes) > 0)
			return FSM_GUARD_FAILED;
		*next = t->to;
		return FSM_OK;
	}
	return FSM_WRONG_STATE;
}

static const char *const state_names[OS_COUNT] = {
	"draft",      "submitted",      "rejected",  "awaiting_payment", "awaiting_paper",
	"paper_sent", "paper_rejected", "producing", "produced",         "shipped",
	"completed",  "deleted",        "refunding", "refunded",         "paid",
	"issued",     "cancelled",
};

static const char *const state_labels[OS_COUNT] = {
	"草稿（待提交）",
	"已提交，待预审",
	"预审未通过，请修改后重新提交",
	"预审通过，待付款",
	"已付款，请邮寄纸质资料",
	"纸质资料已寄出，待审核",
	"纸质资料不合格，请补寄",
	"资料合格，制证中",
	"证书已制作，待寄出",
	"证书已寄出",
	"已完成",
	"已删除",
	"退款中",
	"已退款",
	"已付款，待下载证书",
	"证书已签发，待写入USBKEY",
	"已取消",
};

static const char *const next_steps[OS_COUNT] = {
	("请完善订单信息，下载并打印申请表、授权委托书（主锁还需签章采集表），盖章后扫描上传，法人扫码完成刷脸"
	 "核验后提交。"),
	"资料已提交，工作人员将尽快预审，结果将以短信通知经办人。",
	"请查看预审不通过的原因，修改或重新上传相应资料后再次提交。",
	"预审已通过，请使用微信或支付宝扫码付款。",
	"请将纸质资料邮寄至江西CA，并在系统中填写快递单号（建议使用顺丰速运）。",
	"纸质资料已寄出，工作人员收到后将进行审核。",
	"纸质资料不合格，请按工作人员电话通知补寄资料，并重新填写快递单号。",
	"纸质资料审核合格，约 2 个工作日内制作证书并寄出。",
	"证书已制作完成，即将用顺丰快递寄出。",
	"证书已寄出，可凭快递单号查询物流；发票将发送至发票接收邮箱。",
	"业务已办结。",
	"订单已删除，其申请表和法人核验均已作废；如需办理请重新申请。",
	"退款处理中。",
	"款项已退回。",
	"已付款，请插入原证书（CA锁）点击“下载证书到USBKEY”。",
	"新证书已签发，请点击“下载证书到USBKEY”完成写入，写入过程中切勿拔插证书（CA锁）。",
	"订单已取消。",
};

static const char *const event_names[OE_COUNT] = {
	"edit",      "submit", "pass", "reject",   "paid",   "courier", "paper_ok",
	"paper_bad", "made",   "ship", "complete", "delete", "cancel",  "refunded",
};

const char *order_state_name(enum order_state s)
{
	return (unsigned)s < OS_COUNT ? state_names[s] : NULL;
}

const char *order_state_label(enum order_state s)
{
	return (unsigned)s < OS_COUNT ? state_labels[s] : NULL;
}

const char *order_state_next_step(enum order_state s)
{
	return (unsigned)s < OS_COUNT ? next_steps[s] : NULL;
}

int order_state_from_name(const char *name)
{
	for (int i = 0; name != NULL && i < OS_COUNT; i++)
		if (strcmp(name, state_names[i]) == 0)
			return i;
	return -1;
}

const char *order_event_name(enum order_event e)
{
	return (unsigned)e < OE_COUNT ? event_names[e] : NULL;
}

int order_state_live(enum order_state s)
{
	return s != OS_DELETED && s != OS_REFUNDED && s != OS_REFUNDING && s != OS_CANCELLED;
}
