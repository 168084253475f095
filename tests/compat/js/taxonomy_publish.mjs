// Compatibility scenario for localized and published taxonomies: the official JavaScript
// management SDK, unchanged (taxonomy().localize(), .locales(), taxonomy().publish() and
// .unpublish() with api_version '3.2', terms().localize() and .locales()), against a fresh
// Headwater server; what is published is then read from the delivery API with a delivery token
// (plain HTTP: the delivery SDK is not part of this suite). One line per step
// (`PASS <step>` / `FAIL <step>: <reason>`), then `N passed, M failed`.
// Env: HEADWATER_URL, HEADWATER_EMAIL, HEADWATER_PASSWORD.
import { env, BASE, newClient, step, check, need, refused, finish } from './harness.mjs'

const OWNER = { email: env('HEADWATER_EMAIL'), password: env('HEADWATER_PASSWORD') }
const tokenBody = (name, scope) => ({
  token: { name, description: 'compat suite', scope, expires_on: null, is_email_notification_enabled: false },
})

const s = {}
const owner = newClient()
const stack = () => owner.stack({ api_key: need(s.apiKey, 'stack api_key') })

// GET on the delivery API with the scenario's delivery token.
const cda = async (path) => {
  const res = await fetch(`${BASE}/cda/v3${path}`, {
    headers: { api_key: need(s.apiKey, 'api key'), access_token: need(s.deliveryToken, 'delivery token') },
  })
  return { status: res.status, body: await res.json() }
}

await step('setup: stack, fr-fr locale, production and staging, a colors taxonomy with terms', async () => {
  const res = await owner.login({ email: OWNER.email, password: OWNER.password })
  const orgUid = need(res.user.organizations?.[0]?.uid, 'organization uid')
  const st = await owner.stack({ organization_uid: orgUid })
    .create({ stack: { name: 'Compat taxonomy publishing', master_locale: 'en-us' } })
  s.apiKey = need(st.api_key, 'created stack api_key')
  await stack().locale().create({ locale: { code: 'fr-fr', name: 'French' } })
  for (const name of ['production', 'staging']) {
    await stack().environment().create({ environment: { name, urls: [] } })
  }
  await stack().taxonomy().create({ taxonomy: { uid: 'colors', name: 'Colors', description: 'Hues' } })
  const terms = () => stack().taxonomy('colors').terms()
  await terms().create({ term: { uid: 'red', name: 'Red' } })
  await terms().create({ term: { uid: 'blue', name: 'Blue' } })
  await terms().create({ term: { uid: 'dark_red', name: 'Dark red', parent_uid: 'red' } })
})

await step('localize: a taxonomy in fr-fr (taxonomy().localize)', async () => {
  const t = await stack().taxonomy('colors').localize({ taxonomy: { uid: 'colors', name: 'Couleurs', description: 'Teintes' } }, { locale: 'fr-fr' })
  check(t.uid === 'colors' && t.name === 'Couleurs' && t.locale === 'fr-fr', `localized ${JSON.stringify(t)}`)
  const fr = await stack().taxonomy('colors').fetch({ locale: 'fr-fr' })
  check(fr.name === 'Couleurs', `fetched in fr-fr: ${fr.name}`)
  const en = await stack().taxonomy('colors').fetch()
  check(en.name === 'Colors' && en.locale === 'en-us', `fetched in the master locale: ${JSON.stringify(en)}`)
})

await step('localize: an unknown locale is refused (422)', async () => {
  await refused(() => stack().taxonomy('colors').localize({ taxonomy: { name: 'X' } }, { locale: 'xx-yy' }), [422], { code: 120 })
})

await step('localize: a term in fr-fr; unlocalized terms fall back to the master locale', async () => {
  const t = await stack().taxonomy('colors').terms('red').localize({ term: { uid: 'red', name: 'Rouge' } }, { locale: 'fr-fr' })
  check(t.uid === 'red' && t.name === 'Rouge' && t.locale === 'fr-fr', `localized ${JSON.stringify(t)}`)
  const list = await stack().taxonomy('colors').terms().query({ locale: 'fr-fr' }).find()
  const got = list.items.map((x) => `${x.uid}:${x.name}`).join()
  check(got === 'red:Rouge,dark_red:Dark red,blue:Blue', `terms in fr-fr: ${got}`)
})

await step('locales: of a taxonomy and of a term (.locales())', async () => {
  const tl = await stack().taxonomy('colors').locales()
  const got = (tl.taxonomies ?? []).map((x) => `${x.locale}:${x.name}`).join()
  check(got === 'en-us:Colors,fr-fr:Couleurs', `taxonomy locales: ${JSON.stringify(tl)}`)
  const rl = await stack().taxonomy('colors').terms('red').locales()
  const terms = (rl.terms ?? []).map((x) => `${x.locale}:${x.name}`).join()
  check(terms === 'en-us:Red,fr-fr:Rouge', `term locales: ${JSON.stringify(rl)}`)
})

await step('publish: refusals (no environments, an unknown taxonomy, an unknown term)', async () => {
  await refused(() => stack().taxonomy().publish({ locales: ['en-us'], items: [{ uid: 'colors' }] }, '3.2'), [422], { code: 120 })
  await refused(() => stack().taxonomy().publish({ locales: ['en-us'], environments: ['production'], items: [{ uid: 'shapes' }] }, '3.2'), [422], { code: 120 })
  await refused(() => stack().taxonomy().publish({ locales: ['en-us'], environments: ['production'], items: [{ uid: 'colors', term_uid: 'green' }] }, '3.2'), [422], { code: 120 })
})

await step('publish: taxonomy().publish(data, "3.2") answers a notice and a job id', async () => {
  const res = await stack().taxonomy().publish({
    locales: ['en-us', 'fr-fr'],
    environments: ['production'],
    items: [{ uid: 'colors', term_uid: 'red' }, { uid: 'colors', term_uid: 'blue' }],
  }, '3.2')
  check(typeof res.notice === 'string' && typeof res.job_id === 'string' && res.job_id.length > 0, `answer ${JSON.stringify(res)}`)
})

await step('delivery: the published taxonomy and its localized terms, with a delivery token', async () => {
  const tok = await stack().deliveryToken().create({ token: { name: 'web', description: 'site', scope: [
    { module: 'environment', environments: ['production'], acl: { read: true } },
    { module: 'branch', branches: ['main'], acl: { read: true } },
  ] } })
  s.deliveryToken = need(tok.token, 'delivery token secret')
  const all = await cda('/taxonomies?environment=production&include_count=true')
  check(all.status === 200 && all.body.taxonomies?.[0]?.uid === 'colors' && all.body.count === 1, `taxonomies ${JSON.stringify(all)}`)
  const fr = await cda('/taxonomies/colors/terms?environment=production&locale=fr-fr')
  const got = (fr.body.terms ?? []).map((x) => `${x.uid}:${x.name}`).join()
  check(got === 'red:Rouge,dark_red:Dark red,blue:Blue', `published terms in fr-fr: ${JSON.stringify(fr)}`)
  const one = await cda('/taxonomies/colors/terms/dark_red?environment=production')
  check(one.status === 200 && one.body.term?.parent_uid === 'red', `term ${JSON.stringify(one)}`)
})

await step('delivery: entries of every content type by taxonomy (/taxonomies/entries)', async () => {
  for (const ct of ['product', 'article']) {
    await stack().contentType().create({ content_type: { title: ct, uid: ct, schema: [
      { uid: 'title', display_name: 'Title', data_type: 'text', mandatory: true },
      { uid: 'taxonomies', display_name: 'Taxonomy', data_type: 'taxonomy', multiple: true, taxonomies: [{ taxonomy_uid: 'colors', max_terms: 3 }] },
    ] } })
  }
  for (const [ct, title, term, publish] of [['product', 'Red shoe', 'red', true], ['article', 'Dark red story', 'dark_red', true], ['article', 'Red draft', 'red', false], ['product', 'Blue coat', 'blue', true]]) {
    const e = await stack().contentType(ct).entry().create({ entry: { title, taxonomies: [{ taxonomy_uid: 'colors', term_uid: term }] } })
    if (publish) await e.publish({ publishDetails: { environments: ['production'], locales: ['en-us'] }, locale: 'en-us' })
  }
  const q = encodeURIComponent(JSON.stringify({ 'taxonomies.colors': { $eq_below: 'red' } }))
  const res = await cda(`/taxonomies/entries?environment=production&query=${q}&include_count=true`)
  const got = (res.body.entries ?? []).map((e) => `${e._content_type_uid}:${e.title}`).sort().join()
  check(res.status === 200 && got === 'article:Dark red story,product:Red shoe' && res.body.count === 2, `entries ${JSON.stringify(res)}`)
})

await step('unpublish: taxonomy().unpublish(data, "3.2") takes it down from the delivery API', async () => {
  const res = await stack().taxonomy().unpublish({ locales: ['en-us', 'fr-fr'], environments: ['production'], items: [{ uid: 'colors' }] }, '3.2')
  check(typeof res.notice === 'string' && typeof res.job_id === 'string', `answer ${JSON.stringify(res)}`)
  const gone = await cda('/taxonomies/colors?environment=production')
  check(gone.status === 422 && gone.body.error_code === 141, `after unpublish ${JSON.stringify(gone)}`)
})

await step('management tokens: publishing needs a writable taxonomy scope (MT-7, MT-18)', async () => {
  const as = (t) => newClient().stack({ api_key: s.apiKey, management_token: t.token })
  const body = (env) => ({ locales: ['en-us'], environments: [env], items: [{ uid: 'colors' }] })
  const ro = await stack().managementToken().create(tokenBody('tax ro', [{ module: 'taxonomy', acl: { read: true } }]))
  await refused(() => as(ro).taxonomy().publish(body('production'), '3.2'), [403], { code: 162, message: /MT-7/ })
  const narrow = await stack().managementToken().create(tokenBody('tax staging', [{ module: 'taxonomy', environments: ['staging'], acl: { read: true, write: true } }]))
  await refused(() => as(narrow).taxonomy().publish(body('production'), '3.2'), [403], { code: 162, message: /MT-18/ })
  const ok = await as(narrow).taxonomy().publish(body('staging'), '3.2')
  check(typeof ok.job_id === 'string', `narrow token publish to staging: ${JSON.stringify(ok)}`)
})

finish()
