// Compatibility scenario: import and export (content types, global fields, webhooks, entries)
// and branch compare, merge and merge queue, through the official JavaScript management SDK,
// unchanged, against a fresh Headwater server. One line per step (`PASS <step>` /
// `FAIL <step>: <reason>`), then `N passed, M failed`. Env: HEADWATER_URL, HEADWATER_EMAIL,
// HEADWATER_PASSWORD.
import { env, BASE, newClient, describe, step, check, need, refused, finish } from './harness.mjs'
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const OWNER = { email: env('HEADWATER_EMAIL'), password: env('HEADWATER_PASSWORD') }

// The SDK imports from files on disk.
const dir = mkdtempSync(join(tmpdir(), 'hw-import-'))
process.on('exit', () => rmSync(dir, { recursive: true, force: true }))
let n = 0
const fileOf = (value) => {
  const path = join(dir, `f${n++}.json`)
  writeFileSync(path, typeof value === 'string' ? value : JSON.stringify(value))
  return path
}

const title = { uid: 'title', display_name: 'Title', data_type: 'text', mandatory: true, unique: true }
const pageType = (name, extra = []) => ({
  uid: 'page',
  title: name,
  schema: [
    title,
    { uid: 'body', display_name: 'Body', data_type: 'text' },
    // No field_metadata: Headwater fills Contentstack's defaults (csdx reads them).
    { uid: 'related', display_name: 'Related', data_type: 'reference', reference_to: ['page'] },
    { uid: 'seo', display_name: 'SEO', data_type: 'global_field', reference_to: 'seo' },
    ...extra,
  ],
})

const s = {}
const owner = newClient()

await step('login as owner and create a stack', async () => {
  const res = await owner.login({ email: OWNER.email, password: OWNER.password })
  s.orgUid = res.user?.organizations?.[0]?.uid
  const stack = await owner.stack({ organization_uid: need(s.orgUid, 'organization uid') })
    .create({ stack: { name: 'Compat import', description: 'tests/compat import_merge', master_locale: 'en-us' } })
  check(stack.api_key, 'created stack has no api_key')
  s.apiKey = stack.api_key
})

const main = () => owner.stack({ api_key: need(s.apiKey, 'stack api_key') })
const dev = () => owner.stack({ api_key: need(s.apiKey, 'stack api_key'), branch_uid: 'dev' })

await step('globalField().import() creates a global field', async () => {
  const gf = await main().globalField().import({
    global_field: fileOf({ uid: 'seo', title: 'SEO', schema: [{ uid: 'meta', display_name: 'Meta', data_type: 'text' }] }),
  })
  check(gf.uid === 'seo', `imported global field uid is ${gf.uid}`)
  check(gf.title === 'SEO', `imported global field title is ${gf.title}`)
})

await step('contentType().import() creates a content type; reference fields get field_metadata', async () => {
  const ct = await main().contentType().import({ content_type: fileOf(pageType('Page')) })
  check(ct.uid === 'page', `imported content type uid is ${ct.uid}`)
  const fetched = await main().contentType('page').fetch()
  const related = fetched.schema.find((f) => f.uid === 'related')
  check(related?.field_metadata?.ref_multiple === false && related.field_metadata.ref_multiple_content_types === true,
    `reference field_metadata is ${JSON.stringify(related?.field_metadata)}`)
})

await step('contentType().import() of an existing uid is refused as a create is (115)', async () => {
  await refused(() => main().contentType().import({ content_type: fileOf(pageType('Again')) }), [422], { code: 115 })
})

await step('contentType().import() of an invalid schema with overwrite is refused and changes nothing', async () => {
  const bad = pageType('Bad')
  bad.schema[1].data_type = 'nonsense'
  await refused(() => main().contentType().import({ content_type: fileOf(bad) }, { overwrite: true }), [422], { code: 115 })
  await refused(() => main().contentType().import({ content_type: fileOf('{"uid": "page",') }, { overwrite: true }), [422])
  const fetched = await main().contentType('page').fetch()
  check(fetched.title === 'Page' && fetched._version === 1, `content type is now ${fetched.title} v${fetched._version}`)
})

await step('contentType().import() with overwrite replaces', async () => {
  const ct = await main().contentType().import({ content_type: fileOf(pageType('Page v2')) }, { overwrite: true })
  check(ct.title === 'Page v2', `title after overwrite is ${ct.title}`)
  check(ct._version === 2, `version after overwrite is ${ct._version}`)
})

await step('webhook().import() creates, webhook(uid).import() replaces', async () => {
  const wh = await main().webhook().import({
    webhook: fileOf({ webhook: { name: 'Imported', destinations: [{ target_url: 'http://127.0.0.1:9/hook' }], channels: ['assets.create'] } }),
  })
  check(wh.name === 'Imported' && wh.uid, `imported webhook is ${JSON.stringify(wh.name)}`)
  const again = await main().webhook(wh.uid).import({
    webhook: fileOf({ name: 'Renamed', destinations: [{ target_url: 'http://127.0.0.1:9/hook' }], channels: ['assets.create'] }),
  })
  check(again.uid === wh.uid && again.name === 'Renamed', `re-imported webhook is ${again.uid} ${again.name}`)
  await refused(() => main().webhook().import({ webhook: fileOf({ name: 'Bad', destinations: [{ target_url: 'nope' }], channels: ['assets.create'] }) }), [422])
  const all = await main().webhook().fetchAll()
  check(all.items.length === 1, `webhooks after the refused import: ${all.items.length}`)
})

await step('entry().import() creates an entry; entry(uid).import({overwrite}) replaces it', async () => {
  const e = await main().contentType('page').entry().import({ entry: fileOf({ entry: { title: 'Home', body: 'Hello' } }), locale: 'en-us' })
  check(e.uid && e.title === 'Home', `imported entry is ${e.uid} ${e.title}`)
  await refused(() => main().contentType('page').entry(e.uid).import({ entry: fileOf({ title: 'Home', body: 'no overwrite' }) }), [422], { code: 119 })
  const r = await main().contentType('page').entry(e.uid).import({ entry: fileOf({ title: 'Home', body: 'Replaced' }), overwrite: true, locale: 'en-us' })
  check(r.uid === e.uid && r.body === 'Replaced' && r._version === 2, `replaced entry is ${r.uid} ${r.body} v${r._version}`)
})

await step('create branch dev and change it (a new field, a new content type)', async () => {
  const b = await main().branch().create({ branch: { uid: 'dev', source: 'main' } })
  check(b.uid === 'dev', `branch uid is ${b.uid}`)
  const ct = await dev().contentType('page').fetch()
  ct.schema.push({ uid: 'summary', display_name: 'Summary', data_type: 'text' })
  ct.title = 'Page (dev)'
  await ct.update()
  await dev().contentType().create({ content_type: { uid: 'news', title: 'News', schema: [title] } })
})

await step('branch(main).compare(dev).all() lists the differences', async () => {
  const res = await main().branch('main').compare('dev').all({ skip: 0, limit: 100 })
  check(res.branches?.base_branch === 'main' && res.branches?.compare_branch === 'dev', `branches: ${JSON.stringify(res.branches)}`)
  const byUid = Object.fromEntries(res.diff.map((d) => [d.uid, d]))
  check(byUid.news?.status === 'compare_only' && byUid.news.type === 'content_type', `news: ${JSON.stringify(byUid.news)}`)
  check(byUid.page?.status === 'modified', `page: ${JSON.stringify(byUid.page)}`)
  check(res.diff.length === 2, `diff has ${res.diff.length} items`)
  check('next_url' in res, 'no next_url member')
})

await step('compare contentTypes({uid}) and globalFields()', async () => {
  const one = await main().branch('main').compare('dev').contentTypes({ uid: 'page' })
  check(one.diff?.uid === 'page' && one.diff.status === 'modified', `page diff: ${JSON.stringify(one.diff)}`)
  check(one.diff.compare_branch.differences.some((d) => d.uid === 'summary'), 'summary is not among the compare side differences')
  const gfs = await main().branch('main').compare('dev').globalFields()
  check(Array.isArray(gfs.diff) && gfs.diff.length === 0, `global field diff: ${JSON.stringify(gfs.diff)}`)
})

await step('a management token cannot merge (MT-10)', async () => {
  const t = await main().managementToken().create({
    token: { name: 'rw', scope: [{ module: '$all', acl: { read: true, write: true } }], expires_on: null },
  })
  const tokenClient = newClient()
  const tokenStack = tokenClient.stack({ api_key: s.apiKey, management_token: t.token })
  await refused(() => tokenStack.branch().merge({}, {
    base_branch: 'main', compare_branch: 'dev', default_merge_strategy: 'merge_prefer_compare', merge_comment: 'token',
  }), [403], { code: 162, message: /MT-10/ })
})

await step('branch().merge() with merge_prefer_compare', async () => {
  const res = await main().branch().merge({ item_merge_strategies: [] }, {
    base_branch: 'main', compare_branch: 'dev', default_merge_strategy: 'merge_prefer_compare', merge_comment: 'dev into main',
  })
  check(res.merge_details?.status === 'complete', `merge_details: ${JSON.stringify(res.merge_details)}`)
  check(res.uid, 'merge answer has no uid')
  s.mergeUid = res.uid
  const page = await main().contentType('page').fetch()
  check(page.title === 'Page (dev)', `page title on main is ${page.title}`)
  check(page.schema.some((f) => f.uid === 'summary'), 'summary did not reach main')
  const news = await main().contentType('news').fetch()
  check(news.uid === 'news', 'news did not reach main')
})

await step('mergeQueue().find() and mergeQueue(uid).fetch()', async () => {
  const q = await main().branch().mergeQueue().find()
  check(q.queue?.[0]?.uid === need(s.mergeUid, 'merge uid'), `queue: ${JSON.stringify(q.queue?.map((m) => m.uid))}`)
  const one = await main().branch().mergeQueue(s.mergeUid).fetch()
  check(one.queue?.[0]?.merge_details?.status === 'complete', `queued merge: ${JSON.stringify(one.queue?.[0])}`)
})

await step('a merge with nothing left to merge is refused and queued as failed', async () => {
  await refused(() => main().branch().merge({}, {
    base_branch: 'main', compare_branch: 'dev', default_merge_strategy: 'merge_new_only', merge_comment: 'again',
  }), [422])
  const q = await main().branch().mergeQueue().find()
  check(q.queue?.[0]?.merge_details?.status === 'failed', `newest merge: ${JSON.stringify(q.queue?.[0]?.merge_details)}`)
})

await step('branch(dev).updateSettings()', async () => {
  const res = await main().branch('dev').updateSettings({
    branch: { settings: { am_v2: { linked_workspaces: [{ uid: 'main', space_uid: 'space', is_default: true }] } } },
  })
  check(typeof res.notice === 'string', `answer: ${JSON.stringify(res)}`)
  await refused(() => main().branch('dev').updateSettings({}), [422])
})

finish()
