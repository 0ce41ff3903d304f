-- Pre-review (预审): a reviewer claims an order for a while so that two do not work on it at once;
-- the decision with its reasons per document; the list of standard reasons admins maintain.

ALTER TABLE orders ADD COLUMN claimed_by BIGINT REFERENCES staff(id);
ALTER TABLE orders ADD COLUMN claim_expires_at TEXT;

CREATE TABLE reviews (
    id {{id}},
    order_id BIGINT NOT NULL REFERENCES orders(id),
    staff_id BIGINT NOT NULL REFERENCES staff(id),
    decision TEXT NOT NULL CHECK (decision IN ('pass', 'reject')),
    detail TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX reviews_order ON reviews (order_id, id);

CREATE TABLE review_reasons (
    id {{id}},
    text TEXT NOT NULL UNIQUE,
    active INTEGER NOT NULL DEFAULT 1,
    created_at TEXT NOT NULL
);
INSERT INTO review_reasons (text, created_at) VALUES ('图片不清晰，无法辨认', '2026-11-25T00:00:00Z');
INSERT INTO review_reasons (text, created_at) VALUES ('未加盖单位公章原章（请勿使用打印或复印的印章）', '2026-11-25T00:00:00Z');
INSERT INTO review_reasons (text, created_at) VALUES ('不是原件 1:1 复印件（请勿缩小复印）', '2026-11-25T00:00:00Z');
INSERT INTO review_reasons (text, created_at) VALUES ('疑似手机拍照，请用扫描仪扫描后上传', '2026-11-25T00:00:00Z');
INSERT INTO review_reasons (text, created_at) VALUES ('不是本订单的在线业务专用表格，请重新下载', '2026-11-25T00:00:00Z');
INSERT INTO review_reasons (text, created_at) VALUES ('资料信息与订单填写的信息不一致', '2026-11-25T00:00:00Z');
INSERT INTO review_reasons (text, created_at) VALUES ('委托书未填写完整（委托期限、签字或盖章）', '2026-11-25T00:00:00Z');
INSERT INTO review_reasons (text, created_at) VALUES ('印模不清晰、有杂质或底色，或法人章不是红色方章', '2026-11-25T00:00:00Z');
INSERT INTO review_reasons (text, created_at) VALUES ('证件已过期', '2026-11-25T00:00:00Z');
