// Compatibility scenario: the official JavaScript management SDK, unchanged, against a fresh
// Headwater server. One line per step (`PASS <step>` / `FAIL <step>: <reason>`), then
// `N passed, M failed`. Env: HEADWATER_URL, HEADWATER_EMAIL, HEADWATER_PASSWORD,
// HEADWATER_DEV_EMAIL, HEADWATER_DEV_PASSWORD. See ../WIRE-NOTES.md for the SDK behaviour relied on.
import contentstack from '@contentstack/management'

const env = (name, fallback) => {
  const v = process.env[name] ?? fallback
  if (v === undefined) { console.error(`missing env ${name}`); process.exit(2) }
  return v
}
const BASE = env('HEADWATER_URL', 'http://127.0.0.1:8080').replace(/\/+$/, '')
const OWNER = { email: env('HEADWATER_EMAIL'), password: env('HEADWATER_PASSWORD') }
const DEV = { email: env('HEADWATER_DEV_EMAIL'), password: env('HEADWATER_DEV_PASSWORD') }

// One SDK client per credential: a management token is set client-wide by client.stack().
// `endpoint` is used verbatim as the axios baseURL, so it carries `/v3`. Retries are off so a
// refused request surfaces at once (and the SDK's retry-time URL check never runs).
const newClient = (extra = {}) => contentstack.client({
  endpoint: `${BASE}/v3`,
  retryOnError: false,
  retryOnNetworkFailure: false,
  timeout: 15000,
  logHandler: (level, data) => { if (level === 'error') console.error(`[sdk] ${data?.message ?? data}`) },
  ...extra,
})

let passed = 0
let failed = 0
const describe = (e) => (e && e.status !== undefined)
  ? `HTTP ${e.status} error_code=${e.errorCode} ${JSON.stringify(e.errorMessage)}`
  : (e?.message ?? String(e))

async function step (name, fn) {
  try {
    await fn()
    passed++
    console.log(`PASS ${name}`)
  } catch (e) {
    failed++
    console.log(`FAIL ${name}: ${describe(e).replace(/\s+/g, ' ')}`)
  }
}

function check (cond, what) { if (!cond) throw new Error(what) }
function need (value, what) {
  if (value === undefined || value === null) throw new Error(`skipped: no ${what} (an earlier step failed)`)
  return value
}

// Runs fn expecting the server to refuse it with one of `statuses`; returns the SDK error.
async function refused (fn, statuses, { code, message } = {}) {
  let err
  try { await fn() } catch (e) { err = e }
  check(err, 'the request succeeded but should have been refused')
  if (err.status === undefined) throw err
  check(statuses.includes(err.status),
    `expected HTTP ${statuses.join(' or ')}, got ${describe(err)}`)
  if (code !== undefined) check(err.errorCode === code, `expected error_code ${code}, got ${describe(err)}`)
  if (message) check(message.test(err.errorMessage ?? ''), `error_message should match ${message}, got ${describe(err)}`)
  return err
}

const rwScope = [{ module: '$all', acl: { read: true, write: true } }]
const roScope = [{ module: '$all', acl: { read: true, write: false } }]
const tokenBody = (name, scope) => ({
  token: { name, description: 'compat suite', scope, expires_on: null, is_email_notification_enabled: false },
})
const MT_MESSAGE = /management token/i

const s = {} // state carried between steps
const owner = newClient()

await step('login as owner', async () => {
  const res = await owner.login({ email: OWNER.email, password: OWNER.password })
  check(typeof res.user?.authtoken === 'string' && res.user.authtoken, 'login response has no user.authtoken')
  s.authtoken = res.user.authtoken
  s.orgUid = res.user.organizations?.[0]?.uid
  check(s.orgUid, 'login response has no user.organizations[0].uid')
})

await step('get user', async () => {
  const user = await owner.getUser()
  check(user.email?.toLowerCase() === OWNER.email.toLowerCase(), `user.email is ${user.email}`)
})

await step('list organizations', async () => {
  const orgs = await owner.organization().fetchAll()
  check(orgs.items.some((o) => o.uid === need(s.orgUid, 'organization uid')),
    `organization ${s.orgUid} not in ${JSON.stringify(orgs.items.map((o) => o.uid))}`)
})

await step('create stack', async () => {
  const stack = await owner.stack({ organization_uid: need(s.orgUid, 'organization uid') })
    .create({ stack: { name: 'Compat JS', description: 'created by tests/compat', master_locale: 'en-us' } })
  check(stack.api_key, 'created stack has no api_key')
  check(stack.name === 'Compat JS', `created stack name is ${stack.name}`)
  s.apiKey = stack.api_key
})

const ownerStack = () => owner.stack({ api_key: need(s.apiKey, 'stack api_key') })

await step('fetch stack', async () => {
  const stack = await ownerStack().fetch()
  check(stack.api_key === s.apiKey, `fetched api_key is ${stack.api_key}`)
  check(stack.name === 'Compat JS', `fetched name is ${stack.name}`)
})

await step('update stack name', async () => {
  const stack = await ownerStack().fetch()
  stack.name = 'Compat JS renamed'
  const updated = await stack.update()
  check(updated.name === 'Compat JS renamed', `updated name is ${updated.name}`)
  const again = await ownerStack().fetch()
  check(again.name === 'Compat JS renamed', `name after re-fetch is ${again.name}`)
})

await step('find the Developer role', async () => {
  const roles = await ownerStack().role().query().find()
  const dev = roles.items.find((r) => r.name === 'Developer')
  check(dev?.uid, `no role named Developer in ${JSON.stringify(roles.items.map((r) => r.name))}`)
  const fetched = await ownerStack().role(dev.uid).fetch()
  check(fetched.uid === dev.uid && fetched.name === 'Developer', `fetched role is ${fetched.uid} ${fetched.name}`)
  s.devRoleUid = dev.uid
})

await step('share stack with the dev user as Developer', async () => {
  const res = await ownerStack().share([DEV.email], { [DEV.email]: [need(s.devRoleUid, 'Developer role uid')] })
  check(typeof res.notice === 'string', `share response has no notice: ${JSON.stringify(res)}`)
})

await step('create environment development (authtoken)', async () => {
  const envr = await ownerStack().environment().create({
    environment: { name: 'development', urls: [{ locale: 'en-us', url: 'http://localhost:3000' }] },
  })
  check(envr.name === 'development', `created environment name is ${envr.name}`)
})

await step('create read-write management token', async () => {
  const t = await ownerStack().managementToken().create(tokenBody('compat rw', rwScope))
  check(t.uid, 'token has no uid')
  check(typeof t.token === 'string' && t.token.startsWith('hwmt_'), `token.token is ${JSON.stringify(t.token)}`)
  s.rw = { uid: t.uid, secret: t.token }
})

await step('create read-only management token', async () => {
  const t = await ownerStack().managementToken().create(tokenBody('compat ro', roScope))
  check(typeof t.token === 'string' && t.token.startsWith('hwmt_'), `token.token is ${JSON.stringify(t.token)}`)
  s.ro = { uid: t.uid, secret: t.token }
})

await step('list management tokens without secrets', async () => {
  const list = await ownerStack().managementToken().query().find()
  const uids = list.items.map((t) => t.uid)
  check(uids.includes(need(s.rw, 'rw token').uid) && uids.includes(need(s.ro, 'ro token').uid),
    `tokens listed: ${JSON.stringify(uids)}`)
  const leaking = list.items.filter((t) => 'token' in t)
  check(leaking.length === 0, `items carrying a token key: ${JSON.stringify(leaking.map((t) => t.uid))}`)
  const raw = JSON.stringify(list.items)
  check(!raw.includes(s.rw.secret) && !raw.includes(s.ro.secret), 'a token secret appears in the list')
})

await step('fetch management token without secret', async () => {
  const t = await ownerStack().managementToken(need(s.rw, 'rw token').uid).fetch()
  check(t.name === 'compat rw', `fetched token name is ${t.name}`)
  check(!('token' in t), 'fetched token carries a token key')
})

// Token-only clients: no login, only the management token (sent as the raw `authorization` header).
const rw = newClient()
const ro = newClient()
const rwStack = () => rw.stack({ api_key: need(s.apiKey, 'stack api_key'), management_token: need(s.rw, 'rw token').secret })
const roStack = () => ro.stack({ api_key: need(s.apiKey, 'stack api_key'), management_token: need(s.ro, 'ro token').secret })

await step('rw token: list environments', async () => {
  const list = await rwStack().environment().query().find()
  const names = list.items.map((e) => e.name)
  check(names.includes('development'), `environments listed: ${JSON.stringify(names)}`)
})

await step('rw token: create environment staging', async () => {
  const envr = await rwStack().environment().create({
    environment: { name: 'staging', urls: [{ locale: 'en-us', url: 'https://staging.example.com' }] },
  })
  check(envr.name === 'staging', `created environment name is ${envr.name}`)
})

await step('rw token: fetch environment staging', async () => {
  const envr = await rwStack().environment('staging').fetch()
  check(envr.name === 'staging', `fetched environment name is ${envr.name}`)
  check(envr.urls?.[0]?.url === 'https://staging.example.com', `urls are ${JSON.stringify(envr.urls)}`)
})

await step('rw token: update environment staging', async () => {
  const envr = await rwStack().environment('staging').fetch()
  envr.urls = [{ locale: 'en-us', url: 'https://staging2.example.com' }]
  const updated = await envr.update()
  check(updated.urls?.[0]?.url === 'https://staging2.example.com', `updated urls are ${JSON.stringify(updated.urls)}`)
})

await step('rw token: delete environment staging', async () => {
  const res = await rwStack().environment('staging').delete()
  check(typeof res.notice === 'string', `delete response has no notice: ${JSON.stringify(res)}`)
  const names = (await rwStack().environment().query().find()).items.map((e) => e.name)
  check(!names.includes('staging'), `staging still listed: ${JSON.stringify(names)}`)
})

await step('read-only token: creating an environment is refused (403)', async () => {
  await refused(() => roStack().environment().create({
    environment: { name: 'forbidden', urls: [{ locale: 'en-us', url: 'https://x.example.com' }] },
  }), [403])
})

const mtRefusal = [403, 401]
await step('rw token: listing management tokens is refused', async () => {
  await refused(() => rwStack().managementToken().query().find(), mtRefusal, { message: MT_MESSAGE })
})

await step('rw token: fetching the organization is refused', async () => {
  rwStack() // makes sure this client carries the token (client.stack() sets it client-wide)
  await refused(() => rw.organization(need(s.orgUid, 'organization uid')).fetch(), mtRefusal, { message: MT_MESSAGE })
})

await step('rw token: updating the stack is refused', async () => {
  const stack = rwStack()
  stack.name = 'hijacked'
  await refused(() => stack.update(), mtRefusal, { message: MT_MESSAGE })
})

await step('rw token: sharing the stack is refused', async () => {
  await refused(() => rwStack().share([DEV.email], { [DEV.email]: [need(s.devRoleUid, 'Developer role uid')] }),
    mtRefusal, { message: MT_MESSAGE })
})

await step('rw token: unsharing is refused', async () => {
  await refused(() => rwStack().unShare(DEV.email), mtRefusal, { message: MT_MESSAGE })
})

const dev = newClient()
await step('dev user: login', async () => {
  const res = await dev.login({ email: DEV.email, password: DEV.password })
  check(res.user?.authtoken, 'login response has no user.authtoken')
})

await step('dev user: creating a management token is refused (403)', async () => {
  await refused(() => dev.stack({ api_key: need(s.apiKey, 'stack api_key') }).managementToken()
    .create(tokenBody('dev token', rwScope)), [403])
})

await step('owner: set rw token expires_on to today (UTC)', async () => {
  const today = new Date().toISOString().slice(0, 10)
  const t = await ownerStack().managementToken(need(s.rw, 'rw token').uid).fetch()
  t.expires_on = today
  const updated = await t.update()
  check(updated.expires_on?.startsWith(today), `updated expires_on is ${updated.expires_on}`)
  check(!('token' in updated), 'update response carries the token secret')
})

await step('expired rw token is refused (401, error_code 105)', async () => {
  await refused(() => rwStack().environment().query().find(), [401], { code: 105 })
})

await step('owner: delete read-only token', async () => {
  const res = await ownerStack().managementToken(need(s.ro, 'ro token').uid).delete()
  check(typeof res.notice === 'string', `delete response has no notice: ${JSON.stringify(res)}`)
})

await step('deleted read-only token is refused (401, error_code 105)', async () => {
  await refused(() => roStack().environment().query().find(), [401], { code: 105 })
})

await step('owner: logout', async () => {
  const res = await owner.logout()
  check(typeof res.notice === 'string', `logout response has no notice: ${JSON.stringify(res)}`)
})

await step('old authtoken is refused after logout (401)', async () => {
  const stale = newClient({ authtoken: need(s.authtoken, 'authtoken') })
  await refused(() => stale.getUser(), [401])
})

console.log(`${passed} passed, ${failed} failed`)
process.exit(failed > 0 ? 1 : 0)
