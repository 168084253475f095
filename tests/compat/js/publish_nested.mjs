// Compatibility scenario for nested-reference publishing, bulk add to a release and the merge
// backup branch: the official JavaScript management SDK, unchanged, against a fresh Headwater
// server: bulkOperation().publish/unpublish with is_nested (immediately and as an api_version
// 3.2 job), bulkOperation().addItems and updateItems (bulk_version 2.0), release items naming an
// entry variant (refused), branch().merge() with and without no_revert, and metadata publishing
// (plain HTTP: the SDK has no metadata module). One line per step,
// then `N passed, M failed`. Env: HEADWATER_URL, HEADWATER_EMAIL, HEADWATER_PASSWORD. See
// ../WIRE-NOTES.md for the SDK behaviour relied on.
import { env, BASE, newClient, step, check, need, refused, finish } from './harness.mjs'

const OWNER = { email: env('HEADWATER_EMAIL'), password: env('HEADWATER_PASSWORD') }

const s = {} // state carried between steps
const owner = newClient()
const stack = (branch) => owner.stack({
  api_key: need(s.apiKey, 'stack api_key'),
  ...(branch ? { branch_uid: branch } : {}),
})
const title = { uid: 'title', display_name: 'Title', data_type: 'text', mandatory: true, unique: false }
const live = async (ct, uid) => (await stack().contentType(ct).entry(uid).fetch()).publish_details ?? []
const details = (uid) => ({
  entries: [{ uid: need(uid, 'article uid'), content_type: 'article', locale: 'en-us' }],
  locales: ['en-us'],
  environments: ['production'],
})

async function waitForJob (jobId) {
  const deadline = Date.now() + 30000
  for (;;) {
    const job = await stack().bulkOperation().jobStatus({ job_id: jobId, api_version: '3.2' })
    if (!['in_progress', 'scheduled'].includes(job.status)) return job
    if (Date.now() > deadline) throw new Error(`job still ${job.status}`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

await step('login as owner', async () => {
  const res = await owner.login({ email: OWNER.email, password: OWNER.password })
  s.authtoken = res.user?.authtoken
  s.orgUid = res.user?.organizations?.[0]?.uid
  check(res.user?.authtoken && s.orgUid, 'login response has no authtoken or organization')
})

await step('create stack, environment, content types and referring entries', async () => {
  const created = await owner.stack({ organization_uid: need(s.orgUid, 'organization uid') })
    .create({ stack: { name: 'Compat nested', master_locale: 'en-us' } })
  s.apiKey = created.api_key
  await stack().environment().create({ environment: { name: 'production', urls: [] } })
  await stack().contentType().create({
    content_type: {
      title: 'Person',
      uid: 'person',
      schema: [title, { uid: 'mentor', display_name: 'Mentor', data_type: 'reference', reference_to: ['person'] }],
    },
  })
  await stack().contentType().create({
    content_type: {
      title: 'Article',
      uid: 'article',
      schema: [title, { uid: 'author', display_name: 'Author', data_type: 'reference', reference_to: ['person'] }],
    },
  })
  const mentor = await stack().contentType('person').entry().create({ entry: { title: 'Mentor' } })
  const author = await stack().contentType('person').entry().create({
    entry: { title: 'Author', mentor: [{ uid: mentor.uid, _content_type_uid: 'person' }] },
  })
  const article = await stack().contentType('article').entry().create({
    entry: { title: 'Hello', author: [{ uid: author.uid, _content_type_uid: 'person' }] },
  })
  s.mentor = mentor.uid
  s.author = author.uid
  s.article = article.uid
  check(s.mentor && s.author && s.article, 'entries not created')
})

await step('bulkOperation().publish without is_nested publishes the article alone', async () => {
  await stack().bulkOperation().publish({ details: details(s.article) })
  check((await live('article', s.article)).length === 1, 'the article is not live')
  check((await live('person', s.author)).length === 0, 'the author went live without is_nested')
})

await step('bulkOperation().publish with is_nested takes the references two levels down', async () => {
  const res = await stack().bulkOperation().publish({ details: details(s.article), is_nested: true })
  check(typeof res.notice === 'string', `no notice in ${JSON.stringify(res)}`)
  check((await live('person', s.author)).length === 1, 'the author is not live')
  check((await live('person', s.mentor)).length === 1, "the author's mentor is not live")
})

await step('bulkOperation().unpublish with is_nested and api_version 3.2 is a job that takes them down', async () => {
  const res = await stack().bulkOperation().unpublish({ details: details(s.article), is_nested: true, api_version: '3.2' })
  const job = await waitForJob(need(res.job_id, 'job id'))
  check(job.status === 'completed', `job is ${JSON.stringify(job)}`)
  check((await live('article', s.article)).length === 0, 'the article is still live')
  check((await live('person', s.mentor)).length === 0, 'the mentor is still live')
})

await step('bulkOperation().publish with is_nested, skip_workflow_stage and approvals', async () => {
  await stack().bulkOperation().publish({
    details: details(s.article), is_nested: true, skip_workflow_stage: true, approvals: true,
  })
  check((await live('person', s.mentor)).length === 1, 'the mentor is not live')
})

await step('bulkOperation().addItems with reference: true adds the references to the release', async () => {
  const release = await stack().release().create({ release: { name: 'Launch', description: '' } })
  s.release = release.uid
  const res = await stack().bulkOperation().addItems({
    data: {
      release: need(s.release, 'release uid'),
      action: 'publish',
      locale: ['en-us'],
      reference: true,
      items: [{ content_type_uid: 'article', uid: s.article, version: 1, locale: 'en-us', title: 'Hello' }],
    },
    bulk_version: '2.0',
  })
  // addItems returns undefined when the request fails (the SDK logs and swallows the error).
  check(res?.job_id, `no job_id in ${JSON.stringify(res)}`)
  check(/add to release/.test(res.notice ?? ''), `notice is ${res.notice}`)
  const job = await waitForJob(res.job_id)
  check(job.status === 'completed' && job.summary?.success === 3, `job is ${JSON.stringify(job)}`)
  const items = await stack().release(s.release).item().findAll()
  const uids = items.items.map((i) => i.uid).sort()
  check(JSON.stringify(uids) === JSON.stringify([s.article, s.author, s.mentor].sort()), `items are ${JSON.stringify(uids)}`)
})

await step('bulkOperation().updateItems moves the items to their latest versions', async () => {
  await stack().contentType('article').entry(need(s.article, 'article uid')).fetch()
    .then((e) => { e.title = 'Hello again'; return e.update() })
  const res = await stack().bulkOperation().updateItems({
    data: { release: need(s.release, 'release uid'), items: ['$all'] },
    bulk_version: '2.0',
  })
  const article = res?.release?.items?.find((i) => i.uid === s.article)
  check(article?.version === 2, `release is ${JSON.stringify(res)}`)
})

await step('a release item naming an entry variant is refused by name', async () => {
  await refused(() => stack().release(need(s.release, 'release uid')).item().create({
    items: [{ uid: s.article, content_type_uid: 'article', locale: 'en-us', action: 'publish', variant_id: 'cs_variant' }],
  }), [422], { code: 120 })
})

await step('branch().merge() makes a backup of the base branch', async () => {
  await stack().branch().create({ branch: { uid: 'dev', source: 'main' } })
  await stack('dev').contentType().create({ content_type: { title: 'News', uid: 'news', schema: [title] } })
  const res = await stack().branch().merge({ item_merge_strategies: [] }, {
    base_branch: 'main', compare_branch: 'dev', default_merge_strategy: 'merge_prefer_base', merge_comment: 'news',
  })
  check(res.merge_details?.status === 'complete', `merge_details: ${JSON.stringify(res.merge_details)}`)
  const backup = res.merge_details?.backup_branch
  check(backup === 'main_bkp_1', `backup_branch is ${backup}`)
  const b = await stack().branch(backup).fetch()
  check(b.uid === backup && b.source === 'main', `backup branch is ${JSON.stringify(b)}`)
  await refused(() => stack(backup).contentType('news').fetch(), [422], { code: 118 })
})

await step('branch().merge() with no_revert makes no backup', async () => {
  await stack('dev').contentType().create({ content_type: { title: 'Events', uid: 'events', schema: [title] } })
  const res = await stack().branch().merge({}, {
    base_branch: 'main', compare_branch: 'dev', default_merge_strategy: 'merge_prefer_base', merge_comment: 'events', no_revert: true,
  })
  check(res.merge_details?.backup_branch === null, `merge_details: ${JSON.stringify(res.merge_details)}`)
  const all = await stack().branch().query().find()
  check(all.items.length === 3, `branches: ${JSON.stringify(all.items.map((b) => b.uid))}`)
})

// Metadata publishing: the JavaScript client has no metadata module (the Python client's
// `metadata(uid).publish(data)` sends this), so plain HTTP with the same credentials.
async function http (method, path, body) {
  const res = await fetch(`${BASE}/v3${path}`, {
    method,
    headers: {
      authtoken: need(s.authtoken, 'authtoken'),
      api_key: need(s.apiKey, 'stack api_key'),
      ...(body ? { 'content-type': 'application/json' } : {}),
    },
    body: body ? JSON.stringify(body) : undefined,
  })
  return { status: res.status, body: await res.json() }
}

await step('metadata publish and unpublish', async () => {
  const ext = await stack().extension().create({
    extension: { title: 'Presets', type: 'field', data_type: 'json', src: 'https://ext.example.com' },
  })
  const created = await http('POST', '/metadata', {
    metadata: { entity_uid: need(s.article, 'article uid'), type: 'entry', _content_type_uid: 'article', extension_uid: ext.uid, presets: [] },
  })
  check(created.status === 201, `create: ${JSON.stringify(created)}`)
  const uid = created.body.metadata.uid
  const spec = { metadata: { environments: ['production'], locales: ['en-us'] } }
  const pub = await http('POST', `/metadata/${uid}/publish`, spec)
  check(pub.status === 200 && pub.body.metadata?.publish_details?.length === 1, `publish: ${JSON.stringify(pub)}`)
  const unpub = await http('POST', `/metadata/${uid}/unpublish`, spec)
  check(unpub.status === 200 && unpub.body.metadata?.publish_details?.length === 0, `unpublish: ${JSON.stringify(unpub)}`)
})

finish()
