'use strict';
// The Quorum dashboard: plain JS, no build step. One EventSource (/api/events) brings a snapshot
// every second; charts are drawn by lightweight-charts (served from node_modules at /vendor).
// Everything shown is set with textContent: data from the bots and the venue is never HTML.

const $ = (selector) => document.querySelector(selector);

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k === 'class') node.className = v;
    else if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
    else if (k === 'dataset') Object.assign(node.dataset, v);
    else node.setAttribute(k, v);
  }
  for (const c of children.flat()) if (c !== null && c !== undefined) node.append(c instanceof Node ? c : String(c));
  return node;
}

const time = (ms) => (ms ? new Date(ms).toISOString().replace('T', ' ').slice(0, 19) : '');
const fixed = (x, digits = 6) => (x === null || x === undefined || x === '' ? '–' : Number(x).toFixed(digits).replace(/\.?0+$/, '') || '0');
const pct = (x) => (x === null || x === undefined ? '–' : `${(x * 100).toFixed(2)} %`);
const TF_MS = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };
const tfMs = (tf) => Number(tf.slice(0, -1)) * (TF_MS[tf.slice(-1)] ?? 60_000);

function fillBody(tbody, rows, empty) {
  tbody.replaceChildren(...(rows.length > 0 ? rows : [el('tr', {}, el('td', { colspan: '20', class: 'muted' }, empty))]));
}

// ---------------------------------------------------------------------------------------------
// Charts

const LWC = window.LightweightCharts;
const chartOptions = {
  autoSize: true,
  layout: { background: { color: '#171e26' }, textColor: '#d8dee6' },
  grid: { vertLines: { color: '#222b35' }, horzLines: { color: '#222b35' } },
  timeScale: { timeVisible: true, secondsVisible: false },
};
const equityChart = LWC.createChart($('#equity-chart'), { ...chartOptions, leftPriceScale: { visible: true }, timeScale: { timeVisible: true, secondsVisible: true } });
const drawdownChart = LWC.createChart($('#drawdown-chart'), { ...chartOptions, timeScale: { timeVisible: true, secondsVisible: true } });
const candleChart = LWC.createChart($('#candle-chart'), chartOptions);
const candles = candleChart.addSeries(LWC.CandlestickSeries, { upColor: '#26a69a', downColor: '#ef5350', wickUpColor: '#26a69a', wickDownColor: '#ef5350', borderVisible: false });
const tradeMarkers = LWC.createSeriesMarkers(candles, []);
const COLORS = ['#f0b90b', '#6cb6ff', '#c38cff', '#4dd0a1', '#ff9f6e'];
const curves = new Map(); // quote → { equity, drawdown, last }

function curveOf(quote) {
  if (!curves.has(quote)) {
    const i = curves.size;
    const color = COLORS[i % COLORS.length];
    const priceScaleId = i === 0 ? 'right' : i === 1 ? 'left' : `quote-${quote}`;
    curves.set(quote, {
      equity: equityChart.addSeries(LWC.LineSeries, { color, title: `equity ${quote}`, priceScaleId, lineWidth: 2 }),
      drawdown: drawdownChart.addSeries(LWC.LineSeries, { color, title: `drawdown ${quote} %`, lineWidth: 1 }),
      last: 0,
    });
  }
  return curves.get(quote);
}

/** Adds points (ts ms, quote, equity, drawdown); a second already drawn is replaced, never repeated. */
function addEquityPoints(points) {
  for (const p of points) {
    const c = curveOf(p.quote);
    const t = Math.floor(p.ts / 1000);
    if (t < c.last) continue;
    c.equity.update({ time: t, value: p.equity });
    c.drawdown.update({ time: t, value: -p.drawdown * 100 });
    c.last = t;
  }
}

// ---------------------------------------------------------------------------------------------
// The market chart

let selected = null; // { symbol, timeframe }
let candleKey = '';
let candleTimer = null;

async function loadCandles() {
  if (!selected) return;
  const { symbol, timeframe } = selected;
  const res = await fetch(`/api/candles?symbol=${encodeURIComponent(symbol)}&timeframe=${encodeURIComponent(timeframe)}&limit=500`, { headers: { accept: 'application/json' } });
  if (!res.ok) return void ($('#market-info').textContent = `could not load candles (${res.status})`);
  const data = await res.json();
  if (selected.symbol !== symbol) return;
  candles.setData(data.candles.map((c) => ({ time: c.ts / 1000, open: c.open, high: c.high, low: c.low, close: c.close })));
  const step = tfMs(data.timeframe);
  const markers = data.fills
    .map((f) => ({
      time: Math.floor(f.ts / step) * step / 1000,
      position: f.side === 'buy' ? 'belowBar' : 'aboveBar',
      shape: f.side === 'buy' ? 'arrowUp' : 'arrowDown',
      color: f.side === 'buy' ? '#26a69a' : '#ef5350',
      text: `${f.side} ${fixed(f.amount, 4)} @ ${fixed(f.price, 8)}`,
    }))
    .sort((a, b) => a.time - b.time);
  tradeMarkers.setMarkers(markers);
  const chart = $('#candle-chart');
  chart.dataset.candles = String(data.candles.length);
  chart.dataset.markers = String(markers.length);
  $('#market-info').textContent = `${data.timeframe}, ${data.candles.length} candles, ${data.fills.length} fills`;
}

/** Reloads the chart when candles or fills changed, at most every 1.5 s. */
function refreshCandles(key) {
  if (key === candleKey || candleTimer) return;
  candleTimer = setTimeout(() => {
    candleTimer = null;
    candleKey = key;
    loadCandles().catch((e) => ($('#market-info').textContent = `could not load candles: ${e.message}`));
  }, candleKey === '' ? 0 : 1500);
}

function renderMarkets(markets) {
  const select = $('#market-select');
  if (select.options.length === markets.length) return;
  select.replaceChildren(...markets.map((m) => el('option', { value: `${m.symbol}|${m.timeframe}` }, `${m.symbol} ${m.timeframe}`)));
  if (!selected && markets[0]) selected = markets[0];
  if (selected) select.value = `${selected.symbol}|${selected.timeframe}`;
}
$('#market-select').addEventListener('change', (e) => {
  const [symbol, timeframe] = e.target.value.split('|');
  selected = { symbol, timeframe };
  candleKey = '';
  loadCandles();
});

// ---------------------------------------------------------------------------------------------
// Tables

function renderState(s) {
  const trading = $('#trading-state');
  trading.textContent = `trading ${s.tradingState.state}`;
  trading.className = `badge ${s.tradingState.state}`;
  trading.title = `${s.tradingState.reason} (by ${s.tradingState.by}${s.tradingState.at ? `, ${time(s.tradingState.at)}` : ''})`;
  trading.dataset.state = s.tradingState.state;
  const breaker = $('#breaker-state');
  breaker.textContent = `breaker ${s.breaker.state.status}`;
  breaker.className = `badge ${s.breaker.state.status}`;
  breaker.title = s.breaker.state.reason ?? `account ${s.breaker.account}`;
  breaker.dataset.state = s.breaker.state.status;
}

function renderSummary(s) {
  $('#quotes').replaceChildren(
    ...s.quotes.map((q) =>
      el('div', { class: 'card', dataset: { quote: q.quote } }, el('span', { class: 'muted' }, `equity ${q.quote}`), el('b', {}, fixed(q.equity, 8)),
        el('span', { class: 'muted' }, `drawdown ${pct(q.drawdown)} · exposure ${pct(q.exposure)} · ${q.openPositions} open`)),
    ),
  );
  const c = s.counters;
  const n = (k) => c[k] ?? 0;
  const denials = Object.entries(c).filter(([k]) => k.startsWith('denials.')).reduce((a, [, v]) => a + v, 0);
  const cards = [
    ['candles', n('candles.stored'), 'counter-candles'],
    ['decisions', n('decisions'), 'counter-decisions'],
    ['buy / sell', `${n('decisions.buy')} / ${n('decisions.sell')}`, 'counter-votes'],
    ['orders', n('orders'), 'counter-orders'],
    ['fills', n('fills'), 'counter-fills'],
    ['denials', denials, 'counter-denials'],
  ];
  $('#counters').replaceChildren(...cards.map(([label, value, id]) => el('div', { class: 'card', id }, el('span', { class: 'muted' }, label), el('b', {}, value))));
}

function renderPositions(positions) {
  fillBody($('#positions tbody'), positions.map((p) => el('tr', {}, el('td', {}, p.symbol), el('td', {}, fixed(p.amount, 8)), el('td', {}, fixed(p.avgPrice, 8)), el('td', {}, fixed(p.mark, 8)),
    el('td', { class: Number(p.unrealizedPnl) >= 0 ? 'buy' : 'sell' }, fixed(p.unrealizedPnl, 8)), el('td', {}, fixed(p.realizedPnl, 8)))), 'no open position');
}

function renderOrders(open, recent) {
  const seen = new Set();
  const rows = [...open, ...recent].filter((o) => !seen.has(o.intent.clientOrderId) && seen.add(o.intent.clientOrderId)).slice(0, 25);
  fillBody($('#orders tbody'), rows.map((o) => el('tr', {}, el('td', {}, time(o.updatedAt)), el('td', {}, o.intent.symbol), el('td', { class: o.intent.side }, o.intent.side), el('td', {}, o.intent.type),
    el('td', {}, fixed(o.intent.amount, 8)), el('td', {}, fixed(o.filledAmount, 8)), el('td', {}, fixed(o.avgPrice, 8)), el('td', {}, el('span', { class: `badge ${o.status === 'open' ? 'half-open' : o.status === 'filled' ? 'ok' : 'error-state'}` }, o.status)),
    el('td', { class: 'muted' }, o.reason ?? o.intent.reason))), 'no order yet');
}

const openVotes = new Set(); // decisions whose votes the user opened stay open across updates

function renderDecisions(decisions) {
  fillBody($('#decisions tbody'), decisions.map((d) => {
    const key = `${d.symbol}@${d.candleTs}`;
    const votes = d.votes ?? [];
    const details = el('details', { ontoggle: (e) => (e.target.open ? openVotes.add(key) : openVotes.delete(key)) },
      el('summary', {}, `${votes.filter((v) => v.action === 'buy').length} buy · ${votes.filter((v) => v.action === 'sell').length} sell · ${votes.filter((v) => v.action === 'hold').length} hold · ${(d.abstentions ?? []).length} abstained`),
      el('table', {}, el('tbody', {}, ...votes.map((v) => el('tr', {}, el('td', {}, v.instanceId), el('td', { class: v.action }, v.action), el('td', {}, `conf ${fixed(v.confidence, 2)}`), el('td', {}, `weight ${fixed(v.effectiveWeight, 3)}`))),
        ...(d.abstentions ?? []).map((a) => el('tr', { class: 'muted' }, el('td', {}, a.instanceId), el('td', { colspan: '3' }, `abstained: ${a.why}`))))));
    if (openVotes.has(key)) details.open = true;
    return el('tr', { dataset: { key } }, el('td', {}, time(d.candleTs)), el('td', {}, d.symbol), el('td', { class: d.action }, d.action), el('td', {}, fixed(d.confidence, 2)), el('td', {}, fixed(d.agreement, 2)),
      el('td', { class: 'muted' }, `${d.risk?.verdict ?? ''}${d.risk?.gate ? ` (${d.risk.gate})` : ''}: ${d.risk?.reason ?? ''}`), el('td', {}, details));
  }), 'no decision yet');
}

function renderDenials(denials) {
  fillBody($('#denials tbody'), denials.map((d) => el('tr', {}, el('td', {}, time(d.candleTs)), el('td', {}, d.symbol), el('td', {}, d.risk?.gate ?? ''), el('td', {}, d.risk?.reason ?? ''))), 'no denial');
}

async function botAction(id, action) {
  const res = await fetch(`/api/bots/${encodeURIComponent(id)}/${action}`, { method: 'POST', headers: { accept: 'application/json' } });
  if (!res.ok) alert(`${action} ${id}: ${(await res.json().catch(() => ({}))).message ?? res.status}`);
}

function renderBots(bots) {
  const order = { quarantined: 0, disabled: 1, running: 2 };
  const sorted = [...bots].sort((a, b) => (order[a.status] ?? 3) - (order[b.status] ?? 3) || a.id.localeCompare(b.id));
  const counts = bots.reduce((m, b) => ((m[b.status] = (m[b.status] ?? 0) + 1), m), {});
  $('#bots-info').textContent = Object.entries(counts).map(([k, v]) => `${v} ${k}`).join(' · ');
  fillBody($('#bots tbody'), sorted.map((b) => {
    const h = b.health;
    const pnl = Object.entries(b.contribution?.pnl ?? {}).map(([q, v]) => `${fixed(v, 8)} ${q}`).join(', ') || '–';
    const action = b.status === 'quarantined' ? el('button', { type: 'button', onclick: () => botAction(b.id, 'reset-quarantine') }, 'reset quarantine')
      : b.status === 'disabled' ? el('button', { type: 'button', onclick: () => botAction(b.id, 'enable') }, 'enable') : '';
    return el('tr', { dataset: { bot: b.id } }, el('td', {}, b.id), el('td', { class: 'muted' }, b.bot), el('td', { title: b.suspension?.reason ?? '' }, el('span', { class: `badge ${b.status.replace(/ /g, '-')}` }, b.status), b.suspension ? el('div', { class: 'muted' }, b.suspension.reason) : null),
      el('td', { title: h.lastError ?? '' }, `${h.ok} / ${h.failed} / ${h.timedOut} / ${h.badOutput}${h.streak > 0 ? ` (${h.streak} in a row)` : ''}`),
      el('td', { class: h.lastSignal ?? '' }, h.lastSignal ?? '–'), el('td', {}, fixed(b.weight, 3)), el('td', {}, `${pnl}${b.contribution?.trades ? ` (${b.contribution.trades} trades)` : ''}`), el('td', {}, action));
  }), 'no bot instance');
}

// ---------------------------------------------------------------------------------------------
// The kill switch: a dialog that asks for the state and a reason, then a confirmed POST.

const dialog = $('#kill-dialog');
$('#kill-switch').addEventListener('click', () => {
  $('#kill-error').textContent = '';
  const current = $('#trading-state').dataset.state;
  dialog.querySelector(`input[name=state][value=${current === 'HALTED' ? 'ACTIVE' : 'HALTED'}]`).checked = true;
  dialog.showModal();
  $('#kill-reason').focus();
});
$('#kill-cancel').addEventListener('click', () => dialog.close());
$('#kill-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const form = new FormData(e.target);
  const res = await fetch('/api/trading-state', {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify({ state: form.get('state'), reason: String(form.get('reason') ?? '') }),
  });
  const body = await res.json().catch(() => ({}));
  if (!res.ok) return void ($('#kill-error').textContent = body.message ?? `refused (${res.status})`);
  renderState({ tradingState: body.current, breaker: lastSnapshot?.breaker ?? { state: { status: '…' }, account: '' } });
  dialog.close();
});

// ---------------------------------------------------------------------------------------------
// Live updates

let lastSnapshot = null;
let updates = 0;

function onSnapshot(s) {
  lastSnapshot = { ...lastSnapshot, ...s };
  const v = lastSnapshot;
  updates += 1;
  renderState(v);
  renderSummary(v);
  renderPositions(v.positions);
  renderOrders(v.openOrders, v.recentOrders);
  renderDecisions(v.decisions.length > 0 ? v.decisions : v.lastDecisions);
  renderDenials(v.denials);
  if (s.bots) renderBots(s.bots);
  if (s.markets) renderMarkets(s.markets);
  if (s.equityHistory) addEquityPoints(s.equityHistory);
  if (s.equityPoints) addEquityPoints(s.equityPoints);
  refreshCandles(`${selected?.symbol}|${v.counters['candles.stored'] ?? 0}|${v.counters.fills ?? 0}`);
  const stamp = $('#last-update');
  stamp.textContent = `updated ${new Date(v.at).toISOString().slice(11, 19)} UTC`;
  stamp.dataset.updates = String(updates);
}

function connect() {
  const events = new EventSource('/api/events');
  events.addEventListener('open', () => ($('#connection').textContent = 'live'));
  events.addEventListener('error', () => ($('#connection').textContent = 'reconnecting…'));
  events.addEventListener('snapshot', (e) => onSnapshot(JSON.parse(e.data)));
  events.addEventListener('problem', (e) => ($('#connection').textContent = JSON.parse(e.data).message));
}
connect();
