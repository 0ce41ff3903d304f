#!/usr/bin/env node
// Browser end-to-end harness for certdesk.
//
// Starts certdesk-sim (the simulated outside services: face verification …) and
// certdeskd on free loopback ports with a throw-away SQLite database
// (configuration through CERTDESK_* environment variables only; both get the
// same ones, pointing the server at the simulator), waits for their /healthz,
// launches Debian's chromium through playwright-core and runs every
// test exported by tests/e2e/*.test.mjs. Output is one line per test
// ("ok - name" / "not ok - name: reason") and a summary; exit status 1 on any
// failure.
//
// The server runs with the dev-only settings CERTDESK_DEV_CAPTCHA_ANSWER=ABCDE (every captcha's
// answer) and CERTDESK_DEV_EXPOSE_OUTBOX=true (GET /api/v1/dev/outbox lists the SMS codes), after
// `certdesk init --demo` (the admin CLI next to certdeskd) created the demo staff accounts
// (reviewer, finance, paper, producer, shipper, admin; password Demo-2026).
//
// Environment:
//   CERTDESKD          server binary (default <repo>/build/certdeskd)
//   CERTDESK_CLI       admin CLI (default: "certdesk" next to the server binary)
//   CERTDESK_SIM_BIN   simulator (default: "certdesk-sim" next to the server binary)
//   CERTDESK_SIGNER_BIN  the CA's signing process (default: "certdesk-signer" next to the server
//                      binary); it loads the demo CA keys `certdesk init --demo` wrote into the
//                      server's temp dir and listens on a socket there (certificate issuance)
//   CERTDESK_AGENT_BIN certdesk-agent, the producer's local key program (default: next to the server
//                      binary); it runs with the software SKF key (CERTDESK_SOFTSKF_LIB, default
//                      <build>/src/softskf/libcertdesk-softskf.so, 32-bit ULONG) over a temp directory
//                      of keys that tests fill with CERTDESK_SOFTSKF_TOOL (default next to the library)
//   CERTDESK_WEB_ROOT  built web UI (default <repo>/web/dist)
//   CHROMIUM           browser binary (default /usr/bin/chromium)
//   E2E_ARTIFACTS      directory for screenshots (default: a new /tmp dir, kept)
//   E2E_KEEP=1         keep the server's temp dir (database, logs) for debugging
//   E2E_HEADED=1       show the browser window
//   E2E_CONSOLE=1      print the pages' console warnings and errors (e.g. Vue warnings with a
//                      development build: vite build --mode development)
// Arguments: optional substrings; only tests whose name contains one are run.
//
// A test file exports an array:  export default [{ name, fn: async (t) => {}, timeoutMs? }]
// where t = { baseURL, simURL, url(path), page, context, artifacts, dbPath, fetch(path, init),
// getJSON(path), waitForText(locator, text, ms), screenshot(name), serverLog(), agent }; t.agent is
// { port, dir, tool(...args), list() } (the software keys' directory, certdesk-softskf-tool on it,
// `certdesk-agent list --json` parsed), or null when certdesk-agent is not built.
// Each test gets a fresh page; throw (e.g. via node:assert) to fail.

import { execFileSync, spawn } from 'node:child_process'
import fs from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { chromium } from 'playwright-core'

const HERE = path.dirname(fileURLToPath(import.meta.url))
const REPO = path.resolve(HERE, '..', '..')

const SERVER_BIN = path.resolve(REPO, process.env.CERTDESKD || 'build/certdeskd')
const CLI_BIN = process.env.CERTDESK_CLI
  ? path.resolve(REPO, process.env.CERTDESK_CLI)
  : path.join(path.dirname(SERVER_BIN), 'certdesk')
const SIM_BIN = process.env.CERTDESK_SIM_BIN
  ? path.resolve(REPO, process.env.CERTDESK_SIM_BIN)
  : path.join(path.dirname(SERVER_BIN), 'certdesk-sim')
const SIGNER_BIN = process.env.CERTDESK_SIGNER_BIN
  ? path.resolve(REPO, process.env.CERTDESK_SIGNER_BIN)
  : path.join(path.dirname(SERVER_BIN), 'certdesk-signer')
const AGENT_BIN = process.env.CERTDESK_AGENT_BIN
  ? path.resolve(REPO, process.env.CERTDESK_AGENT_BIN)
  : path.join(path.dirname(SERVER_BIN), 'certdesk-agent')
const SOFTSKF_LIB = process.env.CERTDESK_SOFTSKF_LIB
  ? path.resolve(REPO, process.env.CERTDESK_SOFTSKF_LIB)
  : path.join(path.dirname(SERVER_BIN), 'src', 'softskf', 'libcertdesk-softskf.so')
const SOFTSKF_TOOL = process.env.CERTDESK_SOFTSKF_TOOL
  ? path.resolve(REPO, process.env.CERTDESK_SOFTSKF_TOOL)
  : path.join(path.dirname(SOFTSKF_LIB), 'certdesk-softskf-tool')
const DEV_CAPTCHA_ANSWER = 'ABCDE' // also in helpers.mjs
const WEB_ROOT = path.resolve(REPO, process.env.CERTDESK_WEB_ROOT || 'web/dist')
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium'
const KEEP = process.env.E2E_KEEP === '1'
const HEALTH_TIMEOUT_MS = 20000
const TEST_TIMEOUT_MS = Number(process.env.E2E_TEST_TIMEOUT_MS || 30000)
const SHUTDOWN_TIMEOUT_MS = 10000
const LOG_TAIL_BYTES = 16384

const tempDirs = []
let server = null
let serverExit = null // { code, signal } once exited
let serverStdout = ''
let serverStderr = ''
let sim = null // { child, exit, stdout, stderr }
let signer = null // the same shape, for certdesk-signer
let agent = null // the same shape plus { port, dir, config }, for certdesk-agent
let context = null
let autoArtifacts = null // artifacts dir we created ourselves (removed if left empty)

function mkTemp(prefix) {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), prefix))
  tempDirs.push(d)
  return d
}

function tail(s, n = LOG_TAIL_BYTES) {
  return s.length > n ? '…' + s.slice(-n) : s
}

function diag(msg) {
  // TAP-style diagnostics: every line prefixed with "# ".
  for (const line of String(msg).replace(/\s+$/, '').split('\n')) console.log(`# ${line}`)
}

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer()
    srv.unref()
    srv.on('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address()
      srv.close(() => resolve(port))
    })
  })
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

// The harness's own settings share the CERTDESK_ prefix; the programs reject unknown
// CERTDESK_* variables, so those stay out of their environment.
const HARNESS_VARS = [
  'CERTDESK_WEB_ROOT',
  'CERTDESK_CLI',
  'CERTDESK_SIM_BIN',
  'CERTDESK_SIGNER_BIN',
  'CERTDESK_AGENT_BIN',
  'CERTDESK_SOFTSKF_LIB',
  'CERTDESK_SOFTSKF_TOOL',
  'CERTDESK_SOFTSKF_DIR',
]

let simPort = 0 // chosen in main() before any program starts
let smtpPort = 0 // the simulator's SMTP server (invoice mail), also chosen in main()

function testKeys() {
  const k = (name) => path.join(REPO, 'config', 'testkeys', name)
  return {
    CERTDESK_WXPAY_MERCHANT_KEY: k('wxpay-merchant.key'),
    CERTDESK_WXPAY_PLATFORM_KEY: k('wxpay-platform.pub'),
    CERTDESK_ALIPAY_APP_KEY: k('alipay-app.key'),
    CERTDESK_ALIPAY_PUBLIC_KEY: k('alipay-gateway.pub'),
    CERTDESK_SIM_WXPAY_MERCHANT_PUB: k('wxpay-merchant.pub'),
    CERTDESK_SIM_WXPAY_PLATFORM_KEY: k('wxpay-platform.key'),
    CERTDESK_SIM_ALIPAY_APP_PUB: k('alipay-app.pub'),
    CERTDESK_SIM_ALIPAY_GATEWAY_KEY: k('alipay-gateway.key'),
  }
}

function serverEnv(port, dir) {
  const inherited = { ...process.env }
  for (const k of HARNESS_VARS) delete inherited[k]
  return {
    ...inherited,
    CERTDESK_SERVER_PORT: String(port),
    CERTDESK_SERVER_LISTEN_ADDRESS: '127.0.0.1',
    // The QR codes on the letters and the provider's redirect point here (not the default :8080).
    CERTDESK_SERVER_PUBLIC_URL: `http://127.0.0.1:${port}`,
    CERTDESK_SIM_PORT: String(simPort),
    CERTDESK_SIM_URL: `http://127.0.0.1:${simPort}`,
    CERTDESK_IDV_ENDPOINT: `http://127.0.0.1:${simPort}/faceid`,
    CERTDESK_WXPAY_ENDPOINT: `http://127.0.0.1:${simPort}/wxpay`,
    CERTDESK_ALIPAY_GATEWAY: `http://127.0.0.1:${simPort}/alipay/gateway.do`,
    CERTDESK_COURIER_SF_ENDPOINT: `http://127.0.0.1:${simPort}/sf/std/service`,
    // SF is asked on every route request (no cache), so tests see the routes they set at once.
    CERTDESK_COURIER_CACHE_S: '0',
    // the payment test key pairs (config/testkeys), wherever the programs run
    ...testKeys(),
    CERTDESK_SIM_SMTP_PORT: String(smtpPort),
    CERTDESK_MAIL_SMTP_URL: `smtp://127.0.0.1:${smtpPort}`,
    CERTDESK_SERVER_WEB_ROOT: WEB_ROOT,
    CERTDESK_CALENDAR_DATA_DIR: path.join(REPO, 'data', 'holidays-cn'),
    CERTDESK_DATABASE_BACKEND: 'sqlite',
    CERTDESK_DATABASE_SQLITE_PATH: path.join(dir, 'certdesk.db'),
    CERTDESK_FILES_DATA_DIR: path.join(dir, 'files'),
    CERTDESK_LOG_ACCESS_LOG: path.join(dir, 'access.log'),
    CERTDESK_DEV_CAPTCHA_ANSWER: DEV_CAPTCHA_ANSWER,
    CERTDESK_DEV_EXPOSE_OUTBOX: 'true',
    // every test registers from 127.0.0.1: more codes an hour than one real client address may ask
    CERTDESK_SMS_PER_IP_HOUR: '1000',
    // the demo CA's keys (init --demo), the signer's socket and log, the KEK: inside the temp dir
    CERTDESK_SIGNER_KEYS_DIR: path.join(dir, 'ca-keys'),
    CERTDESK_SIGNER_SOCKET: path.join(dir, 'signer.sock'),
    CERTDESK_SIGNER_LOG: path.join(dir, 'signer.log'),
    CERTDESK_KM_KEK_FILE: path.join(dir, 'km.kek'),
  }
}

// `certdesk init --demo`: schema, demo project and demo staff accounts, before the server starts.
function initDemo(port, dir) {
  const env = serverEnv(port, dir)
  fs.mkdirSync(env.CERTDESK_FILES_DATA_DIR, { recursive: true })
  return new Promise((resolve, reject) => {
    let out = ''
    const child = spawn(CLI_BIN, ['init', '--demo'], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] })
    child.stdout.on('data', (d) => (out += d))
    child.stderr.on('data', (d) => (out += d))
    child.on('error', reject)
    child.on('exit', (code, signal) =>
      code === 0
        ? resolve(out)
        : reject(new Error(`${CLI_BIN} init --demo: exit code ${code}, signal ${signal}\n${tail(out, 4096)}`)),
    )
  })
}

function startServer(port, dir) {
  const env = serverEnv(port, dir)
  fs.mkdirSync(env.CERTDESK_FILES_DATA_DIR, { recursive: true })
  const child = spawn(SERVER_BIN, [], {
    argv0: 'certdeskd',
    cwd: dir,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  child.stdout.setEncoding('utf8')
  child.stderr.setEncoding('utf8')
  child.stdout.on('data', (d) => (serverStdout = tail(serverStdout + d, 4 * LOG_TAIL_BYTES)))
  child.stderr.on('data', (d) => (serverStderr = tail(serverStderr + d, 4 * LOG_TAIL_BYTES)))
  child.on('exit', (code, signal) => (serverExit = { code, signal }))
  child.on('error', (err) => {
    serverExit = { code: null, signal: null, error: err }
  })
  return child
}

// certdesk-sim with the same environment as the server (it reads the [sim] section).
function startSim(port, dir) {
  const s = { child: null, exit: null, stdout: '', stderr: '' }
  s.child = spawn(SIM_BIN, [], { argv0: 'certdesk-sim', cwd: dir, env: serverEnv(port, dir), stdio: ['ignore', 'pipe', 'pipe'] })
  s.child.stdout.setEncoding('utf8')
  s.child.stderr.setEncoding('utf8')
  s.child.stdout.on('data', (d) => (s.stdout = tail(s.stdout + d)))
  s.child.stderr.on('data', (d) => (s.stderr = tail(s.stderr + d)))
  s.child.on('exit', (code, signal) => (s.exit = { code, signal }))
  s.child.on('error', (err) => (s.exit = { code: null, signal: null, error: err }))
  return s
}

async function stopSim() {
  if (!sim || sim.exit) return sim && sim.exit
  const exited = new Promise((r) => sim.child.once('exit', (code, signal) => r({ code, signal })))
  sim.child.kill('SIGTERM')
  const res = await Promise.race([exited, sleep(SHUTDOWN_TIMEOUT_MS).then(() => null)])
  if (res) return { ...res, graceful: true }
  sim.child.kill('SIGKILL')
  await exited
  return { graceful: false }
}

// certdesk-signer with the server's environment ([signer] keys_dir, socket, log in the temp dir).
function startSigner(port, dir) {
  const s = { child: null, exit: null, stdout: '', stderr: '' }
  s.child = spawn(SIGNER_BIN, [], { argv0: 'certdesk-signer', cwd: dir, env: serverEnv(port, dir), stdio: ['ignore', 'pipe', 'pipe'] })
  s.child.stdout.setEncoding('utf8')
  s.child.stderr.setEncoding('utf8')
  s.child.stdout.on('data', (d) => (s.stdout = tail(s.stdout + d)))
  s.child.stderr.on('data', (d) => (s.stderr = tail(s.stderr + d)))
  s.child.on('exit', (code, signal) => (s.exit = { code, signal }))
  s.child.on('error', (err) => (s.exit = { code: null, signal: null, error: err }))
  return s
}

// The signer is up once its socket accepts a connection (it loads its keys before listening).
async function waitSigner(socketPath) {
  const deadline = Date.now() + HEALTH_TIMEOUT_MS
  while (Date.now() < deadline) {
    if (signer.exit) throw new Error(`certdesk-signer exited (code ${signer.exit.code}, signal ${signer.exit.signal})`)
    const up = await new Promise((resolve) => {
      const c = net.connect(socketPath)
      c.once('connect', () => (c.destroy(), resolve(true)))
      c.once('error', () => resolve(false))
    })
    if (up) return
    await sleep(100)
  }
  throw new Error(`certdesk-signer socket ${socketPath} not accepting within ${HEALTH_TIMEOUT_MS} ms`)
}

async function stopSigner() {
  if (!signer || signer.exit) return
  const exited = new Promise((r) => signer.child.once('exit', r))
  signer.child.kill('SIGTERM')
  if (!(await Promise.race([exited.then(() => true), sleep(SHUTDOWN_TIMEOUT_MS).then(() => false)]))) {
    signer.child.kill('SIGKILL')
    await exited
  }
}

// certdesk-agent on a free port, answering the server's origin, with the software SKF key over an
// empty directory of keys (tests create, pull out and plug in keys there with certdesk-softskf-tool;
// the library reads the directory at every enumeration).
async function startAgent(baseURL) {
  const dir = mkTemp('certdesk-e2e-keys-')
  const port = await freePort()
  const config = path.join(dir, 'agent.ini')
  fs.writeFileSync(
    config,
    `[agent]\nport = ${port}\norigins = ${baseURL}\n[skf]\nlibraries = ${SOFTSKF_LIB}:32\n`,
  )
  const env = { ...process.env, CERTDESK_SOFTSKF_DIR: dir, XDG_CONFIG_HOME: dir }
  for (const k of HARNESS_VARS) if (k !== 'CERTDESK_SOFTSKF_DIR') delete env[k]
  const s = { child: null, exit: null, stdout: '', stderr: '', port, dir, config, env }
  s.child = spawn(AGENT_BIN, ['--config', config, 'serve'], { argv0: 'certdesk-agent', cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] })
  s.child.stdout.setEncoding('utf8')
  s.child.stderr.setEncoding('utf8')
  s.child.stdout.on('data', (d) => (s.stdout = tail(s.stdout + d)))
  s.child.stderr.on('data', (d) => (s.stderr = tail(s.stderr + d)))
  s.child.on('exit', (code, signal) => (s.exit = { code, signal }))
  s.child.on('error', (err) => (s.exit = { code: null, signal: null, error: err }))
  agent = s
  const deadline = Date.now() + HEALTH_TIMEOUT_MS
  while (Date.now() < deadline) {
    if (s.exit) throw new Error(`certdesk-agent exited (code ${s.exit.code}, signal ${s.exit.signal})\n${tail(s.stderr, 4096)}`)
    try {
      const res = await fetch(`http://127.0.0.1:${port}/v1/status`, { signal: AbortSignal.timeout(1000) })
      await res.arrayBuffer()
      if (res.status === 200) return s
    } catch {
      /* not yet */
    }
    await sleep(100)
  }
  throw new Error(`certdesk-agent not answering on port ${port} within ${HEALTH_TIMEOUT_MS} ms`)
}

// What tests get as t.agent.
function agentHandle() {
  if (!agent) return null
  const run = (bin, args) => execFileSync(bin, args, { env: agent.env, encoding: 'utf8' })
  return {
    port: agent.port,
    dir: agent.dir,
    tool: (...args) => run(SOFTSKF_TOOL, args),
    list: () => JSON.parse(run(AGENT_BIN, ['--config', agent.config, 'list', '--json'])),
    stderr: () => agent.stderr,
  }
}

async function stopAgent() {
  if (!agent || agent.exit) return
  const exited = new Promise((r) => agent.child.once('exit', r))
  agent.child.kill('SIGTERM')
  if (!(await Promise.race([exited.then(() => true), sleep(SHUTDOWN_TIMEOUT_MS).then(() => false)]))) {
    agent.child.kill('SIGKILL')
    await exited
  }
}

// Polls baseURL/healthz until 200; exitOf() tells whether the program already exited.
async function waitHealthy(baseURL, exitOf = () => serverExit, who = 'server') {
  const deadline = Date.now() + HEALTH_TIMEOUT_MS
  let last = 'no answer'
  while (Date.now() < deadline) {
    const gone = exitOf()
    if (gone) {
      const why = gone.error ? gone.error.message : `exit code ${gone.code}, signal ${gone.signal}`
      throw new Error(`${who} exited before becoming healthy (${why})`)
    }
    try {
      const res = await fetch(`${baseURL}/healthz`, { signal: AbortSignal.timeout(1000) })
      await res.arrayBuffer()
      if (res.status === 200) return
      last = `HTTP ${res.status}`
    } catch (e) {
      last = e.cause ? e.cause.code || e.cause.message : e.message
    }
    await sleep(100)
  }
  throw new Error(`/healthz not 200 within ${HEALTH_TIMEOUT_MS} ms (last: ${last})`)
}

async function stopServer() {
  if (!server || serverExit) return serverExit
  const exited = new Promise((r) => server.once('exit', (code, signal) => r({ code, signal })))
  server.kill('SIGTERM')
  const res = await Promise.race([exited, sleep(SHUTDOWN_TIMEOUT_MS).then(() => null)])
  if (res) return { ...res, graceful: true }
  server.kill('SIGKILL')
  await exited
  return { graceful: false }
}

function withTimeout(promise, ms, what) {
  let timer
  return Promise.race([
    promise,
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms)
    }),
  ]).finally(() => clearTimeout(timer))
}

// Poll a locator until its text contains `text` (playwright-core has no expect()).
async function waitForText(locator, text, ms = 10000) {
  const deadline = Date.now() + ms
  let seen = '(element not found)'
  while (Date.now() < deadline) {
    try {
      if ((await locator.count()) > 0) {
        seen = JSON.stringify(await locator.first().textContent({ timeout: 1000 }))
        if (seen.includes(text)) return
      }
    } catch (e) {
      seen = e.message.split('\n')[0]
    }
    await sleep(100)
  }
  throw new Error(`expected ${locator} to contain ${JSON.stringify(text)}; got ${seen}`)
}

async function loadTests(filters) {
  const files = fs
    .readdirSync(HERE)
    .filter((f) => f.endsWith('.test.mjs'))
    .sort()
  const tests = []
  for (const f of files) {
    const mod = await import(pathToFileURL(path.join(HERE, f)).href)
    for (const t of mod.default || []) {
      if (!t || typeof t.name !== 'string' || typeof t.fn !== 'function') {
        throw new Error(`${f}: every test must be { name: string, fn: async (t) => {} }`)
      }
      tests.push({ ...t, file: f })
    }
  }
  if (filters.length === 0) return tests
  return tests.filter((t) => filters.some((s) => t.name.includes(s)))
}

function safeName(s) {
  return s.replace(/[^\p{L}\p{N}._-]+/gu, '_').slice(0, 80)
}

async function main() {
  const filters = process.argv.slice(2)
  const results = []
  const report = (name, err) => {
    results.push({ name, ok: !err })
    if (!err) console.log(`ok - ${name}`)
    else console.log(`not ok - ${name}: ${String(err.message || err).split('\n')[0]}`)
  }

  if (!fs.existsSync(SERVER_BIN)) throw new Error(`server binary not found: ${SERVER_BIN} (set CERTDESKD)`)
  if (!fs.existsSync(CLI_BIN)) throw new Error(`admin CLI not found: ${CLI_BIN} (set CERTDESK_CLI)`)
  if (!fs.existsSync(SIM_BIN)) throw new Error(`simulator not found: ${SIM_BIN} (set CERTDESK_SIM_BIN)`)
  if (!fs.existsSync(SIGNER_BIN)) throw new Error(`signer not found: ${SIGNER_BIN} (set CERTDESK_SIGNER_BIN)`)
  if (!fs.existsSync(path.join(WEB_ROOT, 'index.html'))) {
    throw new Error(`web root has no index.html: ${WEB_ROOT} (run "npm ci && npm run build" in web/)`)
  }
  if (!fs.existsSync(CHROMIUM)) throw new Error(`chromium not found: ${CHROMIUM} (set CHROMIUM)`)

  const tests = await loadTests(filters)
  if (tests.length === 0) throw new Error('no tests selected')

  const serverDir = mkTemp('certdesk-e2e-server-')
  const profileDir = mkTemp('certdesk-e2e-profile-')
  let artifacts = process.env.E2E_ARTIFACTS
  if (artifacts) {
    artifacts = path.resolve(artifacts)
    fs.mkdirSync(artifacts, { recursive: true })
  } else {
    artifacts = fs.mkdtempSync(path.join(os.tmpdir(), 'certdesk-e2e-artifacts-')) // kept
    autoArtifacts = artifacts
  }

  const port = await freePort()
  simPort = await freePort()
  smtpPort = await freePort()
  const baseURL = `http://127.0.0.1:${port}`
  const simURL = `http://127.0.0.1:${simPort}`
  diag(`server ${SERVER_BIN} on ${baseURL}, web root ${WEB_ROOT}`)
  diag(`simulator ${SIM_BIN} on ${simURL}`)
  diag(`artifacts ${artifacts}`)

  try {
    await initDemo(port, serverDir)
  } catch (e) {
    report('certdesk init --demo', e)
    diag(e.message)
    return results
  }
  signer = startSigner(port, serverDir)
  try {
    await waitSigner(path.join(serverDir, 'signer.sock'))
  } catch (e) {
    report('certdesk-signer starts', e)
    diag(`signer stderr:\n${tail(signer.stderr) || '(empty)'}`)
    return results
  }
  sim = startSim(port, serverDir)
  try {
    await waitHealthy(simURL, () => sim.exit, 'simulator')
  } catch (e) {
    report('simulator becomes healthy', e)
    diag(`simulator stderr:\n${tail(sim.stderr) || '(empty)'}`)
    return results
  }
  server = startServer(port, serverDir)
  try {
    await waitHealthy(baseURL)
  } catch (e) {
    report('server becomes healthy', e)
    diag(`server stderr:\n${tail(serverStderr) || '(empty)'}`)
    if (serverStdout) diag(`server stdout:\n${tail(serverStdout)}`)
    return results
  }

  if (fs.existsSync(AGENT_BIN) && fs.existsSync(SOFTSKF_LIB) && fs.existsSync(SOFTSKF_TOOL)) {
    try {
      await startAgent(baseURL)
      diag(`certdesk-agent ${AGENT_BIN} on 127.0.0.1:${agent.port}, software keys in ${agent.dir}`)
    } catch (e) {
      report('certdesk-agent starts', e)
      return results
    }
  } else {
    diag(`certdesk-agent or the software key not built (${AGENT_BIN}, ${SOFTSKF_LIB}): t.agent is null`)
  }

  context = await chromium.launchPersistentContext(profileDir, {
    executablePath: CHROMIUM,
    headless: process.env.E2E_HEADED !== '1',
    locale: 'zh-CN',
    viewport: { width: 1280, height: 800 },
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  })
  // The persistent context opens one blank page; tests get their own.
  for (const p of context.pages()) await p.close()

  const url = (p) => new URL(p, baseURL).href
  const nodeFetch = (p, init = {}) => fetch(url(p), { signal: AbortSignal.timeout(10000), ...init })

  for (const test of tests) {
    const page = await context.newPage()
    const pageErrors = []
    page.on('pageerror', (err) => pageErrors.push(err.message))
    if (process.env.E2E_CONSOLE === '1') {
      page.on('console', (m) => {
        if (m.type() === 'warning' || m.type() === 'error') diag(`${test.name}: console.${m.type()}: ${m.text()}`)
      })
    }
    const t = {
      name: test.name,
      baseURL,
      simURL,
      url,
      page,
      context,
      artifacts,
      pageErrors,
      dbPath: path.join(serverDir, 'certdesk.db'), // the server's SQLite database (for test set-up)
      fetch: nodeFetch,
      async getJSON(p) {
        const res = await nodeFetch(p, { headers: { Accept: 'application/json' } })
        if (!res.ok) throw new Error(`GET ${p}: HTTP ${res.status}`)
        return res.json()
      },
      waitForText,
      async screenshot(name) {
        const file = path.join(artifacts, name.endsWith('.png') ? name : `${name}.png`)
        // Finished transitions: no half-drawn error messages or tags in the pictures.
        await page.screenshot({ path: file, fullPage: true, animations: 'disabled' })
        return file
      },
      serverLog: () => ({ stdout: serverStdout, stderr: serverStderr }),
      agent: agentHandle(),
    }
    let err = null
    try {
      const ms = Math.max(TEST_TIMEOUT_MS, Number(test.timeoutMs) || 0)
      await withTimeout(Promise.resolve().then(() => test.fn(t)), ms, 'test')
      if (serverExit) throw new Error(`server exited during test (code ${serverExit.code}, signal ${serverExit.signal})`)
      if (sim.exit) throw new Error(`simulator exited during test (code ${sim.exit.code}, signal ${sim.exit.signal})`)
    } catch (e) {
      err = e
      try {
        const file = path.join(artifacts, `FAILED-${safeName(test.name)}.png`)
        await page.screenshot({ path: file, fullPage: true, timeout: 5000 })
        diag(`screenshot: ${file}`)
      } catch {
        /* page may be gone */
      }
      diag(`${test.file}: ${e.stack || e}`)
      if (pageErrors.length) diag(`page errors:\n${pageErrors.join('\n')}`)
    }
    report(test.name, err)
    await page.close().catch(() => {})
    if (serverExit || sim.exit) break
  }

  await context.close().catch(() => {})
  context = null

  const stop = await stopServer()
  if (stop && stop.graceful === false) {
    report('server exits on SIGTERM', new Error(`still running ${SHUTDOWN_TIMEOUT_MS} ms after SIGTERM; killed`))
  } else if (stop && stop.graceful && !(stop.code === 0 || stop.signal === 'SIGTERM')) {
    report('server exits on SIGTERM', new Error(`exit code ${stop.code}, signal ${stop.signal}`))
  } else if (stop && stop.graceful) {
    report('server exits on SIGTERM', null)
  }
  await stopSigner()
  await stopAgent()
  const simStop = await stopSim()
  if (simStop && simStop.graceful === false) {
    report('simulator exits on SIGTERM', new Error(`still running ${SHUTDOWN_TIMEOUT_MS} ms after SIGTERM; killed`))
  } else if (simStop && simStop.graceful && !(simStop.code === 0 || simStop.signal === 'SIGTERM')) {
    report('simulator exits on SIGTERM', new Error(`exit code ${simStop.code}, signal ${simStop.signal}`))
  }
  if (results.some((r) => !r.ok)) {
    diag(`server stderr (tail):\n${tail(serverStderr, 4096) || '(empty)'}`)
    if (sim && sim.stderr) diag(`simulator stderr (tail):\n${tail(sim.stderr, 4096)}`)
    if (agent && agent.stderr) diag(`certdesk-agent stderr (tail):\n${tail(agent.stderr, 4096)}`)
  }
  return results
}

async function cleanup() {
  if (context) await context.close().catch(() => {})
  if (server && !serverExit) {
    try {
      server.kill('SIGKILL')
    } catch {
      /* already gone */
    }
  }
  if (agent && !agent.exit) {
    try {
      agent.child.kill('SIGKILL')
    } catch {
      /* already gone */
    }
  }
  if (signer && !signer.exit) {
    try {
      signer.child.kill('SIGKILL')
    } catch {
      /* already gone */
    }
  }
  if (sim && !sim.exit) {
    try {
      sim.child.kill('SIGKILL')
    } catch {
      /* already gone */
    }
  }
  for (const d of tempDirs) {
    if (KEEP && d.includes('-server-')) {
      diag(`kept ${d}`)
      continue
    }
    fs.rmSync(d, { recursive: true, force: true })
  }
  try {
    if (autoArtifacts && fs.readdirSync(autoArtifacts).length === 0) fs.rmdirSync(autoArtifacts)
  } catch {
    /* ignore */
  }
}

for (const sig of ['SIGINT', 'SIGTERM']) {
  process.once(sig, async () => {
    diag(`interrupted (${sig})`)
    await cleanup()
    process.exit(130)
  })
}

let status = 1
try {
  const results = await main()
  const failed = results.filter((r) => !r.ok).length
  console.log(`# ${results.length} tests, ${results.length - failed} passed, ${failed} failed`)
  status = failed === 0 && results.length > 0 ? 0 : 1
} catch (e) {
  console.log(`not ok - harness: ${e.message}`)
  diag(e.stack || e)
  status = 1
} finally {
  await cleanup()
}
process.exit(status)
