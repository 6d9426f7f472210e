// dialog-games dashboard: plain browser JavaScript over the JSON API (/api/...), charts by Chart.js.
'use strict';

const REFRESH_MS = 3000;
const COLORS = ['#1565c0', '#ef6c00', '#2e7d32', '#6a1b9a', '#c62828', '#00838f', '#9e9d24', '#4e342e'];
const charts = {};
const PAGE = 50;
const state = { gameId: null, gamesRequest: 0, offset: 0 };

const $ = (sel) => document.querySelector(sel);
function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'class') node.className = v;
    else if (k.startsWith('data-')) node.setAttribute(k, v);
    else node[k] = v;
  }
  for (const c of children) node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return node;
}
const pct = (x) => `${(100 * x).toFixed(1)}%`;
const usd = (x) => (x === 0 ? '$0' : `$${x < 0.01 ? x.toPrecision(2) : x.toFixed(4)}`);
const num = (x) => (Number.isInteger(x) ? String(x) : x.toFixed(1));
const minuteLabel = (ms) => new Date(ms).toISOString().slice(11, 16);

async function getJson(path) {
  const res = await fetch(path, { credentials: 'same-origin' });
  const body = await res.json();
  if (!res.ok) throw new Error(body.error || `HTTP ${res.status}`);
  return body;
}

function chart(id, type, options = {}) {
  if (!charts[id]) {
    charts[id] = new Chart(document.getElementById(id), {
      type,
      data: { labels: [], datasets: [] },
      options: { animation: false, responsive: true, maintainAspectRatio: false, spanGaps: true, interaction: { mode: 'index', intersect: false }, ...options },
    });
  }
  return charts[id];
}

function renderCharts(overview) {
  const { fromMs, toMs } = overview.window;
  const minutes = [];
  for (let m = fromMs; m < toMs; m += 60000) minutes.push(m);
  const labels = minutes.map(minuteLabel);
  const iterations = [...new Set(overview.series.map((p) => p.iteration))].sort((a, b) => a - b);
  const at = new Map(overview.series.map((p) => [`${p.minuteStartMs}/${p.iteration}`, p]));
  const total = (m) => overview.series.filter((p) => p.minuteStartMs === m);

  const success = chart('chart-success', 'line', { scales: { y: { min: 0, max: 1, ticks: { callback: (v) => pct(v) } } } });
  success.data.labels = labels;
  success.data.datasets = iterations.map((it, i) => ({
    label: `iteration ${it}`,
    borderColor: COLORS[i % COLORS.length],
    backgroundColor: COLORS[i % COLORS.length],
    data: minutes.map((m) => {
      const p = at.get(`${m}/${it}`);
      return p && p.games > 0 ? p.succeeded / p.games : null;
    }),
  }));
  success.update();
  const legend = $('#success-legend');
  legend.replaceChildren(
    ...iterations.map((it) => {
      const row = overview.comparison.filter((r) => r.iteration === it);
      const games = row.reduce((s, r) => s + r.games, 0);
      const ok = row.reduce((s, r) => s + r.succeeded, 0);
      return el('li', { 'data-iteration': String(it) }, `iteration ${it}: ${games ? pct(ok / games) : '–'} of ${games}`);
    }),
  );

  const now = overview.nowMs;
  const throughput = chart('chart-throughput', 'line', {
    scales: {
      y: { min: 0, title: { display: true, text: 'games/s' } },
      calls: { position: 'right', min: 0, grid: { drawOnChartArea: false }, title: { display: true, text: 'model calls/s' } },
    },
  });
  throughput.data.labels = labels;
  // The current minute is still filling: rates divide by the seconds it has had so far.
  const perSecond = (m, pick) => total(m).reduce((s, p) => s + pick(p), 0) / (now >= m && now < m + 60000 ? Math.max(1, (now - m) / 1000) : 60);
  throughput.data.datasets = [
    { label: 'games/s', borderColor: COLORS[0], backgroundColor: COLORS[0], data: minutes.map((m) => perSecond(m, (p) => p.games)) },
    {
      label: 'model calls/s',
      borderColor: COLORS[5],
      backgroundColor: COLORS[5],
      borderDash: [6, 4],
      yAxisID: 'calls',
      data: minutes.map((m) => perSecond(m, (p) => p.modelCalls)),
    },
  ];
  throughput.update();

  const reasons = [...new Set(overview.series.flatMap((p) => Object.keys(p.failures)))].sort();
  const failures = chart('chart-failures', 'bar', { scales: { x: { stacked: true }, y: { stacked: true, min: 0 } } });
  failures.data.labels = labels;
  failures.data.datasets = reasons.map((r, i) => ({
    label: r,
    backgroundColor: COLORS[(i + 3) % COLORS.length],
    data: minutes.map((m) => total(m).reduce((s, p) => s + (p.failures[r] || 0), 0)),
  }));
  failures.update();

  const cost = chart('chart-cost', 'line', { scales: { y: { min: 0 } } });
  cost.data.labels = labels;
  cost.data.datasets = [
    {
      label: 'USD per kept game',
      borderColor: COLORS[2],
      data: minutes.map((m) => {
        const ps = total(m);
        const kept = ps.reduce((s, p) => s + p.kept, 0);
        return kept > 0 ? ps.reduce((s, p) => s + p.costUsd, 0) / kept : null;
      }),
    },
  ];
  cost.update();
}

function renderTables(overview) {
  const t = overview.totals;
  $('#totals').replaceChildren(
    ...[
      ['games', t.games],
      ['success rate', pct(t.successRate)],
      ['kept', t.kept],
      ['questions to success', num(t.avgQuestionsToSuccess)],
      ['tokens / game', num(t.tokensPerGame)],
      ['cost / kept game', usd(t.costPerKept)],
    ].map(([k, v]) => el('div', { class: 'card', 'data-total': k }, el('b', {}, v), el('span', {}, k))),
  );
  $('#comparison tbody').replaceChildren(
    ...overview.comparison.map((r) =>
      el(
        'tr',
        { 'data-iteration': String(r.iteration) },
        el('td', {}, r.iteration),
        el('td', {}, r.questionerModel),
        el('td', {}, r.answererModel),
        el('td', {}, r.dataset),
        el('td', { class: 'num' }, r.numCandidates),
        el('td', { class: 'num', 'data-col': 'games' }, r.games),
        el('td', { class: 'num', 'data-col': 'success' }, pct(r.successRate)),
        el('td', { class: 'num' }, r.kept),
        el('td', { class: 'num' }, num(r.avgQuestionsToSuccess)),
        el('td', { class: 'num' }, num(r.tokensPerGame)),
        el('td', { class: 'num' }, usd(r.costPerGame)),
        el('td', { class: 'num' }, usd(r.costPerKept)),
      ),
    ),
  );
  const pairs = (id, obj, none) => {
    const entries = Object.entries(obj);
    $(id + ' tbody').replaceChildren(
      ...(entries.length ? entries.map(([k, v]) => el('tr', {}, el('td', {}, k), el('td', { class: 'num' }, v))) : [el('tr', {}, el('td', {}, none))]),
    );
  };
  pairs('#failures', overview.failuresByReason, 'no failures');
  pairs('#rejections', overview.filterRejections, 'no rejections');
  pairs('#to-success', Object.fromEntries(overview.turnsToSuccess.map((r) => [`${r.questions} questions`, r.games])), 'no successes yet');
}

function fillSelect(select, values, keep) {
  const current = keep ? select.value : '';
  select.replaceChildren(el('option', { value: '' }, 'any'), ...values.map((v) => el('option', { value: String(v) }, String(v))));
  select.value = values.map(String).includes(current) ? current : '';
}

async function refreshFacets() {
  const f = await getJson('/api/facets');
  const form = $('#filters');
  fillSelect(form.elements.iteration, f.iterations, true);
  fillSelect(form.elements.run, f.runs, true);
  fillSelect(form.elements.model, f.models, true);
  fillSelect(form.elements.reason, f.failureReasons, true);
  const run = $('#run-filter');
  const current = run.value;
  run.replaceChildren(el('option', { value: '' }, 'all runs'), ...f.runs.map((r) => el('option', { value: r }, r)));
  run.value = f.runs.includes(current) ? current : '';
}

async function refreshOverview() {
  const params = new URLSearchParams({ minutes: $('#window').value });
  if ($('#run-filter').value) params.set('run', $('#run-filter').value);
  const overview = await getJson(`/api/overview?${params}`);
  renderTables(overview);
  renderCharts(overview);
  $('#status').textContent = `live · updated ${new Date(overview.nowMs).toISOString().slice(11, 19)} UTC`;
  document.body.dataset.loaded = 'true';
}

async function refreshGames() {
  const params = new URLSearchParams();
  for (const [k, v] of new FormData($('#filters'))) if (v) params.set(k, v);
  params.set('limit', String(PAGE));
  params.set('offset', String(state.offset));
  // Filters change faster than answers arrive: only the newest request may fill the table.
  const request = ++state.gamesRequest;
  const list = await getJson(`/api/games?${params}`);
  if (request !== state.gamesRequest) return;
  const shown = list.games.length ? `${list.offset + 1}–${list.offset + list.games.length}` : 'none';
  $('#games-count').textContent = `${list.total} games match (${shown} shown, newest first) `;
  $('#newer').disabled = list.offset === 0;
  $('#older').disabled = list.offset + list.games.length >= list.total;
  $('#games tbody').replaceChildren(
    ...list.games.map((g) => {
      const row = el(
        'tr',
        { 'data-game-id': g.gameId, 'data-verdict': g.verdict },
        el('td', {}, el('code', {}, g.gameId.slice(-12))),
        el('td', {}, g.iteration),
        el('td', {}, `${g.questionerModel} / ${g.answererModel}`),
        el('td', { class: 'num' }, g.questions),
        el('td', { class: g.verdict }, g.verdict),
        el('td', {}, g.failureReason || ''),
        el('td', {}, g.kept ? 'kept' : `rejected${g.filterReasons.length ? ': ' + g.filterReasons.join(', ') : ''}`),
        el('td', { class: 'num' }, g.tokens),
        el('td', { class: 'num' }, usd(g.costUsd)),
        el('td', {}, new Date(g.endedAtMs).toISOString().slice(11, 19)),
      );
      row.addEventListener('click', () => openGame(g.gameId).catch(showError));
      return row;
    }),
  );
  document.body.dataset.gamesLoaded = String(request);
}

async function openGame(gameId) {
  const g = await getJson(`/api/games/${encodeURIComponent(gameId)}`);
  state.gameId = gameId;
  // A link to this game: the page opens it again from the address.
  history.replaceState(null, '', `#game=${encodeURIComponent(gameId)}`);
  $('#game-id').textContent = g.gameId;
  const facts = [
    ['run', g.runId],
    ['iteration', g.iteration],
    ['dataset', g.dataset],
    ['seed', g.seed],
    ['questioner', `${g.questioner.model} (${g.questioner.promptVersion})`],
    ['answerer', `${g.answerer.model} (${g.answerer.promptVersion})`],
    ['verdict', g.verdict],
    ['failure reason', g.failureReason || '–'],
    ['ending', `${g.ending.kind} by ${g.ending.endedBy}`],
    ['guess', g.ending.rawGuess ?? '–'],
    ['judgement', g.judgementDetail || '–'],
    ['error', g.ending.errorMessage ?? '–'],
    ['filter', `${g.kept ? 'kept' : 'rejected'} (${g.filterVersion})`],
    ['filter reasons', g.filterReasons.length ? g.filterReasons.join(', ') : '–'],
    [
      'tokens',
      `${g.tokens} (questioner ${g.questioner.promptTokens}+${g.questioner.completionTokens}, answerer ${g.answerer.promptTokens}+${g.answerer.completionTokens})`,
    ],
    ['cost', usd(g.costUsd)],
    ['Kafka', `${g.kafka.topic} partition ${g.kafka.partition} offset ${g.kafka.offset}`],
    ['question mode', `${g.questionMode}, max ${g.maxTurns} questions`],
  ];
  $('#game-facts').replaceChildren(...facts.flatMap(([k, v]) => [el('dt', {}, k), el('dd', { 'data-fact': k }, String(v))]));
  $('#candidates').replaceChildren(
    ...g.candidates.map((c) =>
      el(
        'figure',
        { class: `candidate${c.isTarget ? ' target' : ''}${c.isGuess ? ' guess' : ''}`, 'data-index': String(c.index), 'data-target': String(c.isTarget) },
        el('img', { src: c.imageUrl, alt: `candidate ${c.index + 1}: ${c.id}`, loading: 'eager' }),
        el(
          'figcaption',
          {},
          `${c.index + 1}. ${c.id}`,
          el('br'),
          ...(c.isTarget ? [el('span', { class: 'badge target' }, 'TARGET')] : []),
          ...(c.isGuess ? [el('span', { class: 'badge guess' }, 'GUESS')] : []),
        ),
      ),
    ),
  );
  $('#transcript').replaceChildren(
    ...g.turns.map((t) =>
      el(
        'li',
        { 'data-speaker': t.speaker },
        el('span', { class: 'speaker' }, `${t.speaker} (${t.kind}): `),
        t.text,
        el('br'),
        el('span', { class: 'meta' }, `${t.model} · ${t.latencyMs} ms · ${t.promptTokens}+${t.completionTokens} tokens · ${usd(t.costUsd)}`),
      ),
    ),
    el(
      'li',
      { 'data-speaker': 'verdict' },
      el('span', { class: 'speaker' }, 'guess: '),
      g.ending.rawGuess ?? '(none)',
      ` → ${g.verdict}${g.failureReason ? ` (${g.failureReason})` : ''}`,
    ),
  );
  $('#game').hidden = false;
  $('#game').scrollIntoView();
}

function showError(err) {
  $('#status').textContent = `error: ${err.message}`;
}

async function tick() {
  try {
    await refreshOverview();
  } catch (err) {
    showError(err);
  }
  setTimeout(tick, REFRESH_MS);
}

window.addEventListener('DOMContentLoaded', () => {
  $('#filters').addEventListener('change', () => {
    state.offset = 0;
    refreshGames().catch(showError);
  });
  $('#newer').addEventListener('click', () => {
    state.offset = Math.max(0, state.offset - PAGE);
    refreshGames().catch(showError);
  });
  $('#older').addEventListener('click', () => {
    state.offset += PAGE;
    refreshGames().catch(showError);
  });
  const linked = /^#game=(.+)$/.exec(location.hash);
  if (linked) openGame(decodeURIComponent(linked[1])).catch(showError);
  $('#window').addEventListener('change', () => refreshOverview().catch(showError));
  $('#run-filter').addEventListener('change', () => refreshOverview().catch(showError));
  $('#game-close').addEventListener('click', () => {
    $('#game').hidden = true;
    history.replaceState(null, '', location.pathname + location.search);
  });
  refreshFacets().then(refreshGames).catch(showError);
  setInterval(() => refreshFacets().catch(showError), 15000);
  // New games arrive in the browser list too (the open game, if any, stays as it is).
  setInterval(() => refreshGames().catch(showError), 10000);
  tick();
});
