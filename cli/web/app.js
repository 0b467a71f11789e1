// The web chat of `plumlog serve --http` (docs/chat.md, "The web chat").
// The room's messages are kept sorted by their "key" (the causal order the
// daemon gives them), so every page shows the same order whatever order
// they arrived in. Live updates come over /api/events (EventSource, which
// reconnects by itself); after each (re)connection the room is fetched
// again. Text from the network only ever goes into textContent.
'use strict';

const state = {
  room: 'lobby',
  self: '',
  names: {},         // feed id -> name
  messages: new Map(),  // entry id -> message
  keys: [],          // keys of the shown messages, sorted
  rooms: {},         // name -> {messages, topic}
};

const $ = (id) => document.getElementById(id);

function roomFromHash() {
  const h = decodeURIComponent(location.hash.replace(/^#/, ''));
  return /^[A-Za-z0-9._-]{1,64}$/.test(h) ? h : 'lobby';
}

function nameOf(feed) {
  return state.names[feed] || feed.slice(1, 9);
}

function clock(ms) {
  const d = new Date(ms);
  return String(d.getHours()).padStart(2, '0') + ':' +
         String(d.getMinutes()).padStart(2, '0');
}

function showError(text) {
  $('error').textContent = text || '';
}

// ---- messages ----

function messageItem(m) {
  const li = document.createElement('li');
  li.dataset.key = m.key;
  li.dataset.id = m.id;
  li.dataset.author = m.author;
  if (m.action) li.classList.add('action');
  if (m.author === state.self) li.classList.add('self');
  const time = document.createElement('time');
  time.dateTime = new Date(m.ts).toISOString();
  time.textContent = clock(m.ts);
  const nick = document.createElement('span');
  nick.className = 'nick';
  nick.textContent = nameOf(m.author);
  const text = document.createElement('span');
  text.className = 'text';
  text.textContent = m.text;
  li.append(time, nick, text);
  return li;
}

// Inserts a message of the current room at its place in the causal order.
function addMessage(m) {
  if (m.room !== state.room || state.messages.has(m.id)) return;
  state.messages.set(m.id, m);
  let lo = 0;
  let hi = state.keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (state.keys[mid] < m.key) lo = mid + 1; else hi = mid;
  }
  const list = $('messages');
  const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
  const items = list.querySelectorAll('li[data-key]');
  const li = messageItem(m);
  if (lo < items.length) list.insertBefore(li, items[lo]); else list.append(li);
  state.keys.splice(lo, 0, m.key);
  if (atBottom) list.scrollTop = list.scrollHeight;
}

function notice(text) {
  const li = document.createElement('li');
  li.className = 'notice';
  li.textContent = clock(Date.now()) + ' * ' + text;
  $('messages').append(li);
}

function renameAll(feed) {
  for (const li of $('messages').querySelectorAll('li[data-author]')) {
    if (li.dataset.author === feed) {
      li.querySelector('.nick').textContent = nameOf(feed);
    }
  }
}

function setTopic(t) {
  $('topic').textContent = t && t.topic ? t.topic + ' (set by ' + t.author + ')' : '';
}

async function loadRoom() {
  const r = await fetch('/api/messages?room=' + encodeURIComponent(state.room));
  const j = await r.json();
  if (!r.ok) { showError(j.error); return; }
  state.messages.clear();
  state.keys = [];
  $('messages').replaceChildren();
  Object.assign(state.names, j.names);
  setTopic(j.topic);
  for (const m of j.messages) addMessage(m);
  const list = $('messages');
  list.scrollTop = list.scrollHeight;
  document.title = '#' + state.room + ' · plumlog';
  $('text').placeholder = 'Message #' + state.room + ' (/me, /nick NAME, /topic TEXT, /join ROOM)';
  loadRooms();
}

// The rooms list, refreshed at most every half second while messages come.
let roomsTimer = null;
function roomsSoon() {
  if (roomsTimer) return;
  roomsTimer = setTimeout(() => { roomsTimer = null; loadRooms(); }, 500);
}

async function loadRooms() {
  const r = await fetch('/api/rooms');
  if (!r.ok) return;
  const j = await r.json();
  const ul = $('rooms');
  ul.replaceChildren();
  for (const room of j.rooms) {
    const li = document.createElement('li');
    const a = document.createElement('a');
    a.href = '#' + room.name;
    a.textContent = '#' + room.name;
    li.append(a, ' ' + room.messages + (room.messages === 1 ? ' message' : ' messages'));
    ul.append(li);
  }
}

// ---- sending ----

async function post(path, body) {
  const r = await fetch(path, {
    method: 'POST',
    headers: {'Content-Type': 'application/json'},
    body: JSON.stringify(body),
  });
  if (!r.ok) {
    let why = r.statusText;
    try { why = (await r.json()).error; } catch (e) { /* not JSON */ }
    showError('not sent: ' + why);
    return false;
  }
  showError('');
  return true;
}

async function onSend(event) {
  event.preventDefault();
  const input = $('text');
  const line = input.value;
  if (!line.trim()) return;  // blank lines are not sent
  let ok;
  const m = /^\/(\S+)\s*(.*)$/.exec(line);
  if (line.startsWith('//')) {
    ok = await post('/api/send', {room: state.room, text: line.slice(1)});
  } else if (!m) {
    ok = await post('/api/send', {room: state.room, text: line});
  } else if (m[1] === 'me') {
    ok = await post('/api/send', {room: state.room, text: m[2], action: true});
  } else if (m[1] === 'nick') {
    ok = await post('/api/nick', {name: m[2]});
  } else if (m[1] === 'topic') {
    ok = await post('/api/topic', {room: state.room, topic: m[2]});
  } else if (m[1] === 'join') {
    location.hash = m[2];
    ok = true;
  } else {
    showError('unknown command /' + m[1]);
    ok = false;
  }
  if (ok) input.value = '';
}

// ---- node status ----

function cell(tr, text, cls) {
  const td = document.createElement('td');
  td.textContent = text;
  if (cls) td.className = cls;
  tr.append(td);
}

function bytes(n) {
  if (n < 1024) return n + ' B';
  if (n < 1048576) return (n / 1024).toFixed(1) + ' KiB';
  return (n / 1048576).toFixed(1) + ' MiB';
}

function renderStatus(s) {
  if (s.error) { showError(s.error); return; }
  Object.assign(state.names, s.names || {});
  const dl = $('summary');
  dl.replaceChildren();
  const row = (k, v) => {
    const dt = document.createElement('dt');
    dt.textContent = k;
    const dd = document.createElement('dd');
    dd.textContent = v;
    dl.append(dt, dd);
  };
  row('id', s.id);
  row('address', s.address);
  row('uptime', Math.round(s.uptime_ms / 1000) + ' s');
  row('members', s.members_alive + ' alive');
  const p = s.progress;
  row('progress', p.current + ' of ' + p.target + ' entries' +
      (p.current >= p.target ? ' (up to date)' : ' (catching up)'));
  // Per peer: "in_sync" from this page's daemon; "peer_progress" (entries
  // behind / ahead) when the daemon reports it.
  const perPeer = {};
  for (const pp of s.peer_progress || []) perPeer[pp.peer] = pp;
  const tbody = $('peers').querySelector('tbody');
  tbody.replaceChildren();
  for (const c of s.connections) {
    const tr = document.createElement('tr');
    tr.dataset.peer = c.peer;
    cell(tr, nameOf(c.peer));
    cell(tr, c.remote + (c.outbound ? ' (out)' : ' (in)'));
    cell(tr, c.replicating ? 'replicating' : (c.open ? 'open' : 'connecting'));
    let sync = '';
    let cls = '';
    if (c.replicating) {
      const pp = perPeer[c.peer];
      if (c.in_sync) {
        sync = 'in sync';
        cls = 'ok';
      } else if (pp) {
        sync = pp.behind + ' behind, ' + pp.ahead + ' ahead';
        cls = 'lag';
      } else {
        sync = 'syncing';
        cls = 'lag';
      }
    }
    cell(tr, sync, cls);
    cell(tr, bytes(c.bytes_sent) + ' / ' + bytes(c.bytes_received));
    tbody.append(tr);
  }
  const ul = $('members');
  ul.replaceChildren();
  for (const m of s.members) {
    const li = document.createElement('li');
    li.textContent = nameOf(m.id) + ' — ' + m.state;
    li.className = m.state === 'alive' ? 'ok' : (m.state === 'suspect' ? 'lag' : 'bad');
    ul.append(li);
  }
}

async function loadStatus() {
  const r = await fetch('/api/status');
  if (r.ok) renderStatus(await r.json());
}

// ---- live updates ----

function connect() {
  const es = new EventSource('/api/events');
  es.addEventListener('hello', (e) => {
    const h = JSON.parse(e.data);
    state.self = h.id;
    state.names[h.id] = h.name;
    $('me').textContent = h.name + ' ' + h.address;
    $('conn').textContent = 'live';
    $('conn').className = 'on';
    loadRoom();
    loadStatus();
  });
  es.addEventListener('message', (e) => {
    const m = JSON.parse(e.data);
    state.names[m.author] = m.name;
    addMessage(m);
    roomsSoon();
  });
  es.addEventListener('name', (e) => {
    const n = JSON.parse(e.data);
    state.names[n.feed] = n.name;
    renameAll(n.feed);
  });
  es.addEventListener('topic', (e) => {
    const t = JSON.parse(e.data);
    if (t.room === state.room) setTopic(t);
  });
  es.addEventListener('member', (e) => {
    const m = JSON.parse(e.data);
    const what = {up: 'joined', suspect: 'is away (not answering)',
                  down: 'left (unreachable)', left: 'left'}[m.event];
    if (what) notice(nameOf(m.peer) + ' ' + what);
  });
  es.addEventListener('status', (e) => renderStatus(JSON.parse(e.data)));
  es.onerror = () => {
    $('conn').textContent = 'reconnecting…';
    $('conn').className = 'off';
  };
}

window.addEventListener('hashchange', () => {
  state.room = roomFromHash();
  $('room').value = state.room;
  loadRoom();
});
$('join').addEventListener('submit', (e) => {
  e.preventDefault();
  location.hash = $('room').value;
});
$('send').addEventListener('submit', onSend);
state.room = roomFromHash();
$('room').value = state.room;
connect();
