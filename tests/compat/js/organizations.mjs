// Compatibility scenario for organization administration (issue 14): the official JavaScript
// management SDK, unchanged, against a fresh Headwater server. Organizations (stacks, roles,
// invitations, ownership), teams with their users and stack role mappings, stack settings and
// ownership, the user's account; management tokens refused on all of them (MT-8).
// One line per step (`PASS <step>` / `FAIL <step>: <reason>`), then `N passed, M failed`.
// Env: HEADWATER_URL, HEADWATER_EMAIL, HEADWATER_PASSWORD, HEADWATER_DEV_EMAIL,
// HEADWATER_DEV_PASSWORD; optional HEADWATER_SERVER_LOG (the server's log, where links are
// printed when no SMTP relay is configured) for the invitation-acceptance steps.
import { env, BASE, newClient, describe, step, check, need, refused, finish } from './harness.mjs'
import { readFileSync } from 'node:fs'

const OWNER = { email: env('HEADWATER_EMAIL'), password: env('HEADWATER_PASSWORD') }
const DEV = { email: env('HEADWATER_DEV_EMAIL'), password: env('HEADWATER_DEV_PASSWORD') }
const SERVER_LOG = process.env.HEADWATER_SERVER_LOG

const MT8 = /management token.*rule MT-8/i
const s = {}
const owner = newClient()
const dev = newClient()
const mt = newClient()
const INVITEE = 'invitee@compat.example.com'
const INVITEE_PASSWORD = 'Compat-Invitee-Passw0rd-3'

// Link tokens printed in the server log (no SMTP relay in the compat run), oldest first.
function logTokens () {
  if (!SERVER_LOG) return []
  return [...readFileSync(SERVER_LOG, 'utf8').matchAll(/hwlk_[0-9A-Za-z]{28}/g)].map((m) => m[0])
}
// The link tokens printed since `seen`, once there are at least `count` (messages are sent
// in the background, so this waits until they are all there).
async function newLogToken (seen, count) {
  for (let i = 0; i < 400; i++) {
    const fresh = [...new Set(logTokens().filter((t) => !seen.includes(t)))]
    if (fresh.length >= count) return fresh
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
  throw new Error('no new link token appeared in the server log')
}

await step('login as owner and as the dev user', async () => {
  const res = await owner.login({ email: OWNER.email, password: OWNER.password })
  s.orgUid = res.user.organizations?.[0]?.uid
  check(s.orgUid, 'login response has no user.organizations[0].uid')
  await dev.login({ email: DEV.email, password: DEV.password })
})

await step('create stack; find its Developer role', async () => {
  const stack = await owner.stack({ organization_uid: need(s.orgUid, 'organization uid') })
    .create({ stack: { name: 'Compat Org JS', master_locale: 'en-us' } })
  s.apiKey = stack.api_key
  const roles = await owner.stack({ api_key: s.apiKey }).role().fetchAll()
  s.devRole = roles.items.find((r) => r.name === 'Developer')?.uid
  check(s.devRole, 'no Developer role')
})
const ownerStack = () => owner.stack({ api_key: need(s.apiKey, 'stack api_key') })
const org = (client) => client.organization(need(s.orgUid, 'organization uid'))

await step('organization: fetch', async () => {
  const o = await org(owner).fetch()
  check(o.uid === s.orgUid, `fetched organization is ${o.uid}`)
})

await step('organization: stacks', async () => {
  const list = await org(owner).stacks()
  check(list.items.some((st) => st.api_key === s.apiKey), `stack ${s.apiKey} not in the organization's stacks`)
})

await step('organization: roles', async () => {
  const list = await org(owner).roles()
  const names = list.items.map((r) => r.name)
  check(JSON.stringify(names) === JSON.stringify(['owner', 'admin', 'member']), `roles are ${JSON.stringify(names)}`)
  s.memberRole = list.items.find((r) => r.name === 'member').uid
})

await step('organization: invite by email with an organization role and a stack role (addUser)', async () => {
  s.seen = logTokens()
  const res = await org(owner).addUser({
    users: { [INVITEE]: [need(s.memberRole, 'member role')] },
    stacks: { [INVITEE]: { [s.apiKey]: [need(s.devRole, 'Developer role')] } },
  })
  const inv = res.items.find((u) => u.email === INVITEE)
  check(inv?.uid, `no invitation for ${INVITEE} in ${JSON.stringify(res.items)}`)
  check(res.notice === 'The invitation has been sent successfully.', `notice is ${res.notice}`)
  s.invitation = inv.uid
})

await step('organization: a member cannot invite', async () => {
  await refused(() => org(dev).addUser({ users: { 'x@compat.example.com': [s.memberRole] } }), [403], { code: 162, message: /rule ORG/ })
})

await step('organization: list invitations (getInvitations)', async () => {
  const res = await org(owner).getInvitations()
  check(res.items.some((u) => u.uid === s.invitation && u.status === 'pending'), `invitation ${s.invitation} not pending in the list`)
})

await step('organization: resend an invitation (resendInvitation)', async () => {
  const res = await org(owner).resendInvitation(need(s.invitation, 'invitation uid'))
  check(typeof res.notice === 'string', `resend answered ${JSON.stringify(res)}`)
})

if (SERVER_LOG) {
  await step('invitee: accept through the link printed in the log, then log in and work in the stack', async () => {
    // Two messages: the invitation and its resend, which ended the first link: exactly one
    // of the two tokens activates.
    const tokens = await newLogToken(need(s.seen, 'log tokens before the invitation'), 2)
    const answers = []
    for (const token of tokens) {
      // No SDK method for account activation: a plain request, as the web app makes it.
      const r = await fetch(`${BASE}/v3/user/activate/${token}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ user: { first_name: 'In', last_name: 'Vitee', password: INVITEE_PASSWORD, password_confirmation: INVITEE_PASSWORD } }),
      })
      answers.push([r.status, await r.json()])
    }
    const statuses = answers.map((a) => a[0]).sort()
    check(JSON.stringify(statuses) === '[200,422]', `activate answered ${JSON.stringify(answers)}`)
    const invitee = newClient()
    await invitee.login({ email: INVITEE, password: INVITEE_PASSWORD })
    const envs = await invitee.stack({ api_key: s.apiKey }).environment().query().find()
    check(Array.isArray(envs.items), 'the invitee could not list environments')
  })
}

await step('teams: create with a user and a stack role mapping', async () => {
  const team = await org(owner).teams().create({
    name: 'Compat team',
    users: [{ email: DEV.email }],
    organizationRole: need(s.memberRole, 'member role'),
    stackRoleMapping: [{ stackApiKey: need(s.apiKey, 'api key'), roles: [need(s.devRole, 'Developer role')] }],
  })
  check(team.uid && team.name === 'Compat team', `created team is ${JSON.stringify(team)}`)
  s.team = team.uid
})

await step('teams: the mapped role works for the team member (Developer creates an environment)', async () => {
  const e = await dev.stack({ api_key: need(s.apiKey, 'api key') }).environment()
    .create({ environment: { name: 'team-env', urls: [] } })
  check(e.name === 'team-env', `environment is ${e.name}`)
})

await step('teams: fetchAll and fetch', async () => {
  const all = await org(owner).teams().fetchAll()
  check(all.items.some((t) => t.uid === s.team), 'team not listed')
  const one = await org(owner).teams(need(s.team, 'team uid')).fetch()
  check(one.name === 'Compat team' && one.users.length === 1, `fetched team is ${JSON.stringify(one)}`)
})

await step('teams: team users fetchAll, add and remove', async () => {
  const users = await org(owner).teams(need(s.team, 'team uid')).teamUsers().fetchAll()
  check(users.items.length === 1 && users.items[0].userId, `team users are ${JSON.stringify(users.items)}`)
  const devUid = users.items[0].userId
  await org(owner).teams(s.team).teamUsers(devUid).remove()
  const after = await org(owner).teams(s.team).teamUsers().fetchAll()
  check(after.items.length === 0, 'the user was not removed')
  await org(owner).teams(s.team).teamUsers().add({ emails: [DEV.email] })
  const again = await org(owner).teams(s.team).teamUsers().fetchAll()
  check(again.items.length === 1, 'the user was not added back')
})

await step('teams: stack role mappings fetchAll, update and delete', async () => {
  const m = await org(owner).teams(need(s.team, 'team uid')).stackRoleMappings().fetchAll()
  check(m.stackRoleMappings?.[0]?.stackApiKey === s.apiKey, `mappings are ${JSON.stringify(m)}`)
  const roles = await ownerStack().role().fetchAll()
  const cm = roles.items.find((r) => r.name === 'Content Manager').uid
  const up = await org(owner).teams(s.team).stackRoleMappings(s.apiKey).update({ roles: [cm] })
  check(up.stackRoleMapping?.roles?.[0] === cm, `update answered ${JSON.stringify(up)}`)
  await refused(() => dev.stack({ api_key: s.apiKey }).environment().create({ environment: { name: 'cm-env', urls: [] } }), [403], { code: 162 })
  await org(owner).teams(s.team).stackRoleMappings(s.apiKey).delete()
  const none = await org(owner).teams(s.team).stackRoleMappings().fetchAll()
  check(none.stackRoleMappings.length === 0, 'mapping not deleted')
})

await step('teams: a member cannot create teams', async () => {
  await refused(() => org(dev).teams().create({ name: 'Mine' }), [403], { code: 162 })
})

await step('teams: update and delete', async () => {
  const t = await org(owner).teams(need(s.team, 'team uid')).update({ name: 'Compat team 2' })
  check(t.name === 'Compat team 2', `updated team is ${JSON.stringify(t)}`)
  await org(owner).teams(s.team).delete()
  await refused(() => org(owner).teams(s.team).fetch(), [422], { code: 141 })
})

await step('stack settings: read, add, reset', async () => {
  const first = await ownerStack().settings()
  check(first && typeof first.stack_variables === 'object', `settings are ${JSON.stringify(first)}`)
  const added = await ownerStack().addSettings({ enforce_unique_urls: true })
  check(added.stack_variables?.enforce_unique_urls === true, `addSettings answered ${JSON.stringify(added)}`)
  const reset = await ownerStack().resetSettings()
  check(Object.keys(reset.stack_variables ?? {}).length === 0, `resetSettings answered ${JSON.stringify(reset)}`)
})

await step('stack: share with an unregistered address answers as for any address', async () => {
  const res = await ownerStack().share(['unknown@compat.example.com'], { 'unknown@compat.example.com': [need(s.devRole, 'Developer role')] })
  check(res.notice === 'The invitation has been sent successfully.', `share answered ${JSON.stringify(res)}`)
})

await step('stack: transferOwnership answers the notice (the new owner accepts by link)', async () => {
  const res = await ownerStack().transferOwnership(DEV.email)
  check(/ownership will be transferred/i.test(res.notice ?? ''), `transferOwnership answered ${JSON.stringify(res)}`)
})

await step('management token: refused on the stack module and organization administration (MT-8)', async () => {
  const t = await ownerStack().managementToken().create({
    token: { name: 'org-compat', scope: [{ module: '$all', acl: { read: true, write: true } }], expires_on: null },
  })
  const tokenStack = () => mt.stack({ api_key: s.apiKey, management_token: t.token })
  await refused(() => tokenStack().fetch(), [403], { code: 162, message: MT8 })
  await refused(() => tokenStack().settings(), [403], { code: 162, message: MT8 })
  await refused(() => tokenStack().addSettings({ a: 1 }), [403], { code: 162, message: MT8 })
  await refused(() => tokenStack().transferOwnership(DEV.email), [403], { code: 162, message: MT8 })
  await refused(() => org(mt).stacks(), [403], { code: 162, message: MT8 })
  await refused(() => org(mt).roles(), [403], { code: 162, message: MT8 })
  await refused(() => org(mt).addUser({ users: { 'y@compat.example.com': ['member'] } }), [403], { code: 162, message: MT8 })
  await refused(() => org(mt).teams().fetchAll(), [403], { code: 162, message: MT8 })
  // The token still works where it may.
  const envs = await tokenStack().environment().query().find()
  check(Array.isArray(envs.items), 'the token could not list environments')
})

await step('user: update the profile', async () => {
  const user = await owner.getUser()
  user.first_name = 'Compat'
  const updated = await user.update()
  check(updated.first_name === 'Compat', `updated user is ${JSON.stringify(updated.first_name)}`)
})

await step('user: requestPassword answers the same notice; a bogus reset token is refused', async () => {
  const user = await owner.getUser()
  const res = await user.requestPassword()
  check(/If this email address exists/.test(res.notice ?? ''), `forgot_password answered ${JSON.stringify(res)}`)
  await refused(() => user.resetPassword({ resetPasswordToken: 'hwlk_bogus', password: 'Another-Passw0rd-9', passwordConfirm: 'Another-Passw0rd-9' }), [422], { code: 120 })
})

await step('organization: transferOwnership answers the notice', async () => {
  const res = await org(owner).transferOwnership(DEV.email)
  check(/ownership will be transferred/i.test(res.notice ?? ''), `transferOwnership answered ${JSON.stringify(res)}`)
})

if (SERVER_LOG) {
  await step('user: resetPassword with the emailed token (printed in the log); the old password and a reused token are refused', async () => {
    const invitee = newClient()
    await invitee.login({ email: INVITEE, password: INVITEE_PASSWORD })
    const user = await invitee.getUser()
    const seen = logTokens()
    await user.requestPassword()
    const [token] = await newLogToken(seen, 1)
    const next = 'Compat-Invitee-Reset-Passw0rd-4'
    const res = await user.resetPassword({ resetPasswordToken: token, password: next, passwordConfirm: next })
    check(typeof res.notice === 'string', `reset_password answered ${JSON.stringify(res)}`)
    await refused(() => newClient().login({ email: INVITEE, password: INVITEE_PASSWORD }), [401, 422])
    // The reset ended the invitee's sessions: sign in again with the new password, and try the
    // same token once more.
    const again = newClient()
    await again.login({ email: INVITEE, password: next })
    const me = await again.getUser()
    await refused(() => me.resetPassword({ resetPasswordToken: token, password: next, passwordConfirm: next }), [422], { code: 120 })
    await refused(() => user.update(), [401])
  })
}

finish()
