#!/usr/bin/env node
// bench/wxpay-notification.mjs: writes one WeChat Pay (API v3) payment notification, as WeChat Pay would
// POST it to /api/v1/payments/wxpay/notify, signed with the platform private key and with the
// transaction encrypted with the APIv3 key; plus a tampered copy whose signature no longer checks.
// Used by bench/notify.sh. Only node's own modules.
//
//   node bench/wxpay-notification.mjs --out DIR [options]
//
// Writes into DIR:
//   body.json       the notification body (exact bytes that were signed)
//   tampered.json   the same body with one character of "id" changed (signature no longer checks)
//   headers.txt     "Name: value" lines: Content-Type and the Wechatpay-* headers
//   notification.json  {timestamp, nonce, serial, signature, out_trade_no, transaction_id, id}
//
// Options (defaults: certdeskd's defaults in src/config/config.c and config/testkeys):
//   --key PATH          platform private key, PEM (default <repo>/config/testkeys/wxpay-platform.key)
//   --serial S          Wechatpay-Serial (default PUB_KEY_ID_0119000000012026112500000000000001)
//   --apiv3-key K       APIv3 key, 32 ASCII bytes (default certdeskSimulatorApiV3Key0000000)
//   --appid A           (default wx0000certdesksim)
//   --mchid M           (default 1900000001)
//   --out-trade-no N    (default BENCH + random: a trade certdeskd does not know)
//   --amount FEN        amount.total (default 100)
//   --timestamp SECS    Wechatpay-Timestamp (default now)
import crypto from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const ALNUM = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz'

function die(msg) {
  process.stderr.write(`wxpay-notification: ${msg}\n`)
  process.exit(1)
}

function alnum(n) {
  let s = ''
  for (const b of crypto.randomBytes(n)) s += ALNUM[b % 62] // slight bias: irrelevant here
  return s
}

// "2026-11-25T10:00:00+08:00": WeChat Pay's times, in China Standard Time.
function timeCn(unixSeconds) {
  return new Date((unixSeconds + 8 * 3600) * 1000).toISOString().replace(/\.\d{3}Z$/, '+08:00')
}

let opts
try {
  ;({ values: opts } = parseArgs({
    options: {
      out: { type: 'string' },
      key: { type: 'string', default: path.join(root, 'config', 'testkeys', 'wxpay-platform.key') },
      serial: { type: 'string', default: 'PUB_KEY_ID_0119000000012026112500000000000001' },
      'apiv3-key': { type: 'string', default: 'certdeskSimulatorApiV3Key0000000' },
      appid: { type: 'string', default: 'wx0000certdesksim' },
      mchid: { type: 'string', default: '1900000001' },
      'out-trade-no': { type: 'string' },
      amount: { type: 'string', default: '100' },
      timestamp: { type: 'string' },
    },
    strict: true,
  }))
} catch (e) {
  die(e.message)
}
if (!opts.out) die('--out DIR is required')
const apiv3 = Buffer.from(opts['apiv3-key'], 'ascii')
if (apiv3.length !== 32) die(`--apiv3-key must be 32 ASCII bytes (got ${apiv3.length})`)
if (!/^[0-9]+$/.test(opts.amount)) die('--amount must be a whole number of fen')
const timestamp = opts.timestamp ?? String(Math.floor(Date.now() / 1000))
if (!/^[0-9]+$/.test(timestamp)) die('--timestamp must be unix seconds')
const outTradeNo = opts['out-trade-no'] ?? `BENCH${alnum(20)}`
if (!/^[0-9A-Za-z_\-*]{1,32}$/.test(outTradeNo)) die('--out-trade-no must be 1-32 of [0-9A-Za-z_-*]')
let privateKey
try {
  privateKey = crypto.createPrivateKey(fs.readFileSync(opts.key))
} catch (e) {
  die(`cannot read the platform private key ${opts.key}: ${e.message}`)
}

// The transaction, encrypted as the resource: AES-256-GCM, key = the APIv3 key's 32 bytes,
// nonce = 12 ASCII characters, AAD = associated_data; ciphertext = base64(encrypted || 16-byte tag).
const now = Math.floor(Date.now() / 1000)
const amount = Number(opts.amount)
const transactionId = `4200002026${String(now).slice(-8)}${String(crypto.randomInt(1e8)).padStart(8, '0')}`
const transaction = {
  appid: opts.appid,
  mchid: opts.mchid,
  out_trade_no: outTradeNo,
  transaction_id: transactionId,
  trade_type: 'NATIVE',
  trade_state: 'SUCCESS',
  trade_state_desc: '支付成功',
  bank_type: 'OTHERS',
  attach: '',
  success_time: '2026-11-25T10:00:00+08:00',
  payer: { openid: `oBench${alnum(22)}` },
  amount: { total: amount, payer_total: amount, currency: 'CNY', payer_currency: 'CNY' },
}
const resourceNonce = alnum(12)
const associatedData = 'transaction'
const cipher = crypto.createCipheriv('aes-256-gcm', apiv3, Buffer.from(resourceNonce, 'ascii'))
cipher.setAAD(Buffer.from(associatedData, 'utf8'))
const ciphertext = Buffer.concat([
  cipher.update(JSON.stringify(transaction), 'utf8'),
  cipher.final(),
  cipher.getAuthTag(),
]).toString('base64')

const id = [8, 4, 4, 4, 12].map(alnum).join('-')
const body = JSON.stringify({
  id,
  create_time: timeCn(now),
  resource_type: 'encrypt-resource',
  event_type: 'TRANSACTION.SUCCESS',
  summary: '支付成功',
  resource: {
    original_type: 'transaction',
    algorithm: 'AEAD_AES_256_GCM',
    ciphertext,
    associated_data: associatedData,
    nonce: resourceNonce,
  },
})

// Wechatpay-Signature = base64(SHA256withRSA("timestamp\nnonce\nbody\n")) with the platform key.
const nonce = alnum(32)
const signature = crypto
  .sign('sha256', Buffer.from(`${timestamp}\n${nonce}\n${body}\n`, 'utf8'), privateKey)
  .toString('base64')

// Tampered: one character of the id changed; same length, still valid JSON, signature fails.
const flip = (c) => (c === 'A' ? 'B' : 'A')
const tampered = body.replace(`"id":"${id}"`, `"id":"${flip(id[0])}${id.slice(1)}"`)
if (tampered === body) die('internal: could not build the tampered copy')

fs.mkdirSync(opts.out, { recursive: true })
fs.writeFileSync(path.join(opts.out, 'body.json'), body)
fs.writeFileSync(path.join(opts.out, 'tampered.json'), tampered)
fs.writeFileSync(
  path.join(opts.out, 'headers.txt'),
  [
    'Content-Type: application/json',
    `Wechatpay-Timestamp: ${timestamp}`,
    `Wechatpay-Nonce: ${nonce}`,
    `Wechatpay-Serial: ${opts.serial}`,
    `Wechatpay-Signature: ${signature}`,
    'Wechatpay-Signature-Type: WECHATPAY2-SHA256-RSA2048',
  ].join('\n') + '\n',
)
fs.writeFileSync(
  path.join(opts.out, 'notification.json'),
  JSON.stringify({
    timestamp: Number(timestamp),
    nonce,
    serial: opts.serial,
    signature,
    id,
    out_trade_no: outTradeNo,
    transaction_id: transactionId,
    body_bytes: Buffer.byteLength(body),
  }) + '\n',
)
