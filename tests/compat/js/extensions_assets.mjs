// Compatibility scenario: the official JavaScript management SDK, unchanged, driving extensions
// (create, upload, query, fetch, update, delete, use from a content type), entry references,
// the asset list's query and sort, asset references, downloading an asset by api_key and uid,
// and moving release items. One line per step (`PASS <step>` / `FAIL <step>: <reason>`), then
// `N passed, M failed`. Env: HEADWATER_URL, HEADWATER_EMAIL, HEADWATER_PASSWORD.
//
// The SDK (1.30) has no method for entry version names, unlocalize, metadata or release
// update_items; those are covered by the HTTP tests (crates/headwater-api/tests/entry_extras.rs).
import { env, BASE, newClient, describe, step, check, need, refused, finish } from './harness.mjs'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const OWNER = { email: env('HEADWATER_EMAIL'), password: env('HEADWATER_PASSWORD') }

const s = {}
const owner = newClient()
const dir = mkdtempSync(join(tmpdir(), 'hw-compat-ext-'))

await step('login as owner', async () => {
  const res = await owner.login({ email: OWNER.email, password: OWNER.password })
  check(typeof res.user?.authtoken === 'string', 'login response has no user.authtoken')
  s.orgUid = res.user.organizations?.[0]?.uid
  check(s.orgUid, 'login response has no organization')
})

await step('create stack', async () => {
  const stack = await owner.stack({ organization_uid: need(s.orgUid, 'organization uid') })
    .create({ stack: { name: 'Compat extensions', master_locale: 'en-us' } })
  check(stack.api_key, 'created stack has no api_key')
  s.apiKey = stack.api_key
})

const st = () => owner.stack({ api_key: need(s.apiKey, 'stack api_key') })

// --- extensions ----------------------------------------------------------------------------

await step('extension: create a custom field (JSON, srcdoc)', async () => {
  const ext = await st().extension().create({
    extension: { title: 'Color picker', type: 'field', data_type: 'text', tags: ['ui'], multiple: false, srcdoc: '<html><body>pick</body></html>', config: { palette: ['red'] } },
  })
  check(ext.uid, `no uid: ${JSON.stringify(ext)}`)
  check(ext.title === 'Color picker' && ext.type === 'field' && ext.data_type === 'text', `extension is ${JSON.stringify(ext)}`)
  check(ext.srcdoc === '<html><body>pick</body></html>', `srcdoc is ${ext.srcdoc}`)
  s.fieldExt = ext.uid
})

await step('extension: upload a widget file (multipart)', async () => {
  const file = join(dir, 'widget.html')
  writeFileSync(file, '<!doctype html><p>widget</p>')
  const ext = await st().extension().upload({ title: 'Sidebar', type: 'widget', tags: 'a,b', upload: file })
  check(ext.uid, `no uid: ${JSON.stringify(ext)}`)
  check(ext.srcdoc === '<!doctype html><p>widget</p>', `srcdoc is ${JSON.stringify(ext.srcdoc)}`)
  check(JSON.stringify(ext.tags) === '["a","b"]', `tags are ${JSON.stringify(ext.tags)}`)
  s.widgetExt = ext.uid
})

await step('extension: query by type', async () => {
  const res = await st().extension().query({ query: { type: 'widget' } }).find()
  const uids = res.items.map((e) => e.uid)
  check(uids.length === 1 && uids[0] === need(s.widgetExt, 'widget'), `widgets are ${JSON.stringify(uids)}`)
  const all = await st().extension().query({ include_count: true }).find()
  check(all.count === 2, `count is ${all.count}`)
})

await step('extension: fetch and update', async () => {
  const ext = await st().extension(need(s.fieldExt, 'field extension')).fetch()
  check(ext.title === 'Color picker', `fetched title ${ext.title}`)
  ext.title = 'Colour picker'
  const updated = await ext.update()
  check(updated.title === 'Colour picker', `updated title ${updated.title}`)
  check(updated._version === 2, `_version is ${updated._version}`)
  const again = await st().extension(s.fieldExt).fetch()
  check(again.title === 'Colour picker' && again.data_type === 'text', `re-fetched ${JSON.stringify(again)}`)
})

await step('extension: a content type naming an unknown extension is refused', async () => {
  await refused(() => st().contentType().create({
    content_type: { title: 'Bad', uid: 'bad', schema: [
      { uid: 'title', display_name: 'Title', data_type: 'text', mandatory: true },
      { uid: 'c', display_name: 'C', data_type: 'text', extension_uid: 'blt_unknown' }] },
  }), [422])
})

await step('extension: a content type uses the custom field', async () => {
  const ct = await st().contentType().create({
    content_type: { title: 'Product', uid: 'product', schema: [
      { uid: 'title', display_name: 'Title', data_type: 'text', mandatory: true },
      { uid: 'color', display_name: 'Color', data_type: 'text', extension_uid: need(s.fieldExt, 'field extension'), config: {} },
      { uid: 'maker', display_name: 'Maker', data_type: 'reference', reference_to: ['product'], field_metadata: { ref_multiple: false } },
      { uid: 'photo', display_name: 'Photo', data_type: 'file' }] },
  })
  check(ct.uid === 'product', `content type is ${ct.uid}`)
  const field = ct.schema.find((f) => f.uid === 'color')
  check(field?.extension_uid === s.fieldExt, `color field is ${JSON.stringify(field)}`)
})

await step('extension: one in use is not deleted; an unused one is', async () => {
  await refused(() => st().extension(need(s.fieldExt, 'field extension')).fetch().then((e) => e.delete()), [422])
  const widget = await st().extension(need(s.widgetExt, 'widget')).fetch()
  const res = await widget.delete()
  check(res.notice === 'Extension deleted successfully.', `notice is ${JSON.stringify(res)}`)
  await refused(() => st().extension(s.widgetExt).fetch(), [422], { code: 141 })
})

// --- assets and references -------------------------------------------------------------------

for (const [i, title] of ['Older', 'Newer'].entries()) {
  await step(`asset: upload ${title}`, async () => {
    const file = join(dir, `${title}.txt`)
    writeFileSync(file, `${title} bytes`)
    const a = await st().asset().create({ upload: file, title })
    check(a.uid && a.title === title, `asset is ${JSON.stringify(a)}`)
    s[`asset${i}`] = a.uid
  })
}

await step('asset: query by title', async () => {
  const res = await st().asset().query({ query: { title: 'Newer' } }).find()
  check(res.items.length === 1 && res.items[0].uid === need(s.asset1, 'asset'), `found ${JSON.stringify(res.items.map((a) => a.title))}`)
  const re = await st().asset().query({ query: { title: { $regex: '^old', $options: 'i' } } }).find()
  check(re.items.length === 1 && re.items[0].title === 'Older', `regex found ${JSON.stringify(re.items.map((a) => a.title))}`)
})

await step('asset: asc=created_at lists oldest first, desc newest first', async () => {
  const asc = await st().asset().query({ asc: 'created_at' }).find()
  check(JSON.stringify(asc.items.map((a) => a.title)) === '["Older","Newer"]', `asc is ${JSON.stringify(asc.items.map((a) => a.title))}`)
  const desc = await st().asset().query({ desc: 'created_at' }).find()
  check(JSON.stringify(desc.items.map((a) => a.title)) === '["Newer","Older"]', `desc is ${JSON.stringify(desc.items.map((a) => a.title))}`)
})

await step('asset: relative_urls=true', async () => {
  const res = await st().asset().query({ relative_urls: true }).find()
  check(res.items.length === 2 && res.items.every((a) => a.url.startsWith(`/v3/assets/${s.apiKey}/`)), `urls are ${JSON.stringify(res.items.map((a) => a.url))}`)
})

await step('asset: unsupported query is refused', async () => {
  await refused(() => st().asset().query({ query: { nonsense: 1 } }).find(), [400])
})

await step('entries referring to an entry and to an asset', async () => {
  const ct = st().contentType('product')
  const maker = await ct.entry().create({ entry: { title: 'Acme' } })
  const mug = await ct.entry().create({ entry: { title: 'Mug', maker: [{ uid: maker.uid, _content_type_uid: 'product' }], photo: need(s.asset0, 'asset') } })
  const refs = await st().contentType('product').entry(maker.uid).references({ include_publish_details: true })
  check(refs.references?.length === 1 && refs.references[0].entry_uid === mug.uid, `references are ${JSON.stringify(refs)}`)
  check(refs.references[0].content_type_title === 'Product', `content_type_title is ${refs.references[0].content_type_title}`)
  const asset = await st().asset(s.asset0).fetch()
  const arefs = await asset.getReferences()
  check(arefs.references?.length === 1 && arefs.references[0].entry_uid === mug.uid, `asset references are ${JSON.stringify(arefs)}`)
})

await step('asset: download the current file by /v3/assets/{api_key}/{uid}', async () => {
  const url = `${BASE}/v3/assets/${need(s.apiKey, 'api_key')}/${need(s.asset1, 'asset')}`
  const res = await st().asset().download({ url, responseType: 'arraybuffer' })
  check(res.status === 200, `status ${res.status}`)
  check(Buffer.from(res.data).toString() === 'Newer bytes', `bytes are ${Buffer.from(res.data).toString()}`)
  check(res.headers['x-content-type-options'] === 'nosniff', 'no nosniff header')
})

// --- releases --------------------------------------------------------------------------------

await step('release: move items to another release', async () => {
  const r1 = await st().release().create({ release: { name: 'Spring', description: '' } })
  const r2 = await st().release().create({ release: { name: 'Summer', description: '' } })
  check(r1.uid && r2.uid, 'releases have no uid')
  await st().release(r1.uid).item().create({ items: [
    { uid: need(s.asset0, 'asset'), version: 1, locale: 'en-us', action: 'publish' },
    { uid: need(s.asset1, 'asset'), version: 1, locale: 'en-us', action: 'publish' }] })
  const res = await st().release(r1.uid).item().move({ param: { release_uid: r2.uid, items: [{ uid: s.asset1, locale: 'en-us' }] } })
  check(typeof res.notice === 'string', `move answered ${JSON.stringify(res)}`)
  const left = await st().release(r1.uid).item().findAll()
  const moved = await st().release(r2.uid).item().findAll()
  check(left.items.length === 1 && left.items[0].uid === s.asset0, `left ${JSON.stringify(left.items.map((i) => i.uid))}`)
  check(moved.items.length === 1 && moved.items[0].uid === s.asset1, `moved ${JSON.stringify(moved.items.map((i) => i.uid))}`)
})

finish()
