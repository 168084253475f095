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

// --- Content: locales, global fields, content types, entries, publishing -----------------------
// Locales: the owner adds fr-fr (the stack's master locale en-us comes with it).
await step('owner: create locale fr-fr', async () => {
  const loc = await ownerStack().locale().create({
    locale: { code: 'fr-fr', name: 'French - France', fallback_locale: 'en-us' },
  })
  check(loc.code === 'fr-fr', `created locale code is ${loc.code}`)
  check(loc.fallback_locale === 'en-us', `created locale fallback_locale is ${loc.fallback_locale}`)
})

await step('owner: list locales (2)', async () => {
  const list = await ownerStack().locale().query().find()
  const codes = list.items.map((l) => l.code).sort()
  check(JSON.stringify(codes) === JSON.stringify(['en-us', 'fr-fr']), `locales listed: ${JSON.stringify(codes)}`)
})

// stack.globalField() always adds `api_version: 3.0` and `branch: main` headers (stack/index.js).
await step('rw token: create global field seo', async () => {
  const gf = await rwStack().globalField().create({
    global_field: {
      title: 'SEO',
      uid: 'seo',
      schema: [{ display_name: 'Keywords', uid: 'keywords', data_type: 'text', mandatory: false, unique: false, multiple: false }],
    },
  })
  check(gf.uid === 'seo', `created global field uid is ${gf.uid}`)
  check(gf.schema?.[0]?.uid === 'keywords', `created global field schema is ${JSON.stringify(gf.schema)}`)
})

const blogSchema = [
  { display_name: 'Title', uid: 'title', data_type: 'text', mandatory: true, unique: true, multiple: false, field_metadata: { _default: true } },
  { display_name: 'Body', uid: 'body', data_type: 'text', mandatory: false, unique: false, multiple: false, field_metadata: { multiline: true } },
  { display_name: 'Rating', uid: 'rating', data_type: 'number', mandatory: false, unique: false, multiple: false },
  { display_name: 'SEO', uid: 'seo', data_type: 'global_field', reference_to: 'seo', mandatory: false, unique: false, multiple: false },
]

await step('rw token: fetch global field seo', async () => {
  const gf = await rwStack().globalField('seo').fetch()
  check(gf.uid === 'seo' && gf.title === 'SEO', `fetched global field is ${gf.uid} ${gf.title}`)
  check(gf.schema?.[0]?.uid === 'keywords', `fetched global field schema is ${JSON.stringify(gf.schema)}`)
})

await step('rw token: create content type blog', async () => {
  const ct = await rwStack().contentType().create({
    content_type: { title: 'Blog', uid: 'blog', schema: blogSchema },
  })
  check(ct.uid === 'blog', `created content type uid is ${ct.uid}`)
  check(ct.title === 'Blog', `created content type title is ${ct.title}`)
  const uids = (ct.schema ?? []).map((f) => f.uid)
  check(['title', 'body', 'rating', 'seo'].every((u) => uids.includes(u)), `schema field uids: ${JSON.stringify(uids)}`)
})

await step('rw token: fetch content type blog', async () => {
  const ct = await rwStack().contentType('blog').fetch()
  check(ct.uid === 'blog' && ct.title === 'Blog', `fetched content type is ${ct.uid} ${ct.title}`)
  const title = (ct.schema ?? []).find((f) => f.uid === 'title')
  check(title?.mandatory === true && title?.unique === true, `title field is ${JSON.stringify(title)}`)
  const seo = (ct.schema ?? []).find((f) => f.uid === 'seo')
  check(seo?.data_type === 'global_field' && seo?.reference_to === 'seo', `seo field is ${JSON.stringify(seo)}`)
})

// update() sends the whole fetched object back ({"content_type": {...}} minus uid/timestamps).
await step('rw token: update content type title', async () => {
  const ct = await rwStack().contentType('blog').fetch()
  ct.title = 'Blog posts'
  const updated = await ct.update()
  check(updated.title === 'Blog posts', `updated title is ${updated.title}`)
  const again = await rwStack().contentType('blog').fetch()
  check(again.title === 'Blog posts', `title after re-fetch is ${again.title}`)
})

const blog = (client) => client.contentType('blog')
const posts = [
  { title: 'First post', body: 'One', rating: 1, seo: { keywords: 'first' } },
  { title: 'Second post', body: 'Two', rating: 3, seo: { keywords: 'second' } },
  { title: 'Third post', body: 'Three', rating: 5, seo: { keywords: 'third' } },
]

await step('rw token: create 3 entries', async () => {
  s.entries = []
  for (const p of posts) {
    const e = await blog(rwStack()).entry().create({ entry: p })
    check(e.uid, `created entry "${p.title}" has no uid`)
    check(e.title === p.title && e.rating === p.rating, `created entry is ${JSON.stringify({ title: e.title, rating: e.rating })}`)
    check(e._version === 1, `created entry _version is ${e._version}`)
    check(e.seo?.keywords === p.seo.keywords, `created entry seo is ${JSON.stringify(e.seo)}`)
    s.entries.push(e.uid)
  }
})
const entryUid = (i) => need(s.entries?.[i], `entry #${i + 1}`)

await step('rw token: fetch entry', async () => {
  const e = await blog(rwStack()).entry(entryUid(0)).fetch()
  check(e.uid === s.entries[0] && e.title === 'First post', `fetched entry is ${e.uid} ${e.title}`)
  check(e.body === 'One' && e.rating === 1, `fetched fields are ${JSON.stringify({ body: e.body, rating: e.rating })}`)
  check(e.locale === 'en-us', `fetched entry locale is ${e.locale}`)
  check(e._version === 1, `fetched entry _version is ${e._version}`)
})

// The SDK's update() sends the whole fetched object back, `_version` included.
await step('rw token: update fetched entry (_version 1 -> 2)', async () => {
  s.staleEntry = await blog(rwStack()).entry(entryUid(0)).fetch() // captured before the update
  const e = await blog(rwStack()).entry(entryUid(0)).fetch()
  e.body = 'One, edited'
  const updated = await e.update()
  check(updated._version === 2, `updated entry _version is ${updated._version}`)
  check(updated.body === 'One, edited', `updated body is ${updated.body}`)
  const again = await blog(rwStack()).entry(entryUid(0)).fetch()
  check(again._version === 2 && again.body === 'One, edited', `after re-fetch: _version ${again._version}, body ${again.body}`)
})

await step('rw token: update from a stale copy is refused (409)', async () => {
  const stale = need(s.staleEntry, 'stale entry copy')
  check(stale._version === 1, `the stale copy has _version ${stale._version}`)
  stale.body = 'One, stale edit'
  await refused(() => stale.update(), [409])
  const again = await blog(rwStack()).entry(entryUid(0)).fetch()
  check(again.body === 'One, edited', `body after the refused update is ${again.body}`)
})

await step('rw token: query entries {rating: {$gt: 2}}', async () => {
  const res = await blog(rwStack()).entry()
    .query({ query: { rating: { $gt: 2 } }, include_count: true, asc: 'rating' }).find()
  const titles = res.items.map((e) => e.title)
  check(JSON.stringify(titles) === JSON.stringify(['Second post', 'Third post']), `items are ${JSON.stringify(titles)}`)
  check(res.count === 2, `count is ${res.count}`)
  check(res.items.every((e) => e.content_type_uid === 'blog' && typeof e.update === 'function'),
    'items are not Entry objects of blog')
  // query().count() sends count=true and returns the body as is: {"entries": N}.
  const counted = await blog(rwStack()).entry().query({ query: { rating: { $gt: 2 } } }).count()
  check(counted.entries === 2, `count() returned ${JSON.stringify(counted)}`)
})

await step('rw token: query entries with $or / $in and limit', async () => {
  const res = await blog(rwStack()).entry().query({
    query: { $or: [{ title: 'First post' }, { rating: { $in: [5] } }] }, include_count: true, desc: 'rating', limit: 1,
  }).find()
  check(res.count === 2, `count is ${res.count}`)
  check(res.items.length === 1 && res.items[0].title === 'Third post', `items are ${JSON.stringify(res.items.map((e) => e.title))}`)
})

// The SDK has no entry versions() call; fetch({version}) sends ?version=N (entity.js fetch params).
await step('rw token: fetch entry version 1', async () => {
  const v1 = await blog(rwStack()).entry(entryUid(0)).fetch({ version: 1 })
  check(v1._version === 1, `_version is ${v1._version}`)
  check(v1.body === 'One', `version 1 body is ${v1.body}`)
})

// entry.update(params): the argument becomes query parameters, so {locale} gives ?locale=fr-fr.
await step('rw token: localize entry in fr-fr', async () => {
  const e = await blog(rwStack()).entry(entryUid(1)).fetch()
  e.title = 'Deuxième article'
  e.body = 'Deux'
  const localized = await e.update({ locale: 'fr-fr' })
  check(localized.locale === 'fr-fr', `localized entry locale is ${localized.locale}`)
  check(localized.title === 'Deuxième article', `localized entry title is ${localized.title}`)
})

await step('rw token: fetch entry in fr-fr', async () => {
  const fr = await blog(rwStack()).entry(entryUid(1)).fetch({ locale: 'fr-fr' })
  check(fr.locale === 'fr-fr' && fr.title === 'Deuxième article' && fr.body === 'Deux',
    `fr-fr entry is ${JSON.stringify({ locale: fr.locale, title: fr.title, body: fr.body })}`)
  const en = await blog(rwStack()).entry(entryUid(1)).fetch()
  check(en.locale === 'en-us' && en.title === 'Second post', `en-us entry is ${en.locale} ${en.title}`)
})

// entry.publish({publishDetails, locale}) posts {"entry": publishDetails, "locale": locale} (entity.js).
const publishDetails = { publishDetails: { environments: ['development'], locales: ['en-us'] }, locale: 'en-us' }

await step('rw token: publish entry to development (en-us)', async () => {
  const res = await blog(rwStack()).entry(entryUid(2)).publish(publishDetails)
  check(typeof res.notice === 'string', `publish response has no notice: ${JSON.stringify(res)}`)
  const envr = await rwStack().environment('development').fetch()
  const e = await blog(rwStack()).entry(entryUid(2)).fetch()
  const pd = e.publish_details
  check(Array.isArray(pd) && pd.length === 1, `publish_details is ${JSON.stringify(pd)}`)
  check(pd[0].locale === 'en-us', `publish_details[0].locale is ${pd[0].locale}`)
  // In the CMA, publish_details is an array and `environment` holds the environment's uid.
  check(pd[0].environment === envr.uid, `publish_details[0].environment is ${pd[0].environment} (environment uid ${envr.uid})`)
  check(pd[0].version === e._version, `publish_details[0].version is ${pd[0].version}, entry _version ${e._version}`)
})

await step('rw token: unpublish entry from development', async () => {
  const res = await blog(rwStack()).entry(entryUid(2)).unpublish(publishDetails)
  check(typeof res.notice === 'string', `unpublish response has no notice: ${JSON.stringify(res)}`)
  const e = await blog(rwStack()).entry(entryUid(2)).fetch()
  check(Array.isArray(e.publish_details) && e.publish_details.length === 0, `publish_details is ${JSON.stringify(e.publish_details)}`)
})

await step('read-only token: publishing an entry is refused (403)', async () => {
  await refused(() => blog(roStack()).entry(entryUid(2)).publish(publishDetails), [403])
})

await step('read-only token: creating an entry is refused (403)', async () => {
  await refused(() => blog(roStack()).entry().create({ entry: { title: 'Forbidden post' } }), [403])
})

await step('rw token: an invalid field value is refused (422, errors.rating)', async () => {
  const err = await refused(() => blog(rwStack()).entry().create({ entry: { title: 'Bad post', rating: 'high' } }),
    [422], { code: 119 })
  check(err.errors && 'rating' in err.errors, `errors are ${JSON.stringify(err.errors)}`)
})

await step('rw token: a duplicate title is refused (422, errors.title)', async () => {
  const err = await refused(() => blog(rwStack()).entry().create({ entry: { title: 'Third post', rating: 2 } }),
    [422], { code: 119 })
  check(err.errors && 'title' in err.errors, `errors are ${JSON.stringify(err.errors)}`)
})

await step('rw token: entries of an unknown content type are refused (422, error_code 118)', async () => {
  await refused(() => rwStack().contentType('no_such_type').entry().query().find(), [422], { code: 118 })
})

await step('rw token: delete entry; fetching it again is refused (422)', async () => {
  const res = await blog(rwStack()).entry(entryUid(1)).delete()
  check(typeof res.notice === 'string', `delete response has no notice: ${JSON.stringify(res)}`)
  await refused(() => blog(rwStack()).entry(s.entries[1]).fetch(), [422], { code: 141 })
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

// --- Bulk publishing (stack.bulkOperation()) -------------------------------------------------
// publish({details}) posts details as the body to /bulk/publish (bulkOperation/index.js);
// skip_workflow_stage and approvals become headers. Earlier steps logged out and expired the
// tokens, so a fresh login drives these.
const bulkOwner = newClient()
const bulkStack = () => bulkOwner.stack({ api_key: need(s.apiKey, 'stack api_key') })
const bulkDetails = () => ({
  entries: [
    { uid: entryUid(0), content_type: 'blog', locale: 'en-us' },
    { uid: entryUid(2), content_type: 'blog', locale: 'en-us' },
  ],
  locales: ['en-us'],
  environments: ['development'],
})

await step('bulk: owner logs in again', async () => {
  const res = await bulkOwner.login({ email: OWNER.email, password: OWNER.password })
  check(typeof res.user?.authtoken === 'string', 'login response has no user.authtoken')
})

await step('bulk: publish two entries in one request', async () => {
  const res = await bulkStack().bulkOperation().publish({ details: bulkDetails(), skip_workflow_stage: true, approvals: true })
  check(typeof res.notice === 'string', `bulk publish response has no notice: ${JSON.stringify(res)}`)
  for (const i of [0, 2]) {
    const e = await blog(bulkStack()).entry(entryUid(i)).fetch()
    check(Array.isArray(e.publish_details) && e.publish_details.length === 1, `entry #${i + 1} publish_details is ${JSON.stringify(e.publish_details)}`)
  }
})

await step('bulk: an unknown entry is named and nothing is published (422)', async () => {
  const details = bulkDetails()
  details.entries.push({ uid: 'blt0000000000000000', content_type: 'blog', locale: 'en-us' })
  const err = await refused(() => bulkStack().bulkOperation().unpublish({ details }), [422], { code: 120 })
  check(JSON.stringify(err.errors ?? {}).includes('entries[2].uid'), `errors are ${JSON.stringify(err.errors)}`)
  const e = await blog(bulkStack()).entry(entryUid(0)).fetch()
  check(e.publish_details.length === 1, `publish_details is ${JSON.stringify(e.publish_details)}`)
})

await step('bulk: unpublish both entries', async () => {
  const res = await bulkStack().bulkOperation().unpublish({ details: bulkDetails() })
  check(typeof res.notice === 'string', `bulk unpublish response has no notice: ${JSON.stringify(res)}`)
  for (const i of [0, 2]) {
    const e = await blog(bulkStack()).entry(entryUid(i)).fetch()
    check(Array.isArray(e.publish_details) && e.publish_details.length === 0, `entry #${i + 1} publish_details is ${JSON.stringify(e.publish_details)}`)
  }
})
// --- end of bulk publishing ------------------------------------------------------------------

console.log(`${passed} passed, ${failed} failed`)
process.exit(failed > 0 ? 1 : 0)
