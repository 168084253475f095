// Compatibility scenario: the official JavaScript management SDK, unchanged, against a fresh
// Headwater server. One line per step (`PASS <step>` / `FAIL <step>: <reason>`), then
// `N passed, M failed`. Env: HEADWATER_URL, HEADWATER_EMAIL, HEADWATER_PASSWORD,
// HEADWATER_DEV_EMAIL, HEADWATER_DEV_PASSWORD. See ../WIRE-NOTES.md for the SDK behaviour relied on.
import { env, BASE, newClient, describe, step, check, need, refused, finish } from './harness.mjs'

const OWNER = { email: env('HEADWATER_EMAIL'), password: env('HEADWATER_PASSWORD') }
const DEV = { email: env('HEADWATER_DEV_EMAIL'), password: env('HEADWATER_DEV_PASSWORD') }

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
  s.devUid = res.user.uid
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

// --- Branches and aliases ---------------------------------------------------------------------
await step('owner: create branch dev from main', async () => {
  const b = await ownerStack().branch().create({ branch: { uid: 'dev', source: 'main' } })
  check(b.uid === 'dev' && b.source === 'main', `created branch is ${JSON.stringify({ uid: b.uid, source: b.source })}`)
})

await step('owner: list branches (main, dev)', async () => {
  const list = await ownerStack().branch().query().find()
  const uids = list.items.map((b) => b.uid)
  check(uids.includes('main') && uids.includes('dev'), `branches listed: ${JSON.stringify(uids)}`)
})

const onBranch = (client, secret, branch) => client.stack({ api_key: need(s.apiKey, 'stack api_key'), management_token: secret, branch_uid: branch })

await step('rw token (no branch in scope): branch dev is refused (403)', async () => {
  await refused(() => blog(onBranch(rw, need(s.rw, 'rw token').secret, 'dev')).entry().query().find(), [403], { message: /'dev'/ })
})

await step('owner: create a token scoped to branch dev', async () => {
  const t = await ownerStack().managementToken().create(tokenBody('compat dev branch', [
    { module: '$all', acl: { read: true, write: true } },
    { module: 'branch', branches: ['dev'], acl: { read: true } },
  ]))
  s.devToken = t.token
})

const devBranch = newClient()
await step('dev-branch token: content on dev stays off main', async () => {
  const stack = onBranch(devBranch, need(s.devToken, 'dev-branch token'), 'dev')
  const e = await blog(stack).entry().create({ entry: { title: 'Only on dev', body: 'dev', rating: 3 } })
  const onDev = await blog(stack).entry(e.uid).fetch()
  check(onDev.title === 'Only on dev', `fetched on dev: ${onDev.title}`)
  await refused(() => blog(rwStack()).entry(e.uid).fetch(), [422], { code: 141 })
})

await step('dev-branch token: main is refused (403)', async () => {
  await refused(() => blog(onBranch(devBranch, need(s.devToken, 'dev-branch token'), 'main')).entry().query().find(), [403], { message: /'main'/ })
})

await step('rw token: creating a branch is refused (403)', async () => {
  await refused(() => rwStack().branch().create({ branch: { uid: 'rw', source: 'main' } }), [403], { message: MT_MESSAGE })
})

await step('owner: alias deploy -> dev, fetch it', async () => {
  await ownerStack().branchAlias('deploy').createOrUpdate('dev')
  const a = await ownerStack().branchAlias('deploy').fetch()
  check(a.uid === 'dev', `alias deploy points at ${a.uid}`)
})

await step('owner: delete alias and branch dev', async () => {
  const res = await ownerStack().branchAlias('deploy').delete()
  check(typeof res.notice === 'string', `alias delete response has no notice: ${JSON.stringify(res)}`)
  const res2 = await ownerStack().branch('dev').delete()
  check(typeof res2.notice === 'string', `branch delete response has no notice: ${JSON.stringify(res2)}`)
})

// --- Workflows and publish requests (MT-9) ---------------------------------------------------
await step('owner: create workflow for blog', async () => {
  const wf = await ownerStack().workflow().create({ workflow: {
    name: 'Compat editorial', content_types: ['blog'], branches: ['main'], admin_users: { users: [] },
    workflow_stages: [
      { uid: 'draft', name: 'Draft', color: '#aaa', next_available_stages: ['$all'], SYS_ACL: { others: {}, users: { uids: ['$all'] }, roles: { uids: [] } } },
      { uid: 'ready', name: 'Ready', color: '#0a0', next_available_stages: ['$all'], SYS_ACL: { others: {}, users: { uids: ['$all'] }, roles: { uids: [] } } },
    ],
  } })
  check(wf.uid && wf.workflow_stages?.length === 2, `created workflow is ${JSON.stringify(wf)}`)
  s.workflowUid = wf.uid
})

await step('rw token: set entry stage to ready', async () => {
  const res = await blog(rwStack()).entry(entryUid(0)).setWorkflowStage({ workflow_stage: { uid: 'ready', comment: 'done', notify: false }, locale: 'en-us' })
  check(/stage updated/i.test(res.notice ?? ''), `notice is ${JSON.stringify(res)}`)
})

await step('owner: publish rule on development approved by the dev user', async () => {
  const envr = await ownerStack().environment('development').fetch()
  const rule = await ownerStack().workflow().publishRule().create({ publishing_rule: {
    workflow: need(s.workflowUid, 'workflow'), workflow_stage: 'ready', actions: ['publish'], branches: ['main'],
    content_types: ['blog'], locales: ['en-us'], environment: envr.uid,
    approvers: { users: [need(s.devUid, 'dev user uid')], roles: [] }, disable_approver_publishing: false,
  } })
  check(rule.uid, `created rule is ${JSON.stringify(rule)}`)
  s.ruleUid = rule.uid
})

await step('rw token: publishing under the rule becomes a publish request', async () => {
  const res = await blog(rwStack()).entry(entryUid(0)).publish(publishDetails)
  check(/approval/i.test(res.notice ?? ''), `notice is ${JSON.stringify(res.notice)}`)
  const e = await blog(rwStack()).entry(entryUid(0)).fetch()
  check(e.publish_details.length === 0, `publish_details is ${JSON.stringify(e.publish_details)}`)
})

const decide = (stack, status) => blog(stack).entry(entryUid(0)).publishRequest({
  publishing_rule: { uid: need(s.ruleUid, 'publish rule'), action: 'publish', status, notify: false, comment: 'compat' }, locale: 'en-us',
})

await step('rw token: accepting the request is refused (403, MT-9)', async () => {
  await refused(() => decide(rwStack(), 1), [403], { message: /MT-9/ })
})

await step('rw token: rejecting the request is refused (403, MT-9)', async () => {
  await refused(() => decide(rwStack(), -1), [403], { message: /MT-9/ })
})

await step('dev user (approver): accepts; the entry is published', async () => {
  const res = await decide(dev.stack({ api_key: need(s.apiKey, 'stack api_key') }), 1)
  check(/accepted/.test(res.notice ?? ''), `notice is ${JSON.stringify(res)}`)
  const e = await blog(rwStack()).entry(entryUid(0)).fetch()
  check(e.publish_details.length === 1, `publish_details is ${JSON.stringify(e.publish_details)}`)
})

await step('owner: fetch and delete the publish rule and the workflow', async () => {
  const rule = await ownerStack().workflow().publishRule(need(s.ruleUid, 'publish rule')).fetch()
  check(rule.uid === s.ruleUid, `fetched rule ${rule.uid}`)
  await ownerStack().workflow().publishRule(s.ruleUid).delete()
  const wf = await ownerStack().workflow(need(s.workflowUid, 'workflow')).fetch()
  check(wf.name === 'Compat editorial', `fetched workflow ${wf.name}`)
  await ownerStack().workflow(s.workflowUid).delete()
})

// --- Releases and labels ----------------------------------------------------------------------
await step('rw token: create a release with two entries', async () => {
  const rel = await rwStack().release().create({ release: { name: 'Compat release', description: 'compat' } })
  check(rel.uid, `created release is ${JSON.stringify(rel)}`)
  s.releaseUid = rel.uid
  await rwStack().release(rel.uid).item().create({ items: [
    { uid: entryUid(0), content_type_uid: 'blog', locale: 'en-us', action: 'publish', version: 1 },
    { uid: entryUid(2), content_type_uid: 'blog', locale: 'en-us', action: 'publish' },
  ] })
  const items = await rwStack().release(rel.uid).item().findAll()
  check(items.items.length === 2, `release items: ${JSON.stringify(items.items)}`)
})

await step('rw token: deploy the release to development', async () => {
  const rel = await rwStack().release(need(s.releaseUid, 'release')).fetch()
  const res = await rel.deploy({ environments: ['development'], locales: ['en-us'], action: 'publish' })
  check(/deployment/.test(res.notice ?? ''), `notice is ${JSON.stringify(res)}`)
  const e = await blog(rwStack()).entry(entryUid(2)).fetch()
  check(e.publish_details.length === 1, `publish_details is ${JSON.stringify(e.publish_details)}`)
})

await step('read-only token: deploying a release is refused (403)', async () => {
  const rel = await roStack().release(need(s.releaseUid, 'release')).fetch()
  await refused(() => rel.deploy({ environments: ['development'], action: 'unpublish' }), [403])
})

await step('rw token: clone and delete releases', async () => {
  const rel = await rwStack().release(need(s.releaseUid, 'release')).fetch()
  const copy = await rel.clone({ name: 'Compat release copy', description: 'copy' })
  check(copy.uid && copy.uid !== s.releaseUid, `clone is ${JSON.stringify(copy)}`)
  await rwStack().release(copy.uid).delete()
  await rwStack().release(s.releaseUid).delete()
})

await step('rw token: create, fetch and delete a label', async () => {
  const label = await rwStack().label().create({ label: { name: 'Compat label', parent: [], content_types: ['blog'] } })
  check(label.uid, `created label is ${JSON.stringify(label)}`)
  const fetched = await rwStack().label(label.uid).fetch()
  check(fetched.name === 'Compat label', `fetched label is ${fetched.name}`)
  const res = await rwStack().label(label.uid).delete()
  check(typeof res.notice === 'string', `delete response has no notice: ${JSON.stringify(res)}`)
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

// ---- Webhooks (begin) ------------------------------------------------------------------------
// A receiver on 127.0.0.1 gets a signed delivery of an entry created through the SDK; the SDK's
// webhook calls (create, fetchAll, fetch, update, executions, retry, delete) drive the rest.
{
  const http = await import('node:http')
  const crypto = await import('node:crypto')
  const got = []
  const receiver = http.createServer((req, res) => {
    let body = ''
    req.on('data', (c) => { body += c })
    req.on('end', () => { got.push({ headers: req.headers, body }); res.writeHead(200); res.end('ok') })
  })
  await new Promise((resolve) => receiver.listen(0, '127.0.0.1', resolve))
  const targetUrl = `http://127.0.0.1:${receiver.address().port}/hook`
  const wh = newClient()
  const w = {}
  const whStack = () => wh.stack({ api_key: need(s.apiKey, 'stack api_key') })
  const waitFor = async (n, what) => {
    const deadline = Date.now() + 15000
    while (got.length < n) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
  }

  await step('webhooks: owner logs in again', async () => {
    await wh.login({ email: OWNER.email, password: OWNER.password })
  })

  await step('webhooks: create a webhook on content_types.entries.create', async () => {
    const created = await whStack().webhook().create({
      webhook: {
        name: 'Compat hook',
        destinations: [{ target_url: targetUrl, http_basic_auth: 'compat', http_basic_password: 'pw', custom_header: [{ header_name: 'X-Compat', value: 'yes' }] }],
        channels: ['content_types.entries.create'],
        branches: ['main'],
        retry_policy: 'manual',
        disabled: false,
      },
    })
    check(typeof created.uid === 'string', `no uid: ${JSON.stringify(created)}`)
    check(typeof created.signing_secret === 'string', 'no signing_secret')
    w.uid = created.uid
    w.secret = created.signing_secret
  })

  await step('webhooks: fetchAll lists it, fetch and update rename it', async () => {
    const all = await whStack().webhook().fetchAll({ include_count: true })
    check(all.items.some((x) => x.uid === w.uid), `not listed: ${JSON.stringify(all.items.map((x) => x.uid))}`)
    const hook = await whStack().webhook(need(w.uid, 'webhook')).fetch()
    hook.name = 'Compat hook, renamed'
    const updated = await hook.update()
    check(updated.name === 'Compat hook, renamed', `name is ${updated.name}`)
  })

  await step('webhooks: creating an entry delivers a signed POST to the receiver', async () => {
    need(w.uid, 'webhook')
    await blog(whStack()).entry().create({ entry: { title: 'Webhook post', rating: 1 } })
    await waitFor(1, 'the delivery')
    const d = got[0]
    const expected = 'sha256=' + crypto.createHmac('sha256', w.secret)
      .update(`${d.headers['x-headwater-timestamp']}.${d.body}`).digest('hex')
    check(d.headers['x-headwater-signature'] === expected, 'signature does not match')
    check(d.headers['x-compat'] === 'yes', 'custom header missing')
    check(d.headers.authorization === 'Basic ' + Buffer.from('compat:pw').toString('base64'), 'basic auth missing')
    const payload = JSON.parse(d.body)
    check(payload.event === 'create' && payload.module === 'entry', `payload is ${d.body}`)
    check(payload.data.entry.title === 'Webhook post', `entry is ${JSON.stringify(payload.data.entry)}`)
  })

  await step('webhooks: executions show the delivery; retry sends it again', async () => {
    const hook = await whStack().webhook(need(w.uid, 'webhook')).fetch()
    const deadline = Date.now() + 15000
    let run
    while (!run) {
      const res = await hook.executions()
      run = (res.webhooks ?? []).find((x) => x.status === 200)
      if (!run && Date.now() > deadline) throw new Error(`no successful execution: ${JSON.stringify(res)}`)
      if (!run) await new Promise((resolve) => setTimeout(resolve, 100))
    }
    check(run.channel[0] === 'content_types.blog.entries.create', `channel is ${run.channel}`)
    const res = await hook.retry(run.uid)
    check(res.notice === 'Webhook retry scheduled', `retry answered ${JSON.stringify(res)}`)
    await waitFor(2, 'the retried delivery')
    check(got[1].headers['x-headwater-delivery'] === got[0].headers['x-headwater-delivery'], 'the retry is another delivery')
  })

  await step('webhooks: delete the webhook', async () => {
    const res = await whStack().webhook(need(w.uid, 'webhook')).delete()
    check(/deleted/i.test(res.notice ?? ''), `delete answered ${JSON.stringify(res)}`)
    await refused(() => whStack().webhook(w.uid).fetch(), [422], { code: 141 })
  })

  receiver.close()
}
// ---- Webhooks (end) --------------------------------------------------------------------------

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

finish()
