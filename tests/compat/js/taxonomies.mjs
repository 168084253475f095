// Compatibility scenario for taxonomies and terms: the official JavaScript management SDK,
// unchanged (stack.taxonomy(), taxonomy().terms()), against a fresh
// Headwater server. One line per step (`PASS <step>` / `FAIL <step>: <reason>`), then
// `N passed, M failed`. Env: HEADWATER_URL, HEADWATER_EMAIL, HEADWATER_PASSWORD,
// HEADWATER_DEV_EMAIL, HEADWATER_DEV_PASSWORD. See ../WIRE-NOTES.md for the SDK behaviour relied on.
import { env, BASE, newClient, describe, step, check, need, refused, finish } from './harness.mjs'

const OWNER = { email: env('HEADWATER_EMAIL'), password: env('HEADWATER_PASSWORD') }
const DEV = { email: env('HEADWATER_DEV_EMAIL'), password: env('HEADWATER_DEV_PASSWORD') }

import { writeFileSync, mkdtempSync } from 'fs'
import { tmpdir } from 'os'
import { join } from 'path'

const tokenBody = (name, scope) => ({
  token: { name, description: 'compat suite', scope, expires_on: null, is_email_notification_enabled: false },
})

const s = {}
const owner = newClient()

await step('login as owner and create a stack', async () => {
  const res = await owner.login({ email: OWNER.email, password: OWNER.password })
  s.orgUid = res.user.organizations?.[0]?.uid
  const stack = await owner.stack({ organization_uid: need(s.orgUid, 'organization uid') })
    .create({ stack: { name: 'Compat taxonomies', master_locale: 'en-us' } })
  check(stack.api_key, 'created stack has no api_key')
  s.apiKey = stack.api_key
})
void DEV

const stack = () => owner.stack({ api_key: need(s.apiKey, 'stack api_key') })

await step('taxonomy: create', async () => {
  const t = await stack().taxonomy().create({ taxonomy: { uid: 'regions', name: 'Regions', description: 'Where' } })
  check(t.uid === 'regions' && t.name === 'Regions', `created ${JSON.stringify(t)}`)
})

await step('taxonomy: a taken uid is refused (422)', async () => {
  await refused(() => stack().taxonomy().create({ taxonomy: { uid: 'regions', name: 'Again' } }), [422], { code: 120 })
})

await step('taxonomy: fetch, update, query', async () => {
  const t = await stack().taxonomy('regions').fetch()
  check(t.description === 'Where', `fetched ${JSON.stringify(t)}`)
  t.name = 'World regions'
  const u = await t.update()
  check(u.name === 'World regions', `updated name is ${u.name}`)
  const list = await stack().taxonomy().query({ include_count: true }).find()
  check(list.items.length === 1 && list.items[0].uid === 'regions' && list.count === 1, `query found ${JSON.stringify(list.items.map((x) => x.uid))} count ${list.count}`)
})

await step('terms: create a tree (europe > france > paris, europe > spain, asia)', async () => {
  const terms = () => stack().taxonomy('regions').terms()
  const europe = await terms().create({ term: { uid: 'europe', name: 'Europe' } })
  check(europe.uid === 'europe' && europe.depth === 1, `europe is ${JSON.stringify(europe)}`)
  const france = await terms().create({ term: { uid: 'france', name: 'France', parent_uid: 'europe' } })
  check(france.parent_uid === 'europe' && france.depth === 2, `france is ${JSON.stringify(france)}`)
  const paris = await terms().create({ term: { uid: 'paris', name: 'Paris', parent_uid: 'france' } })
  check(paris.depth === 3, `paris is ${JSON.stringify(paris)}`)
  await terms().create({ term: { uid: 'spain', name: 'Spain', parent_uid: 'europe' } })
  await terms().create({ term: { uid: 'asia', name: 'Asia' } })
})

await step('terms: an unknown parent is refused (422)', async () => {
  await refused(() => stack().taxonomy('regions').terms().create({ term: { uid: 'x', name: 'X', parent_uid: 'nowhere' } }), [422], { code: 120 })
})

await step('terms: fetch, update, query with depth', async () => {
  const t = await stack().taxonomy('regions').terms('paris').fetch()
  check(t.uid === 'paris' && t.parent_uid === 'france', `fetched ${JSON.stringify(t)}`)
  t.name = 'Paris, France'
  const u = await t.update()
  check(u.name === 'Paris, France', `updated name is ${u.name}`)
  const all = await stack().taxonomy('regions').terms().query().find()
  check(all.items.map((x) => x.uid).join() === 'europe,france,paris,spain,asia', `all terms ${all.items.map((x) => x.uid)}`)
  const top = await stack().taxonomy('regions').terms().query({ depth: 1 }).find()
  check(top.items.map((x) => x.uid).join() === 'europe,asia', `depth 1 terms ${top.items.map((x) => x.uid)}`)
})

await step('terms: ancestors and descendants', async () => {
  const up = await stack().taxonomy('regions').terms('paris').ancestors()
  check(up.terms?.map((x) => x.uid).join() === 'europe,france', `ancestors ${JSON.stringify(up)}`)
  const down = await stack().taxonomy('regions').terms('europe').descendants()
  check(down.terms?.map((x) => x.uid).join() === 'france,paris,spain', `descendants ${JSON.stringify(down)}`)
})

await step('terms: search across taxonomies', async () => {
  const found = await stack().taxonomy('regions').terms().search('spa')
  check(found.terms?.map((x) => x.uid).join() === 'spain', `search found ${JSON.stringify(found)}`)
})

await step('terms: move france under asia; a cycle is refused', async () => {
  const moved = await stack().taxonomy('regions').terms('france').move({ term: { parent_uid: 'asia', order: 1 }, force: true })
  check(moved.parent_uid === 'asia' && moved.depth === 2, `moved ${JSON.stringify(moved)}`)
  const paris = await stack().taxonomy('regions').terms('paris').fetch()
  check(paris.depth === 3, `paris depth ${paris.depth}`)
  await refused(() => stack().taxonomy('regions').terms('asia').move({ term: { parent_uid: 'paris' } }), [422], { code: 120 })
})

await step('taxonomy: export, then import as a copy', async () => {
  const file = await stack().taxonomy('regions').export()
  check(file.taxonomy?.uid === 'regions' && file.terms?.length === 5, `export ${JSON.stringify(file)}`)
  file.taxonomy.uid = 'regions_copy'
  const path = join(mkdtempSync(join(tmpdir(), 'hw-tax-')), 'regions.json')
  writeFileSync(path, JSON.stringify(file))
  const t = await stack().taxonomy().import({ taxonomy: path })
  check(t.uid === 'regions_copy', `imported ${JSON.stringify(t)}`)
  const terms = await stack().taxonomy('regions_copy').terms().query().find()
  check(terms.items.length === 5, `the copy has ${terms.items.length} terms`)
})

await step('entries: a content type with a taxonomy field, entries tagged with terms', async () => {
  await stack().contentType().create({ content_type: { title: 'Place', uid: 'place', schema: [
    { uid: 'title', display_name: 'Title', data_type: 'text', mandatory: true },
    { uid: 'taxonomies', display_name: 'Taxonomy', data_type: 'taxonomy', multiple: true, taxonomies: [{ taxonomy_uid: 'regions', max_terms: 2 }] },
  ] } })
  s.entries = {}
  for (const [title, term] of [['Louvre', 'paris'], ['Prado', 'spain'], ['Fuji', 'asia'], ['Nowhere', null]]) {
    const taxonomies = term ? [{ taxonomy_uid: 'regions', term_uid: term }] : []
    const e = await stack().contentType('place').entry().create({ entry: { title, taxonomies } })
    check(e.taxonomies?.length === taxonomies.length, `entry ${title} taxonomies ${JSON.stringify(e.taxonomies)}`)
    s.entries[title] = e.uid
  }
  await refused(() => stack().contentType('place').entry().create({ entry: { title: 'Bad', taxonomies: [{ taxonomy_uid: 'regions', term_uid: 'mars' }] } }), [422])
})

const titles = async (query) => {
  const res = await stack().contentType('place').entry().query({ query }).find()
  return res.items.map((e) => e.title).sort().join()
}

await step('entries: query by taxonomy ($in, $eq_below, $below, $eq_above, $above, $exists)', async () => {
  const cases = [
    [{ 'taxonomies.regions': { $in: ['paris', 'spain'] } }, 'Louvre,Prado'],
    [{ 'taxonomies.regions': { $eq_below: 'asia' } }, 'Fuji,Louvre'],
    [{ 'taxonomies.regions': { $below: 'asia', levels: 1 } }, ''],
    [{ 'taxonomies.regions': { $below: 'asia', levels: 2 } }, 'Louvre'],
    [{ 'taxonomies.regions': { $eq_above: 'france' } }, 'Fuji'],
    [{ 'taxonomies.regions': { $above: 'paris', levels: 1 } }, ''],
    [{ 'taxonomies.regions': { $exists: true } }, 'Fuji,Louvre,Prado'],
  ]
  for (const [q, want] of cases) {
    const got = await titles(q)
    check(got === want, `${JSON.stringify(q)} found ${got}, want ${want}`)
  }
})

await step('terms: a term in use is not deleted (422)', async () => {
  await refused(() => stack().taxonomy('regions').terms('spain').delete(), [422], { code: 120 })
  const still = await stack().taxonomy('regions').terms('spain').fetch()
  check(still.uid === 'spain', 'spain is gone')
})

await step('management tokens: with and without the taxonomy scope', async () => {
  const withScope = await stack().managementToken().create(tokenBody('tax rw', [{ module: 'taxonomy', acl: { read: true, write: true } }]))
  const without = await stack().managementToken().create(tokenBody('entries only', [{ module: 'entry', acl: { read: true, write: true } }]))
  const as = (t) => newClient().stack({ api_key: s.apiKey, management_token: t.token })
  const t = await as(withScope).taxonomy('regions').terms().create({ term: { uid: 'japan', name: 'Japan', parent_uid: 'asia' } })
  check(t.uid === 'japan', `created ${JSON.stringify(t)}`)
  await refused(() => as(without).taxonomy('regions').fetch(), [403], { code: 162 })
  await refused(() => as(without).taxonomy().query().find(), [403], { code: 162 })
})

await step('deletes: an unused term and a taxonomy', async () => {
  const res = await stack().taxonomy('regions').terms('japan').delete()
  check(res !== undefined, 'no answer')
  await refused(() => stack().taxonomy('regions').terms('japan').fetch(), [422], { code: 141 })
  await stack().taxonomy('regions_copy').delete()
  await refused(() => stack().taxonomy('regions_copy').fetch(), [422], { code: 141 })
})

finish()
