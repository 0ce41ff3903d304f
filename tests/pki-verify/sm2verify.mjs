#!/usr/bin/env node
// An independent SM2 verifier for certdesk's tests (issue 12): OpenSSL 3.0's command line cannot
// check SM2 CRLs or OCSP responses signed with the GM/T default distinguishing ID, and the C tests
// use OpenSSL too, so this checks the same signatures with another implementation (npm sm-crypto)
// and a DER walker of its own (no X.509 library).
//
//   node sm2verify.mjs SIGNED SIGNER_CERT [--id ID]
//
// SIGNED: a DER (or PEM) certificate, CRL or OCSPResponse (successful, basic). SIGNER_CERT: the
// certificate (PEM or DER) whose SM2 public key made the signature. ID defaults to the GM/T 0009
// default "1234567812345678".
// Exit status: 0 the signature verifies, 1 it does not, 2 usage or malformed input.
import { readFileSync } from 'node:fs';
import { sm2 } from 'sm-crypto';

const SM2_WITH_SM3 = '2a811ccf55018375'; // 1.2.156.10197.1.501
const EC_PUBLIC_KEY = '2a8648ce3d0201'; // 1.2.840.10045.2.1
const SM2_CURVE = '2a811ccf5501822d'; // 1.2.156.10197.1.301
const OCSP_BASIC = '2b0601050507300101'; // 1.3.6.1.5.5.7.48.1.1

class Malformed extends Error {}

function fail(msg) {
  throw new Malformed(msg);
}

// Reads one DER TLV at off (strict: definite, minimal lengths; low-tag-number form only, which is
// all these structures use). Returns {tag, off, hdr, len, end, body}.
function tlv(buf, off, limit = buf.length) {
  if (off + 2 > limit) fail(`truncated TLV at ${off}`);
  const tag = buf[off];
  if ((tag & 0x1f) === 0x1f) fail(`high tag number at ${off}`);
  let len = buf[off + 1];
  let hdr = 2;
  if (len === 0x80) fail(`indefinite length at ${off}`);
  if (len > 0x80) {
    const n = len & 0x7f;
    if (n > 4 || off + 2 + n > limit) fail(`bad length at ${off}`);
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + buf[off + 2 + i];
    if (buf[off + 2] === 0 || len < 0x80) fail(`non-minimal length at ${off}`);
    hdr += n;
  }
  const end = off + hdr + len;
  if (end > limit) fail(`length past the end at ${off}`);
  return { tag, off, hdr, len, end, body: off + hdr };
}

// The TLVs directly inside constructed value t.
function children(buf, t) {
  const out = [];
  for (let off = t.body; off < t.end; ) {
    const c = tlv(buf, off, t.end);
    out.push(c);
    off = c.end;
  }
  return out;
}

const hex = (buf, t) => buf.subarray(t.body, t.end).toString('hex');

function expect(t, tag, what) {
  if (t === undefined || t.tag !== tag) fail(`${what}: expected tag 0x${tag.toString(16)}`);
  return t;
}

// PEM (any label) or DER bytes -> DER.
function der(buf) {
  const text = buf.toString('latin1');
  const m = /-----BEGIN [A-Z0-9 ]+-----([\s\S]*?)-----END [A-Z0-9 ]+-----/.exec(text);
  return m ? Buffer.from(m[1].replace(/\s+/g, ''), 'base64') : buf;
}

// A SEQUENCE { tbs, AlgorithmIdentifier, BIT STRING } at the top of buf (certificate, CRL,
// BasicOCSPResponse). Returns {tbs (raw bytes), sig (DER Ecdsa-Sig-Value hex)}.
function signedObject(buf, top, what) {
  const [tbs, alg, sig] = children(buf, expect(top, 0x30, what));
  expect(tbs, 0x30, `${what} TBS`);
  const oid = expect(children(buf, expect(alg, 0x30, `${what} signatureAlgorithm`))[0], 0x06, 'algorithm OID');
  if (hex(buf, oid) !== SM2_WITH_SM3) fail(`${what} is not signed with SM2-with-SM3 (OID ${hex(buf, oid)})`);
  expect(sig, 0x03, `${what} signature`);
  if (buf[sig.body] !== 0) fail(`${what} signature has unused bits`);
  return { tbs: buf.subarray(tbs.off, tbs.end), sig: buf.subarray(sig.body + 1, sig.end).toString('hex') };
}

// What to verify in a certificate, a CRL or an OCSPResponse.
function parseSigned(buf) {
  const top = tlv(buf, 0);
  if (top.end !== buf.length) fail('trailing bytes after the top-level value');
  const first = children(buf, expect(top, 0x30, 'top level'))[0];
  if (first === undefined || first.tag !== 0x0a) {
    // Certificate or CertificateList: tell them apart for the message only.
    const tbsFields = children(buf, first);
    const kind = tbsFields.some((f) => f.tag === 0xa3) || tbsFields[0]?.tag === 0xa0 ? 'certificate' : 'CRL';
    return { kind, ...signedObject(buf, top, kind) };
  }
  // OCSPResponse ::= SEQUENCE { responseStatus ENUMERATED, responseBytes [0] EXPLICIT ResponseBytes }
  const [status, bytes] = children(buf, top);
  if (hex(buf, status) !== '00') fail(`OCSP response status ${hex(buf, status)} (not successful): nothing signed`);
  const rb = expect(children(buf, expect(bytes, 0xa0, 'responseBytes'))[0], 0x30, 'ResponseBytes');
  const [type, octets] = children(buf, rb);
  if (hex(buf, expect(type, 0x06, 'responseType')) !== OCSP_BASIC) fail('OCSP response is not id-pkix-ocsp-basic');
  expect(octets, 0x04, 'response');
  const basic = buf.subarray(octets.body, octets.end);
  const inner = tlv(basic, 0);
  if (inner.end !== basic.length) fail('trailing bytes after BasicOCSPResponse');
  return { kind: 'OCSP response', ...signedObject(basic, inner, 'BasicOCSPResponse') };
}

// The uncompressed SM2 public key point (hex "04..") of a certificate.
function sm2PublicKey(buf) {
  const cert = tlv(buf, 0);
  const tbs = expect(children(buf, expect(cert, 0x30, 'certificate'))[0], 0x30, 'TBSCertificate');
  const f = children(buf, tbs);
  const i = f[0].tag === 0xa0 ? 1 : 0; // [0] version
  const spki = expect(f[i + 5], 0x30, 'subjectPublicKeyInfo');
  const [alg, key] = children(buf, spki);
  const [algOid, curve] = children(buf, expect(alg, 0x30, 'key algorithm'));
  if (hex(buf, algOid) !== EC_PUBLIC_KEY || curve === undefined || hex(buf, curve) !== SM2_CURVE)
    fail('the signer certificate does not hold an SM2 key (id-ecPublicKey on curve 1.2.156.10197.1.301)');
  expect(key, 0x03, 'subjectPublicKey');
  const point = buf.subarray(key.body + 1, key.end).toString('hex');
  if (buf[key.body] !== 0 || point.length !== 130 || !point.startsWith('04'))
    fail('the SM2 public key is not an uncompressed point');
  return point;
}

function main(argv) {
  const args = argv.slice(2);
  let id = '1234567812345678';
  const at = args.indexOf('--id');
  if (at >= 0) {
    id = args[at + 1];
    args.splice(at, 2);
  }
  if (args.length !== 2 || id === undefined) {
    console.error('usage: node sm2verify.mjs SIGNED(cert|crl|ocsp response) SIGNER_CERT [--id ID]');
    return 2;
  }
  let signed, pub;
  try {
    signed = parseSigned(der(readFileSync(args[0])));
    pub = sm2PublicKey(der(readFileSync(args[1])));
  } catch (e) {
    console.error(`sm2verify: ${e instanceof Malformed ? 'malformed input' : 'cannot read'}: ${e.message}`);
    return 2;
  }
  const ok = sm2.doVerifySignature(Array.from(signed.tbs), signed.sig, pub, { der: true, hash: true, userId: id });
  console.log(`sm2verify: ${signed.kind} ${args[0]}: SM2 signature ${ok ? 'OK' : 'FAILS'} (SM3, ID "${id}")`);
  return ok ? 0 : 1;
}

process.exitCode = main(process.argv);
