// SPDX-License-Identifier: MIT
// app.js -- the chat page: the front end of Socket.IO's private-messaging tutorial (part 3),
// rewritten from its Vue components (App.vue, Chat.vue, User.vue, MessagePanel.vue,
// SelectUsername.vue) into plain DOM code, on top of this project's own sio-client.js.
//
// State is one array of users, as in Chat.vue: {userID, username, connected, messages, self,
// hasNewMessages}, each message {content, fromSelf}. Every change re-renders the two panels
// (there are few users; simplicity wins over diffing).

import { io } from './sio-client.js';

// const socket = io(URL, { autoConnect: false }); -- same origin, so no URL is needed.
const socket = io(undefined, { autoConnect: false });
socket.onAny((event, ...args) => console.log('<=', event, ...args)); // as the tutorial does

const $ = (sel) => document.querySelector(sel);
const view = {
  login: $('#login'),
  loginForm: $('#username-form'),
  loginInput: $('#username-input'),
  loginError: $('#login-error'),
  chat: $('#chat'),
  users: $('#users'),
  panel: $('#panel'),
  status: $('#status'),
};

let users = [];         // every known user; self first, then by username
let selected = null;    // the user whose conversation is open
let lastError = '';     // the last connect_error message, shown until the next connect

// ---- App.vue: choosing a username, restoring the session ----

function showLogin(message) {
  view.login.hidden = false;
  view.chat.hidden = true;
  view.loginError.textContent = message || '';
  view.loginInput.focus();
}

function showChat() {
  view.login.hidden = true;
  view.chat.hidden = false;
}

// onUsernameSelection(username) { socket.auth = { username }; socket.connect(); }
view.loginForm.addEventListener('submit', (e) => {
  e.preventDefault();
  const username = view.loginInput.value;
  if (!username) return;
  users = [];
  selected = null;
  socket.auth = { username };
  socket.connect();
  showChat();
  render();
});

// created(): a stored sessionID reconnects without asking for a name.
const sessionID = localStorage.getItem('sessionID');
if (sessionID) {
  socket.auth = { sessionID };
  socket.connect();
  showChat();
} else {
  showLogin();
}

socket.on('session', ({ sessionID, userID }) => {
  socket.auth = { sessionID };         // used by every reconnection from now on
  localStorage.setItem('sessionID', sessionID);
  socket.userID = userID;
});

socket.on('connect_error', (err) => {
  lastError = err.message;
  // "invalid username" (or a more precise "invalid username: ...") means: choose again.
  if (err.message.startsWith('invalid username') || err.message.startsWith('server full')) showLogin(err.message);
  render();
});

// Not in the tutorial: leave this browser's session (forget the sessionID).
$('#logout').addEventListener('click', () => {
  localStorage.removeItem('sessionID');
  socket.disconnect();
  socket.auth = undefined;
  users = [];
  selected = null;
  lastError = '';
  view.loginInput.value = '';
  showLogin();
});

// ---- Chat.vue: the users and their messages ----

socket.on('connect', () => {
  lastError = '';
  for (const user of users) if (user.self) user.connected = true;
  render();
});

socket.on('disconnect', () => {
  for (const user of users) if (user.self) user.connected = false;
  render();
});

function sortUsers() {
  users.sort((a, b) => {
    if (a.self) return -1;
    if (b.self) return 1;
    if (a.username < b.username) return -1;
    return a.username > b.username ? 1 : 0;
  });
}

socket.on('users', (list) => {
  for (const user of list) {
    user.messages = (user.messages || []).map(({ content, from }) => ({ content, fromSelf: from === socket.userID }));
    const existing = users.find((u) => u.userID === user.userID);
    if (existing) { // a reconnection: refresh what the server knows
      existing.connected = user.connected;
      existing.messages = user.messages;
      continue;
    }
    user.self = user.userID === socket.userID;
    user.hasNewMessages = false;
    users.push(user);
  }
  sortUsers();
  render();
});

socket.on('user connected', (user) => {
  const existing = users.find((u) => u.userID === user.userID);
  if (existing) existing.connected = true;
  else users.push({ ...user, messages: user.messages || [], self: false, hasNewMessages: false });
  sortUsers();
  render();
});

socket.on('user disconnected', (id) => {
  const user = users.find((u) => u.userID === id);
  if (user) user.connected = false;
  render();
});

socket.on('private message', ({ content, from, to }) => {
  const fromSelf = socket.userID === from;
  const user = users.find((u) => u.userID === (fromSelf ? to : from));
  if (!user) return;
  user.messages.push({ content, fromSelf });
  if (user !== selected) user.hasNewMessages = true;
  render();
});

function selectUser(user) {
  selected = user;
  user.hasNewMessages = false;
  render();
  const input = $('#message-input');
  if (input) input.focus();
}

function sendMessage(content) {
  if (!selected) return;
  socket.emit('private message', { content, to: selected.userID });
  selected.messages.push({ content, fromSelf: true });
  render();
}

// ---- Rendering (User.vue, MessagePanel.vue, StatusIcon.vue) ----

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k === 'class') node.className = v;
    else if (k.startsWith('data-')) node.setAttribute(k, v);
    else node[k] = v;
  }
  for (const child of children) if (child !== null && child !== undefined) node.append(child);
  return node;
}

function statusIcon(connected) {
  return el('span', { class: 'status' },
    el('i', { class: connected ? 'icon connected' : 'icon' }), connected ? 'online' : 'offline');
}

// Any JSON value may come as content; text is shown as is, anything else as JSON.
const show = (content) => (typeof content === 'string' ? content : JSON.stringify(content));

function render() {
  const me = users.find((u) => u.self);
  view.status.textContent = socket.connected ? `connected as ${me ? me.username : '…'}`
    : lastError ? `not connected: ${lastError}` : 'connecting…';
  view.status.className = socket.connected ? 'online' : 'offline';

  view.users.replaceChildren(...users.map((user) => {
    const li = el('li', {
      class: `user${user === selected ? ' selected' : ''}`, 'data-user-id': user.userID, onclick: () => selectUser(user),
    },
    el('div', { class: 'name' }, user.username, user.self ? ' (yourself)' : null),
    statusIcon(user.connected),
    user.hasNewMessages ? el('span', { class: 'new-messages', title: 'unread messages' }, '!') : null);
    return li;
  }));

  if (!selected) {
    view.panel.replaceChildren(el('p', { class: 'hint' }, 'Select a user to chat with.'));
    return;
  }
  const header = el('div', { class: 'header' }, statusIcon(selected.connected), ' ', selected.username);
  const list = el('ul', { class: 'messages', id: 'messages' });
  selected.messages.forEach((m, i) => {
    const prev = selected.messages[i - 1];
    const showSender = !prev || prev.fromSelf !== m.fromSelf; // as displaySender() in MessagePanel.vue
    list.append(el('li', { class: m.fromSelf ? 'message self' : 'message' },
      showSender ? el('div', { class: 'sender' }, m.fromSelf ? '(yourself)' : selected.username) : null,
      el('div', { class: 'content' }, show(m.content))));
  });
  const input = el('textarea', { id: 'message-input', placeholder: 'Your message...', rows: 2 });
  const form = el('form', { class: 'form', id: 'message-form' }, input,
    el('button', { type: 'submit', id: 'send' }, 'Send'));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const content = input.value;
    input.value = ''; // before render() copies it into the new textarea
    if (content.trim()) sendMessage(content);
  });
  input.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.shiftKey) { e.preventDefault(); form.requestSubmit(); }
  });
  // Keep what was being typed across re-renders.
  const old = $('#message-input');
  if (old && old.dataset.for === selected.userID) input.value = old.value;
  input.dataset.for = selected.userID;
  const hadFocus = old && document.activeElement === old;
  view.panel.replaceChildren(header, list, form);
  list.scrollTop = list.scrollHeight;
  if (hadFocus) input.focus();
}

render();
