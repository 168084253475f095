// Compatibility scenario for publishing jobs: the official JavaScript management SDK, unchanged,
// against a fresh Headwater server: bulkOperation().publish/unpublish with api_version 3.2 (a
// job), jobStatus and getJobItems, entry.publish with scheduledAt, the publish queue (which the
// SDK has no call for: plain HTTP with the same credentials), bulkOperation().update (workflow
// stages) and bulkOperation().delete. One line per step (`PASS <step>` / `FAIL <step>: <reason>`), then
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

// The same credentials over plain HTTP, for the publish queue.
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

await step('login as owner', async () => {
  const res = await owner.login({ email: OWNER.email, password: OWNER.password })
  s.authtoken = res.user?.authtoken
  s.orgUid = res.user?.organizations?.[0]?.uid
  check(s.authtoken && s.orgUid, 'login response has no authtoken or organization')
})

await step('create stack, environment, content type and entries', async () => {
  const stack = await owner.stack({ organization_uid: need(s.orgUid, 'organization uid') })
    .create({ stack: { name: 'Compat jobs', master_locale: 'en-us' } })
  s.apiKey = stack.api_key
  const st = owner.stack({ api_key: s.apiKey })
  await st.environment().create({ environment: { name: 'production', urls: [] } })
  await st.contentType().create({
    content_type: {
      title: 'News',
      uid: 'news',
      schema: [{ uid: 'title', display_name: 'Title', data_type: 'text', mandatory: true, unique: false }],
    },
  })
  s.entries = []
  for (const title of ['One', 'Two', 'Three']) {
    const e = await st.contentType('news').entry().create({ entry: { title } })
    s.entries.push(e.uid)
  }
  check(s.entries.length === 3, 'entries not created')
})

const stack = () => owner.stack({ api_key: need(s.apiKey, 'stack api_key') })
const entry = (i) => stack().contentType('news').entry(need(s.entries, 'entries')[i])

async function waitForJob (jobId) {
  const deadline = Date.now() + 30000
  for (;;) {
    const job = await stack().bulkOperation().jobStatus({ job_id: jobId, api_version: '3.2' })
    if (!['in_progress', 'scheduled'].includes(job.status)) return job
    if (Date.now() > deadline) throw new Error(`job still ${job.status}`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

await step('bulkOperation().publish with api_version 3.2 answers a job_id', async () => {
  const res = await stack().bulkOperation().publish({
    details: {
      entries: [
        { uid: s.entries[0], content_type: 'news', locale: 'en-us' },
        { uid: 'bltmissing0000000', content_type: 'news', locale: 'en-us' },
      ],
      locales: ['en-us'],
      environments: ['production'],
    },
    api_version: '3.2',
  })
  check(typeof res.job_id === 'string' && res.job_id, `no job_id in ${JSON.stringify(res)}`)
  check(/in progress/.test(res.notice ?? ''), `notice is ${res.notice}`)
  s.job = res.job_id
})

await step('jobStatus reports the job completed with one item failed', async () => {
  const job = await waitForJob(need(s.job, 'job id'))
  check(job.status === 'completed', `status is ${job.status}`)
  check(job.summary?.success === 1 && job.summary?.failed === 1, `summary is ${JSON.stringify(job.summary)}`)
})

await step('getJobItems names the failed item', async () => {
  const res = await stack().bulkOperation().getJobItems(need(s.job, 'job id'), { include_count: true })
  check(res.total_count === 2, `total_count is ${res.total_count}`)
  const failed = res.items.find((i) => i.status === 'failed')
  check(failed?.uid === 'bltmissing0000000', `items are ${JSON.stringify(res.items)}`)
  check(Array.isArray(failed.errors?.uid), `failed item errors are ${JSON.stringify(failed.errors)}`)
  const e = await entry(0).fetch()
  check(e.publish_details.length === 1, `publish_details is ${JSON.stringify(e.publish_details)}`)
})

await step('bulkOperation().unpublish with api_version 3.2 is carried out', async () => {
  const res = await stack().bulkOperation().unpublish({
    details: { entries: [{ uid: s.entries[0], content_type: 'news' }], locales: ['en-us'], environments: ['production'] },
    api_version: '3.2',
  })
  const job = await waitForJob(res.job_id)
  check(job.status === 'completed' && job.action === 'unpublish', `job is ${JSON.stringify(job)}`)
  const e = await entry(0).fetch()
  check(e.publish_details.length === 0, `publish_details is ${JSON.stringify(e.publish_details)}`)
})

await step('entry.publish with scheduledAt in the past is refused', async () => {
  await refused(() => entry(1).publish({
    publishDetails: { environments: ['production'], locales: ['en-us'] },
    locale: 'en-us',
    scheduledAt: '2020-01-01T00:00:00.000Z',
  }), [422], { code: 120 })
})

await step('entry.publish with scheduledAt is carried out at that time', async () => {
  const at = new Date(Date.now() + 2000).toISOString()
  const res = await entry(1).publish({
    publishDetails: { environments: ['production'], locales: ['en-us'] },
    locale: 'en-us',
    scheduledAt: at,
  })
  check(typeof res.notice === 'string', `no notice in ${JSON.stringify(res)}`)
  const job = await waitForJob(need(res.job_id, 'job id'))
  check(job.status === 'completed', `job is ${JSON.stringify(job)}`)
  const e = await entry(1).fetch()
  check(e.publish_details.length === 1, `publish_details is ${JSON.stringify(e.publish_details)}`)
})

await step('a scheduled publish is listed in the publish queue and unscheduled', async () => {
  const at = new Date(Date.now() + 3600 * 1000).toISOString()
  await entry(2).publish({
    publishDetails: { environments: ['production'], locales: ['en-us'] },
    locale: 'en-us',
    scheduledAt: at,
  })
  const list = await http('GET', '/publish-queue?status=scheduled')
  check(list.status === 200, `publish queue answered ${list.status}`)
  const row = list.body.queue.find((r) => r.entry?.uid === s.entries[2])
  check(row?.publish_details?.status === 'scheduled', `queue is ${JSON.stringify(list.body)}`)
  const un = await http('GET', `/publish-queue/${row.uid}/unschedule`)
  check(un.status === 200 && typeof un.body.notice === 'string', `unschedule answered ${un.status} ${JSON.stringify(un.body)}`)
  const again = await http('GET', `/publish-queue/${row.uid}`)
  check(again.body.queue?.publish_details?.status === 'cancelled', `row is ${JSON.stringify(again.body)}`)
})

await step('bulkOperation().update moves entries to a workflow stage', async () => {
  const acl = { others: {}, users: { uids: ['$all'] }, roles: { uids: [] } }
  const wf = await http('POST', '/workflows', {
    workflow: {
      name: 'Editorial',
      content_types: ['news'],
      branches: ['main'],
      workflow_stages: [
        { uid: 'draft', name: 'Draft', next_available_stages: ['$all'], SYS_ACL: acl },
        { uid: 'review', name: 'Review', next_available_stages: ['$all'], SYS_ACL: acl },
      ],
    },
  })
  check(wf.status === 201, `workflow create answered ${wf.status} ${JSON.stringify(wf.body)}`)
  const res = await stack().bulkOperation().update({
    entries: [
      { content_type: 'news', uid: s.entries[0], locale: 'en-us' },
      { content_type: 'news', uid: s.entries[1], locale: 'en-us' },
    ],
    workflow: { workflow_stage: { uid: 'review', comment: 'ready', notify: false } },
  })
  check(typeof res.notice === 'string', `no notice in ${JSON.stringify(res)}`)
  for (const i of [0, 1]) {
    const st = await http('GET', `/content_types/news/entries/${s.entries[i]}/workflow`)
    check(st.body.workflow?.workflow_stage?.uid === 'review', `entry #${i + 1} workflow is ${JSON.stringify(st.body)}`)
  }
})

await step('bulkOperation().delete deletes the entries named', async () => {
  const res = await stack().bulkOperation().delete({
    details: { entries: [{ content_type: 'news', uid: s.entries[0], locale: 'en-us' }] },
  })
  check(typeof res.notice === 'string', `no notice in ${JSON.stringify(res)}`)
  await refused(() => entry(0).fetch(), [422], { code: 141 })
  const still = await entry(1).fetch()
  check(still.uid === s.entries[1], 'the other entry is gone too')
})

await step('bulkOperation().delete of a missing entry changes nothing', async () => {
  await refused(() => stack().bulkOperation().delete({
    details: {
      entries: [
        { content_type: 'news', uid: s.entries[1], locale: 'en-us' },
        { content_type: 'news', uid: 'bltmissing0000000', locale: 'en-us' },
      ],
    },
  }), [422], { code: 120 })
  const still = await entry(1).fetch()
  check(still.uid === s.entries[1], 'the valid entry was deleted anyway')
})

finish()
