// Assets: folders, upload (file picker or drag and drop, with progress), grid and list views,
// image preview, replace, publish, delete (/v3/assets…).
import { api, upload } from '../api.js';
import { h, render, field, checkbox, button, errorBox, modal, confirmDialog, table, toast, fmtDate } from '../ui.js';

let view = 'grid';
const size = (n) => (n == null ? '—' : n < 1024 ? `${n} B` : n < 1048576 ? `${(n / 1024).toFixed(1)} KB` : `${(n / 1048576).toFixed(1)} MB`);
const isImage = (a) => /^image\/(png|jpe?g|gif|webp|avif)$/.test(a.content_type || '');

export async function show(main, app, { apiKey, rest }) {
  const folder = rest[0] || null;
  const msg = h('div', { id: 'assets-message' });
  let items;
  let here = null;
  try {
    const [list, f] = await Promise.all([
      api('GET', '/v3/assets', { stack: apiKey, query: { include_folders: true, folder: folder || undefined, limit: 100, include_count: true } }),
      folder ? api('GET', `/v3/assets/folders/${folder}`, { stack: apiKey }) : Promise.resolve(null),
    ]);
    items = list.assets || [];
    here = f?.asset || null;
  } catch (e) { render(main, h('h1', {}, 'Assets'), errorBox(e)); return; }
  const folders = items.filter((a) => a.is_dir);
  const files = items.filter((a) => !a.is_dir && (folder ? a.parent_uid === folder : !a.parent_uid));

  // Upload: a file input and a drop zone, one progress bar per file.
  const progress = h('div', { class: 'uploads', 'aria-live': 'polite' });
  const send = async (fileList) => {
    for (const file of fileList) {
      const bar = h('progress', { max: 1, value: 0, 'aria-label': `Uploading ${file.name}` });
      const line = h('div', { class: 'toolbar' }, h('span', {}, file.name), bar);
      progress.append(line);
      const fd = new FormData();
      fd.append('asset[upload]', file);
      if (folder) fd.append('asset[parent_uid]', folder);
      try {
        await upload('POST', '/v3/assets', fd, { stack: apiKey, onProgress: (p) => { bar.value = p; } });
        bar.value = 1;
      } catch (e) { line.append(errorBox(e)); return; }
    }
    toast('Uploaded.');
    app.refresh();
  };
  const input = h('input', { type: 'file', id: 'asset-upload', multiple: true });
  input.addEventListener('change', () => send([...input.files]));
  const drop = h('div', { class: 'dropzone', id: 'dropzone' }, field('Upload files', input, 'Or drop files here.'), progress);
  drop.addEventListener('dragover', (e) => { e.preventDefault(); drop.classList.add('over'); });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (e) => { e.preventDefault(); drop.classList.remove('over'); send([...e.dataTransfer.files]); });

  const folderName = h('input', { id: 'folder-name' });
  const newFolder = h('form', { class: 'toolbar' }, field('New folder', folderName), h('button', { type: 'submit', id: 'create-folder' }, 'Create folder'));
  newFolder.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    try {
      await api('POST', '/v3/assets/folders', { stack: apiKey, body: { asset: { name: folderName.value.trim(), parent_uid: folder || undefined } } });
      toast('Folder created.'); app.refresh();
    } catch (e) { render(msg, errorBox(e)); }
  });

  const toggle = (mode, label) => button(label, () => { view = mode; app.refresh(); }, { 'aria-pressed': String(view === mode), id: `view-${mode}` });
  const actions = (a) => [
    isImage(a) ? button('Preview', () => preview(a), { 'aria-label': `Preview ${a.filename}` }) : h('a', { href: a.url, download: a.filename }, 'Download'),
    replaceButton(a, apiKey, app, msg),
    button('Publish', () => publish(a, apiKey, msg), { 'aria-label': `Publish ${a.filename}` }),
    button('Delete', async () => {
      if (!(await confirmDialog('Delete this asset?', `“${a.filename}” is deleted.`))) return;
      try { await api('DELETE', `/v3/assets/${a.uid}`, { stack: apiKey }); app.refresh(); } catch (e) { render(msg, errorBox(e)); }
    }, { class: 'danger', 'aria-label': `Delete ${a.filename}` }),
  ];
  const folderLinks = folders.filter((f) => (folder ? f.parent_uid === folder : !f.parent_uid)).map((f) => h('li', {}, h('a', { href: `#/s/${apiKey}/assets/${f.uid}` }, `📁 ${f.name}`)));
  const body = view === 'grid'
    ? h('ul', { class: 'grid', id: 'asset-grid' }, files.map((a) => h('li', { class: 'tile', dataset: { uid: a.uid } },
      isImage(a) ? h('img', { src: a.url, alt: a.title || a.filename, loading: 'lazy' }) : h('div', { class: 'filetype' }, (a.content_type || 'file').split('/').pop()),
      h('div', { class: 'name' }, a.filename), h('div', { class: 'muted small' }, `${size(Number(a.file_size))} · v${a._version}`),
      h('div', { class: 'toolbar' }, actions(a)))))
    : table(['File', 'Type', 'Size', 'Version', 'Updated', 'Actions'], files.map((a) => h('tr', { dataset: { uid: a.uid } },
      h('th', { scope: 'row' }, a.filename), h('td', {}, a.content_type), h('td', {}, size(Number(a.file_size))), h('td', {}, String(a._version)),
      h('td', {}, fmtDate(a.updated_at)), h('td', { class: 'actions-cell' }, actions(a)))), { id: 'asset-table' });
  render(main, h('h1', {}, here ? `Assets: ${here.name}` : 'Assets'),
    h('nav', { 'aria-label': 'Folder path', class: 'muted' }, h('a', { href: `#/s/${apiKey}/assets` }, 'All assets'), here ? ` / ${here.name}` : ''),
    msg, drop, newFolder,
    folderLinks.length ? h('ul', { class: 'folders', id: 'folders' }, folderLinks) : null,
    h('div', { class: 'toolbar', role: 'group', 'aria-label': 'View' }, toggle('grid', 'Grid'), toggle('list', 'List'), h('span', { class: 'muted' }, `${files.length} file${files.length === 1 ? '' : 's'}`)),
    files.length ? body : h('p', { class: 'muted' }, 'No files here yet.'));
}

function preview(a) {
  return modal(a.filename, (close) => h('div', {},
    h('img', { src: a.url, alt: a.title || a.filename, class: 'preview', id: 'asset-preview' }),
    h('p', { class: 'muted' }, `${a.content_type} · ${size(Number(a.file_size))}`),
    h('div', { class: 'actions' }, button('Close', () => close(), { autofocus: true }))), { wide: true });
}

function replaceButton(a, apiKey, app, msg) {
  const input = h('input', { type: 'file', class: 'replace-input', hidden: true, 'aria-label': `Replace ${a.filename}` });
  input.addEventListener('change', async () => {
    if (!input.files[0]) return;
    const fd = new FormData();
    fd.append('asset[upload]', input.files[0]);
    try { await upload('PUT', `/v3/assets/${a.uid}`, fd, { stack: apiKey }); toast('Replaced.'); app.refresh(); } catch (e) { render(msg, errorBox(e)); }
  });
  return h('span', {}, input, button('Replace', () => input.click(), { 'aria-label': `Replace ${a.filename}`, dataset: { uid: a.uid } }));
}

async function publish(a, apiKey, msg) {
  const [{ environments }, { locales }] = await Promise.all([
    api('GET', '/v3/environments', { stack: apiKey }).catch(() => ({ environments: [] })),
    api('GET', '/v3/locales', { stack: apiKey }).catch(() => ({ locales: [] })),
  ]);
  const result = await modal(`Publish ${a.filename}`, (close) => {
    const envs = environments.map((e) => checkbox(e.name, { name: 'asset-env', value: e.name }));
    const locs = locales.map((l) => checkbox(l.code, { name: 'asset-locale', value: l.code, checked: true }));
    const m = h('div');
    const form = h('form', {}, h('fieldset', {}, h('legend', {}, 'Environments'), h('div', { class: 'checks' }, envs)),
      h('fieldset', {}, h('legend', {}, 'Locales'), h('div', { class: 'checks' }, locs)), m,
      h('div', { class: 'actions' }, button('Cancel', () => close(null)), h('button', { type: 'submit', class: 'primary', id: 'asset-publish' }, 'Publish')));
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const pick = (n) => [...form.querySelectorAll(`input[name="${n}"]:checked`)].map((c) => c.value);
      try {
        close(await api('POST', `/v3/assets/${a.uid}/publish`, { stack: apiKey, body: { asset: { environments: pick('asset-env'), locales: pick('asset-locale') } } }));
      } catch (e) { render(m, errorBox(e)); }
    });
    return form;
  });
  if (result) toast(result.notice || 'Published.');
  render(msg);
}
