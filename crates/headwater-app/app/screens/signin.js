// Sign in: email and password, then the six-digit code when the account has two-factor on.
import { api, session } from '../api.js';
import { h, render, field, errorBox } from '../ui.js';

export function show(main, app) {
  const email = h('input', { type: 'email', id: 'email', autocomplete: 'username', required: true });
  const password = h('input', { type: 'password', id: 'password', autocomplete: 'current-password', required: true });
  const code = h('input', { id: 'tfa', inputmode: 'numeric', autocomplete: 'one-time-code', pattern: '[0-9]{6}', maxlength: 6 });
  const codeField = field('Two-factor code', code, 'The 6-digit code from your authenticator app.');
  codeField.hidden = true;
  const msg = h('div', { id: 'signin-message' });
  const submit = h('button', { type: 'submit', class: 'primary' }, 'Sign in');
  const form = h('form', { class: 'card narrow', 'aria-labelledby': 'signin-title' },
    h('h1', { id: 'signin-title' }, 'Sign in to Headwater'),
    field('Email', email), field('Password', password), codeField, msg, submit);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    submit.disabled = true;
    render(msg);
    const user = { email: email.value.trim(), password: password.value };
    if (!codeField.hidden && code.value.trim()) user.tfa_token = code.value.trim();
    try {
      const r = await api('POST', '/v3/user-session', { body: { user }, anonymous: true });
      session.token = r.user.authtoken;
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
      }
    } finally {
      submit.disabled = false;
    }
  });
  render(main, form);
  email.focus();
}
