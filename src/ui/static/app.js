// The Berth dashboard's page script. Plain DOM, no framework, nothing loaded from elsewhere.
// Text from the daemon is only ever set as textContent, never parsed as HTML.
'use strict';

const $app = document.getElementById('app');
let view = { stop() {} }; // the page on screen; stop() ends its timers and streams
let refresh = () => {}; // reloads the current list (called on events and by polling)

// ------------------------------------------------------------------ helpers

function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat(Infinity))
    if (c !== undefined && c !== null && c !== false) el.append(c instanceof Node ? c : String(c));
  return el;
}

function showError(message, notice = false) {
  document.getElementById('error-text').textContent = message;
  document.getElementById('error').className = notice ? 'error notice' : 'error';
  document.getElementById('error').hidden = false;
}
/** What a prune did: shown in the banner, but not as a failure. */
const notice = (message) => showError(message, true);
document.getElementById('error-close').addEventListener('click', () => {
  document.getElementById('error').hidden = true;
});

/** A call to the dashboard's API; a refusal throws the daemon's message. */
async function api(method, path, opts = {}) {
  const res = await fetch('/api/' + path, { method, signal: opts.signal, headers: { Accept: 'application/json' } });
  if (!res.ok) {
    let message = res.status + ' ' + res.statusText;
    try {
      message = (await res.json()).message || message;
    } catch {
      /* not JSON */
    }
    if (res.status === 401) message += ' — open the URL that `berth dashboard` printed';
    const e = new Error(message);
    e.status = res.status;
    throw e;
  }
  if (opts.stream) return res;
  const text = await res.text();
  return text ? JSON.parse(text) : undefined;
}

/** Runs a user action: errors go to the banner, lists reload after. */
async function act(fn) {
  document.getElementById('error').hidden = true;
  try {
    await fn();
  } catch (e) {
    showError(e.message);
  }
  refresh();
}

/** Reads a streamed answer line by line (NDJSON) or chunk by chunk (text). */
async function readStream(res, onChunk) {
  const reader = res.body.getReader();
  const dec = new TextDecoder();
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    onChunk(dec.decode(value, { stream: true }));
  }
}
function lines(onLine) {
  let buf = '';
  return (chunk) => {
    buf += chunk;
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      const l = buf.slice(0, i).trim();
      buf = buf.slice(i + 1);
      if (l) onLine(JSON.parse(l));
    }
  };
}

const enc = encodeURIComponent;
const table = (heads, rows, empty) =>
  rows.length
    ? h(
        'table',
        {},
        h(
          'thead',
          {},
          h(
            'tr',
            {},
            heads.map((t) => h('th', {}, t)),
          ),
        ),
        h('tbody', {}, rows),
      )
    : h('p', { class: 'muted' }, empty);
const state = (s) => h('span', { class: 'state ' + s }, s);
const btn = (label, onclick, cls) => h('button', { type: 'button', class: cls, onclick }, label);
const pretty = (v) => h('pre', { class: 'mono' }, JSON.stringify(v, null, 2));

function page(title, ...extra) {
  return h('h2', {}, title, h('span', { class: 'spacer' }), extra);
}

/** A list page: load() returns rows' elements; it reloads on events and every 5 s. */
function listPage(title, tools, load) {
  const body = h('div', {}, h('p', { class: 'muted' }, 'Loading…'));
  $app.replaceChildren(page(title, tools), body);
  let busy = false;
  const run = async () => {
    if (busy) return;
    busy = true;
    try {
      body.replaceChildren(await load());
    } catch (e) {
      showError(e.message);
    } finally {
      busy = false;
    }
  };
  run();
  const timer = setInterval(run, 5000);
  refresh = run;
  return {
    stop() {
      clearInterval(timer);
    },
  };
}

// ------------------------------------------------------------------ pages

const pages = {
  overview() {
    return listPage('Overview', [], async () => {
      const o = await api('GET', 'overview');
      const card = (big, label, href) =>
        h(
          'div',
          { class: 'card' },
          h('div', { class: 'big' }, href ? h('a', { href }, String(big)) : String(big)),
          h('div', { class: 'label' }, label),
        );
      return h(
        'div',
        {},
        h(
          'dl',
          { class: 'kv' },
          h('dt', {}, 'Engine'),
          h('dd', {}, `Berth ${o.version} (API ${o.apiVersion})`),
          h('dt', {}, 'Platform'),
          h('dd', {}, `${o.os}/${o.arch}, kernel ${o.kernel}`),
        ),
        h(
          'div',
          { class: 'cards' },
          card(o.containers.running, 'containers running', '#/containers'),
          card(o.containers.paused, 'paused', '#/containers'),
          card(o.containers.stopped, 'stopped', '#/containers'),
          card(o.images, 'images', '#/images'),
          card(o.volumes, 'volumes', '#/volumes'),
          card(o.networks, 'networks', '#/networks'),
        ),
        h('h2', {}, 'Disk use'),
        h(
          'div',
          { class: 'cards' },
          card(o.disk.images, 'images (layers)'),
          card(o.disk.containers, 'containers (writable layers)'),
          card(o.disk.volumes, 'volumes'),
          card(o.disk.buildCache, 'build cache'),
        ),
      );
    });
  },

  containers() {
    const prune = pruneButton(
      'containers',
      'Prune stopped',
      'Remove all stopped containers?',
      'ContainersDeleted',
      'containers',
    );
    return listPage('Containers', [prune], async () => {
      const list = await api('GET', 'containers');
      return table(
        ['Name', 'Image', 'State', 'Status', 'Ports', 'Created', 'Actions'],
        list.map((c) =>
          h(
            'tr',
            {},
            h(
              'td',
              {},
              h('a', { href: '#/containers/' + enc(c.id) }, c.name),
              h('div', { class: 'muted mono' }, c.shortId),
            ),
            h('td', { class: 'mono' }, c.image),
            h('td', {}, state(c.state)),
            h('td', {}, c.status),
            h('td', { class: 'mono' }, c.ports),
            h('td', { title: c.createdAt }, c.created),
            h('td', { class: 'actions' }, containerActions(c)),
          ),
        ),
        'No containers.',
      );
    });
  },

  container(id) {
    return containerDetail(id);
  },

  images() {
    const prune = pruneButton(
      'images',
      'Prune dangling',
      'Remove all dangling images?',
      'ImagesDeleted',
      'image entries',
    );
    const panel = h('div', { class: 'panel' });
    const v = listPage('Images', [prune], async () => {
      const list = await api('GET', 'images');
      return h(
        'div',
        {},
        table(
          ['Repository', 'Tag', 'Image ID', 'Size', 'Created', 'Used by', 'Actions'],
          list.map((i) =>
            h(
              'tr',
              {},
              h('td', { class: 'mono' }, i.repository),
              h('td', { class: 'mono' }, i.tag),
              h('td', { class: 'mono', title: i.id }, i.shortId),
              h('td', {}, i.size),
              h('td', {}, i.created),
              h('td', {}, i.containers > 0 ? `${i.containers} container${i.containers === 1 ? '' : 's'}` : '—'),
              h(
                'td',
                { class: 'actions' },
                btn('History', () =>
                  show(panel, `History of ${i.ref}`, async () =>
                    historyTable(await api('GET', 'images/' + enc(i.id) + '/history')),
                  ),
                ),
                btn('Inspect', () =>
                  show(panel, `Image ${i.ref}`, async () => pretty(await api('GET', 'images/' + enc(i.id)))),
                ),
                btn('Remove', () => removeImage(i), 'danger'),
              ),
            ),
          ),
          'No images.',
        ),
        panel,
      );
    });
    return v;
  },

  volumes() {
    const panel = h('div', { class: 'panel' });
    const prune = pruneButton(
      'volumes',
      'Prune unused',
      'Remove all unused anonymous volumes?',
      'VolumesDeleted',
      'volumes',
    );
    return listPage('Volumes', [prune], async () => {
      const list = await api('GET', 'volumes');
      return h(
        'div',
        {},
        table(
          ['Name', 'Driver', 'Created', 'Mountpoint', 'Actions'],
          list.map((v) =>
            h(
              'tr',
              {},
              h('td', { class: 'mono' }, v.name),
              h('td', {}, v.driver),
              h('td', {}, v.created),
              h('td', { class: 'mono' }, v.mountpoint),
              h(
                'td',
                { class: 'actions' },
                btn('Inspect', () =>
                  show(panel, `Volume ${v.name}`, async () => pretty(await api('GET', 'volumes/' + enc(v.name)))),
                ),
                btn(
                  'Remove',
                  () => confirm(`Remove volume ${v.name}?`) && act(() => api('DELETE', 'volumes/' + enc(v.name))),
                  'danger',
                ),
              ),
            ),
          ),
          'No volumes.',
        ),
        panel,
      );
    });
  },

  networks() {
    const panel = h('div', { class: 'panel' });
    const prune = pruneButton('networks', 'Prune unused', 'Remove all unused networks?', 'NetworksDeleted', 'networks');
    return listPage('Networks', [prune], async () => {
      const list = await api('GET', 'networks');
      return h(
        'div',
        {},
        table(
          ['Name', 'Network ID', 'Driver', 'Scope', 'Subnet', 'Containers', 'Actions'],
          list.map((n) =>
            h(
              'tr',
              {},
              h('td', { class: 'mono' }, n.name),
              h('td', { class: 'mono', title: n.id }, n.shortId),
              h('td', {}, n.driver),
              h('td', {}, n.scope),
              h('td', { class: 'mono' }, n.subnet),
              h('td', {}, String(n.containers)),
              h(
                'td',
                { class: 'actions' },
                btn('Inspect', () =>
                  show(panel, `Network ${n.name}`, async () => pretty(await api('GET', 'networks/' + enc(n.id)))),
                ),
                n.builtin
                  ? null
                  : btn(
                      'Remove',
                      () => confirm(`Remove network ${n.name}?`) && act(() => api('DELETE', 'networks/' + enc(n.id))),
                      'danger',
                    ),
              ),
            ),
          ),
          'No networks.',
        ),
        panel,
      );
    });
  },

  events() {
    const body = h('div', {});
    const draw = () =>
      body.replaceChildren(
        table(
          ['Time', 'Type', 'Action', 'Name', 'ID', 'Attributes'],
          eventLog
            .slice()
            .reverse()
            .map((e) =>
              h(
                'tr',
                {},
                h('td', { class: 'mono' }, new Date(e.time).toLocaleTimeString()),
                h('td', {}, e.type),
                h('td', {}, e.action),
                h('td', {}, e.name),
                h('td', { class: 'mono', title: e.id }, e.id.replace(/^sha256:/, '').slice(0, 12)),
                h('td', { class: 'muted' }, e.attributes),
              ),
            ),
          'No events yet (the feed runs while this tab is visible). Start or stop a container to see some.',
        ),
      );
    $app.replaceChildren(page('Events', h('span', { class: 'muted' }, 'live, newest first')), body);
    draw();
    refresh = draw;
    return { stop() {} };
  },
};

/** A list's prune: asks first, then says what went and, where the daemon counts it, the space won back. */
function pruneButton(kind, label, question, key, noun) {
  return btn(
    label,
    () =>
      confirm(question) &&
      act(async () => {
        const r = await api('POST', kind + '/prune');
        notice(`Removed ${(r[key] || []).length} ${noun}` + (r.reclaimed ? `, reclaimed ${r.reclaimed}.` : '.'));
      }),
    'danger',
  );
}

function containerActions(c) {
  const id = enc(c.id);
  const post = (verb) => () => act(() => api('POST', `containers/${id}/${verb}`));
  const out = [];
  if (c.state === 'running' || c.state === 'restarting')
    out.push(
      btn('Stop', post('stop')),
      btn('Restart', post('restart')),
      btn('Pause', post('pause')),
      btn('Kill', post('kill'), 'danger'),
    );
  else if (c.state === 'paused') out.push(btn('Unpause', post('unpause')), btn('Kill', post('kill'), 'danger'));
  else out.push(btn('Start', post('start')));
  out.push(btn('Remove', () => removeContainer(c), 'danger'));
  return out;
}

function removeContainer(c) {
  const live = c.state === 'running' || c.state === 'paused' || c.state === 'restarting';
  const question = live
    ? `${c.name} is ${c.state}. Force-remove it (it will be killed)?`
    : `Remove container ${c.name}?`;
  if (!confirm(question)) return;
  act(async () => {
    await api('DELETE', `containers/${enc(c.id)}${live ? '?force=1' : ''}`);
    if (location.hash.startsWith('#/containers/')) location.hash = '#/containers';
  });
}

function removeImage(i) {
  if (!confirm(`Remove image ${i.ref}?`)) return;
  act(async () => {
    try {
      await api('DELETE', 'images/' + enc(i.ref));
    } catch (e) {
      // Docker's refusal (in use, or tagged more than once) is shown; forcing is the user's call
      if (e.status === 409 && confirm(`${e.message}\n\nForce the removal?`))
        await api('DELETE', 'images/' + enc(i.ref) + '?force=1');
      else throw e;
    }
  });
}

function historyTable(list) {
  return table(
    ['Image', 'Created', 'Created by', 'Size'],
    list.map((x) =>
      h(
        'tr',
        {},
        h(
          'td',
          { class: 'mono' },
          x.Id && x.Id !== '<missing>' ? x.Id.replace(/^sha256:/, '').slice(0, 12) : '<missing>',
        ),
        h('td', {}, x.created),
        h('td', { class: 'mono' }, x.CreatedBy),
        h('td', {}, x.size),
      ),
    ),
    'No history.',
  );
}

async function show(panel, title, load) {
  panel.replaceChildren(
    h(
      'h2',
      {},
      title,
      h('span', { class: 'spacer' }),
      btn('Close', () => panel.replaceChildren()),
    ),
    h('p', { class: 'muted' }, 'Loading…'),
  );
  try {
    panel.replaceChildren(panel.firstChild, await load());
  } catch (e) {
    showError(e.message);
    panel.replaceChildren();
  }
  panel.scrollIntoView({ behavior: 'smooth', block: 'nearest' });
}

// ------------------------------------------------------------------ container detail

function containerDetail(id) {
  const head = h('div', {});
  const tabs = h('div', { class: 'tabs' });
  const body = h('div', {});
  $app.replaceChildren(h('p', {}, h('a', { href: '#/containers' }, '← Containers')), head, tabs, body);
  let tab = 'logs';
  let stopTab = () => {};
  let summary;

  const loadHead = async () => {
    try {
      const list = await api('GET', 'containers');
      summary = list.find((c) => c.id === id || c.name === id || c.id.startsWith(id));
      if (!summary) {
        head.replaceChildren(page('Container ' + id + ' (gone)'));
        return;
      }
      head.replaceChildren(
        page(
          h(
            'span',
            { class: 'title' },
            summary.name,
            state(summary.state),
            h('span', { class: 'muted' }, summary.status),
          ),
          containerActions(summary),
        ),
        h(
          'dl',
          { class: 'kv' },
          h('dt', {}, 'ID'),
          h('dd', { class: 'mono' }, summary.id),
          h('dt', {}, 'Image'),
          h('dd', { class: 'mono' }, summary.image),
          h('dt', {}, 'Command'),
          h('dd', { class: 'mono' }, summary.command),
          h('dt', {}, 'Ports'),
          h('dd', { class: 'mono' }, summary.ports || '—'),
          h('dt', {}, 'Created'),
          h('dd', { title: summary.createdAt }, summary.created),
        ),
      );
    } catch (e) {
      showError(e.message);
    }
  };

  const tabsDef = {
    logs: () => logsTab(id, body),
    inspect: () => {
      once(body, async () => pretty(await api('GET', 'containers/' + enc(id))));
      return () => {};
    },
    top: () => topTab(id, body),
    stats: () => statsTab(id, body),
  };
  const select = (name) => {
    stopTab();
    tab = name;
    tabs.replaceChildren(
      ...Object.keys(tabsDef).map((n) =>
        h(
          'button',
          { type: 'button', class: n === tab ? 'active' : '', onclick: () => select(n) },
          n[0].toUpperCase() + n.slice(1),
        ),
      ),
    );
    stopTab = tabsDef[name]();
  };
  loadHead();
  select(tab);
  const timer = setInterval(loadHead, 5000);
  refresh = loadHead;
  return {
    stop() {
      clearInterval(timer);
      stopTab();
    },
  };
}

async function once(body, load) {
  body.replaceChildren(h('p', { class: 'muted' }, 'Loading…'));
  try {
    body.replaceChildren(await load());
  } catch (e) {
    body.replaceChildren(h('p', { class: 'muted' }, e.message));
  }
}

function logsTab(id, body) {
  const out = h('pre', { class: 'mono' });
  const tail = h('input', { type: 'number', min: '0', value: '200' });
  const follow = h('input', { type: 'checkbox', checked: true });
  let ac;
  const start = async () => {
    ac?.abort();
    ac = new AbortController();
    out.textContent = '';
    const mine = ac;
    try {
      const res = await api(
        'GET',
        `containers/${enc(id)}/logs?tail=${enc(tail.value || 'all')}${follow.checked ? '&follow=1' : ''}`,
        { stream: true, signal: mine.signal },
      );
      await readStream(res, (text) => {
        const atBottom = out.scrollTop + out.clientHeight >= out.scrollHeight - 4;
        out.append(text);
        if (atBottom) out.scrollTop = out.scrollHeight;
      });
      if (!out.textContent) out.textContent = '(no output)';
    } catch (e) {
      if (!mine.signal.aborted) out.append(`\n[${e.message}]\n`);
    }
  };
  body.replaceChildren(
    h(
      'div',
      { class: 'toolbar' },
      h('label', {}, 'Last ', tail, ' lines'),
      h('label', {}, follow, ' follow live'),
      btn('Reload', start),
    ),
    out,
  );
  tail.addEventListener('change', start);
  follow.addEventListener('change', start);
  start();
  return () => ac?.abort();
}

function topTab(id, body) {
  const load = () =>
    once(body, async () => {
      const t = await api('GET', `containers/${enc(id)}/top`);
      return table(
        t.Titles,
        t.Processes.map((p) =>
          h(
            'tr',
            {},
            p.map((x) => h('td', { class: 'mono' }, x)),
          ),
        ),
        'No processes.',
      );
    });
  load();
  const timer = setInterval(load, 5000);
  return () => clearInterval(timer);
}

function statsTab(id, body) {
  const ac = new AbortController();
  const bar = (pct) => {
    const fill = h('span', {});
    // a style property, not a style attribute: the page's CSP allows no inline styles
    fill.style.width = `${Math.min(100, Math.max(0, pct)).toFixed(1)}%`;
    return h('span', { class: 'bar' }, fill);
  };
  body.replaceChildren(h('p', { class: 'muted' }, 'Waiting for the first sample…'));
  (async () => {
    try {
      const res = await api('GET', `containers/${enc(id)}/stats`, { stream: true, signal: ac.signal });
      await readStream(
        res,
        lines((s) => {
          if (s.error) throw new Error(s.error);
          body.replaceChildren(
            h(
              'dl',
              { class: 'kv' },
              h('dt', {}, 'CPU'),
              h('dd', {}, s.cpu, bar(s.cpuValue)),
              h('dt', {}, 'Memory'),
              h('dd', {}, `${s.mem} (${s.memPct})`, bar(s.memPctValue)),
              h('dt', {}, 'Network I/O'),
              h('dd', {}, s.net),
              h('dt', {}, 'Block I/O'),
              h('dd', {}, s.block),
              h('dt', {}, 'PIDs'),
              h('dd', {}, s.pids),
            ),
          );
        }),
      );
      body.append(h('p', { class: 'muted' }, 'The container is not running: no more samples.'));
    } catch (e) {
      if (!ac.signal.aborted) body.replaceChildren(h('p', { class: 'muted' }, e.message));
    }
  })();
  return () => ac.abort();
}

// ------------------------------------------------------------------ events feed and routing

const eventLog = [];
let eventsTimer;
let eventsAbort;
function listenEvents() {
  const live = document.getElementById('live');
  let pending;
  eventsAbort?.abort();
  const ac = new AbortController();
  eventsAbort = ac;
  (async () => {
    try {
      const res = await api('GET', 'events', { stream: true, signal: ac.signal });
      await readStream(
        res,
        lines((e) => {
          if (e.live) {
            live.className = 'live on';
            live.textContent = 'live';
            return;
          }
          eventLog.push(e);
          if (eventLog.length > 500) eventLog.shift();
          // one reload for a burst of events (a compose up sends dozens)
          clearTimeout(pending);
          pending = setTimeout(() => refresh(), 250);
        }),
      );
    } catch {
      /* reconnect below */
    }
    if (ac.signal.aborted) return;
    live.className = 'live off';
    live.textContent = 'reconnecting';
    clearTimeout(eventsTimer);
    eventsTimer = setTimeout(listenEvents, 3000);
  })();
}

// A hidden tab lets go of its streams and timers: browsers allow six connections per host
// across all tabs, and every open dashboard tab would otherwise hold one or two for ever.
document.addEventListener('visibilitychange', () => {
  if (document.hidden) {
    view.stop();
    view = { stop() {} };
    refresh = () => {};
    clearTimeout(eventsTimer);
    eventsAbort?.abort();
    const live = document.getElementById('live');
    live.className = 'live off';
    live.textContent = 'paused';
  } else {
    route();
    listenEvents();
  }
});

function route() {
  view.stop();
  refresh = () => {};
  const [, name = 'overview', arg] = (location.hash || '#/overview').split('/');
  for (const a of document.querySelectorAll('#nav a')) a.classList.toggle('active', a.dataset.page === name);
  const id = arg === undefined ? undefined : decodeURIComponent(arg);
  view = name === 'containers' && id ? pages.container(id) : (pages[name] || pages.overview)();
}

window.addEventListener('hashchange', route);
route();
listenEvents();
