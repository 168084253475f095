// Sign in: email and password, then the six-digit code when the account has two-factor on;
// or single sign-on: a work email (or an organization uid) names the organization whose
// identity provider signs the person in (GET /v3/sso/discover, then the browser goes to the
// server's /sso/start, which sends it on to the provider).
import { api, session } from '../api.js';
import { h, render, field, errorBox } from '../ui.js';

// What the server's `/?sso_error=<code>` means, for people.
const SSO_ERRORS = {
  state: 'The sign-in took too long, or was started in another tab or browser. Please sign in with SSO again.',
  issuer_unreachable: "Your organization's identity provider could not be reached. Try again in a moment; if it keeps happening, tell your administrator.",
  discovery: "Your organization's identity provider could not be reached. Try again in a moment; if it keeps happening, tell your administrator.",
  signature: "The identity provider's answer could not be verified (its signature did not match). Your administrator should check the SSO configuration.",
  audience: "The identity provider's answer was meant for another application. Your administrator should check the SSO client ID.",
  issuer: "The identity provider's answer came from an unexpected issuer. Your administrator should check the SSO configuration.",
  expired: "The identity provider's answer had expired. Check that your computer's clock is right, then sign in with SSO again.",
  nonce: "The identity provider's answer did not belong to this sign-in. Please sign in with SSO again.",
  token: 'The sign-in could not be completed with the identity provider. Please try again; if it keeps happening, tell your administrator.',
  token_exchange: 'The sign-in could not be completed with the identity provider. Please try again; if it keeps happening, tell your administrator.',
  domain_not_allowed: "Your email address's domain is not allowed to sign in to this organization. Sign in with your work account, or ask your administrator to allow your domain.",
  email_missing: 'The identity provider did not tell us your email address. Your administrator should check the SSO scopes and email claim.',
  email_not_verified: 'The identity provider has not verified your email address. Verify it there, then sign in again.',
  provider_error: 'The identity provider did not sign you in (it refused or the sign-in was cancelled).',
  access_denied: 'The sign-in was cancelled at the identity provider.',
  not_configured: 'Single sign-on is not set up (or is turned off) for this organization.',
  sso_disabled: 'Single sign-on is turned off for this organization.',
  disabled: 'Single sign-on is turned off for this organization.',
  account_disabled: 'Your account is disabled. Ask your administrator.',
  account_inactive: 'Your account is disabled. Ask your administrator.',
  issuer_mismatch: "The identity provider's settings name another issuer than the one configured. Your administrator should check the SSO configuration.",
  token_invalid: "The identity provider's answer could not be read or lacked what is needed. Your administrator should check the SSO configuration.",
  email: 'The identity provider did not give a verified email address. Your administrator should check the SSO scopes and email claim.',
  account_exists: "An account with your email address already exists here and is not a member of this organization, so it cannot be linked to your provider's sign-in. Ask your administrator to invite that account.",
  public_url: "This server does not know its public address, so single sign-on cannot finish. The operator should set --public-url (HEADWATER_PUBLIC_URL).",
  server_error: 'Something went wrong on this server while signing you in. Please try again; the operator can see the reason in the server log.',
};

export function ssoErrorMessage(code) {
  return SSO_ERRORS[code] || 'Single sign-on failed. Please try again; if it keeps happening, tell your administrator.';
}

export function show(main, app) {
  const email = h('input', { type: 'email', id: 'email', autocomplete: 'username', required: true });
  const password = h('input', { type: 'password', id: 'password', autocomplete: 'current-password', required: true });
  const code = h('input', { id: 'tfa', inputmode: 'numeric', autocomplete: 'one-time-code', pattern: '[0-9]{6}', maxlength: 6 });
  const codeField = field('Two-factor code', code, 'The 6-digit code from your authenticator app.');
  codeField.hidden = true;
  const msg = h('div', { id: 'signin-message' });
  const submit = h('button', { type: 'submit', class: 'primary' }, 'Sign in');
  const form = h('form', { 'aria-labelledby': 'signin-title' },
    field('Email', email), field('Password', password), codeField, msg, submit);

  const ssoId = h('input', { id: 'sso-id', autocomplete: 'username', required: true, placeholder: 'you@company.com' });
  const ssoMsg = h('div', { id: 'sso-message' });
  const ssoSubmit = h('button', { type: 'submit', id: 'sso-submit' }, 'Sign in with SSO');
  const ssoForm = h('form', { 'aria-labelledby': 'sso-title', id: 'sso-form' },
    h('h2', { id: 'sso-title' }, 'Single sign-on'),
    field('Work email or organization ID', ssoId, "Your organization's identity provider signs you in."),
    ssoMsg, ssoSubmit);

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    submit.disabled = true;
    render(msg);
    const user = { email: email.value.trim(), password: password.value };
    if (!codeField.hidden && code.value.trim()) user.tfa_token = code.value.trim();
    try {
      const r = await api('POST', '/v3/user-session', { body: { user }, anonymous: true });
      session.token = r.user.authtoken;
      session.cookie = false;
      delete r.user.authtoken;
      session.user = r.user;
      password.value = '';
      app.org = null;
      app.go('/');
    } catch (e) {
      if (e.body && e.body.tfa_type && codeField.hidden) {
        codeField.hidden = false;
        render(msg, h('p', { class: 'info', role: 'status' }, e.message));
        code.focus();
      } else {
        render(msg, errorBox(e));
        // Password sign-in refused because the organization enforces single sign-on: offer it.
        if (e.body && Number(e.body.error_code) === 151) {
          ssoId.value = user.email;
          render(ssoMsg, h('p', { class: 'info', role: 'status' }, 'Your organization signs you in through its identity provider: continue with SSO.'));
          ssoSubmit.focus();
        }
      }
    } finally {
      submit.disabled = false;
    }
  });

  ssoForm.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const v = ssoId.value.trim();
    if (!v) return;
    ssoSubmit.disabled = true;
    render(ssoMsg);
    try {
      const query = v.includes('@') ? { email: v } : { org_uid: v };
      const { sso } = await api('GET', '/v3/sso/discover', { query, anonymous: true });
      render(ssoMsg, h('p', { class: 'info', role: 'status', id: 'sso-redirecting' }, `Taking you to the identity provider of ${sso.org_name || 'your organization'}…`));
      // A full navigation: the server's /sso/start sends the browser on to the provider.
      location.assign(sso.start_url);
    } catch (e) {
      ssoSubmit.disabled = false;
      if (e.status === 404) {
        render(ssoMsg, h('div', { class: 'error', role: 'alert' },
          h('strong', {}, v.includes('@')
            ? `No organization signs in ${v.slice(v.indexOf('@') + 1)} accounts with SSO.`
            : 'No organization with single sign-on has that ID.'),
          h('p', {}, 'Check the address, or sign in with your password above.')));
      } else {
        render(ssoMsg, errorBox(e));
      }
    }
  });

  const failed = app.ssoError
    ? h('div', { class: 'error', role: 'alert', id: 'sso-error' },
      h('strong', {}, 'Single sign-on did not work.'), ' ', ssoErrorMessage(app.ssoError),
      h('p', { class: 'small' }, 'Code: ', h('code', {}, app.ssoError)))
    : null;
  app.ssoError = null; // shown once
  render(main, h('div', { class: 'card narrow signin' },
    h('h1', { id: 'signin-title' }, 'Sign in to Headwater'),
    failed, form, h('p', { class: 'or', 'aria-hidden': 'true' }, 'or'), ssoForm));
  email.focus();
}
