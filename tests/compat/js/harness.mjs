// What every JS compatibility scenario shares: its settings from the environment, one SDK client
// per credential, and the step bookkeeping. A scenario prints one line per step
// (`PASS <step>` / `FAIL <step>: <reason>`) and ends with `finish()`, which prints
// `N passed, M failed` and sets the exit status. See ../WIRE-NOTES.md for the SDK behaviour
// relied on.
import contentstack from '@contentstack/management'

export const env = (name, fallback) => {
  const v = process.env[name] ?? fallback
  if (v === undefined) { console.error(`missing env ${name}`); process.exit(2) }
  return v
}
export const BASE = env('HEADWATER_URL', 'http://127.0.0.1:8080').replace(/\/+$/, '')

// One SDK client per credential: a management token is set client-wide by client.stack().
// `endpoint` is used verbatim as the axios baseURL, so it carries `/v3`. Retries are off so a
// refused request surfaces at once (and the SDK's retry-time URL check never runs).
export const newClient = (extra = {}) => contentstack.client({
  endpoint: `${BASE}/v3`,
  retryOnError: false,
  retryOnNetworkFailure: false,
  timeout: 15000,
  logHandler: (level, data) => { if (level === 'error') console.error(`[sdk] ${data?.message ?? data}`) },
  ...extra,
})

let passed = 0
let failed = 0
export const describe = (e) => (e && e.status !== undefined)
  ? `HTTP ${e.status} error_code=${e.errorCode} ${JSON.stringify(e.errorMessage)}`
  : (e?.message ?? String(e))

export async function step (name, fn) {
  try {
    await fn()
    passed++
    console.log(`PASS ${name}`)
  } catch (e) {
    failed++
    console.log(`FAIL ${name}: ${describe(e).replace(/\s+/g, ' ')}`)
  }
}

export function check (cond, what) { if (!cond) throw new Error(what) }
export function need (value, what) {
  if (value === undefined || value === null) throw new Error(`skipped: no ${what} (an earlier step failed)`)
  return value
}

// Runs fn expecting the server to refuse it with one of `statuses`, and with `code` and an
// `error_message` matching `message` when given; returns the SDK error. A 404 never passes as a
// refusal unless it is named: an unknown route is not a refusal.
export async function refused (fn, statuses, { code, message } = {}) {
  let err
  try { await fn() } catch (e) { err = e }
  check(err, 'the request succeeded but should have been refused')
  if (err.status === undefined) throw err
  check(err.status !== 404 || statuses.includes(404), `the route is unknown: ${describe(err)}`)
  check(statuses.includes(err.status), `expected HTTP ${statuses.join(' or ')}, got ${describe(err)}`)
  if (code !== undefined) check(err.errorCode === code, `expected error_code ${code}, got ${describe(err)}`)
  if (message) check(message.test(err.errorMessage ?? ''), `error_message should match ${message}, got ${describe(err)}`)
  return err
}

// Prints the tally and ends the process with its status.
export function finish () {
  console.log(`${passed} passed, ${failed} failed`)
  process.exit(failed > 0 ? 1 : 0)
}
