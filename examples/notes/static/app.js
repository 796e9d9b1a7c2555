// The notes page: plain JavaScript, no build step. Every request carries the CSRF token the
// API gave with the session; a change made in any tab comes back to every tab through the
// /api/events stream.
"use strict";

const $ = (id) => document.getElementById(id);
const state = { csrf: "", notes: new Map(), events: null };

async function api(method, path, body) {
  const headers = { Accept: "application/json" };
  if (method !== "GET") headers["X-CSRF-Token"] = state.csrf;
  if (body !== undefined && !(body instanceof FormData)) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(body);
  }
  const response = await fetch(path, { method, headers, body });
  const data = response.status === 204 ? null : await response.json();
  if (!response.ok) throw new Error(data && data.error ? data.error.message : response.statusText);
  return data;
}

function showError(error) {
  $("error").textContent = error ? error.message : "";
  $("error").hidden = !error;
}

function render() {
  const list = $("notes");
  list.replaceChildren();
  for (const note of [...state.notes.values()].sort((a, b) => b.id - a.id)) {
    const item = document.createElement("li");
    item.dataset.id = note.id;
    const text = document.createElement("p");
    text.textContent = note.text;
    const files = document.createElement("ul");
    files.className = "files";
    for (const file of note.attachments) {
      const link = document.createElement("a");
      link.href = `/api/notes/${note.id}/attachments/${file.id}`;
      link.textContent = `${file.name} (${file.size} bytes)`;
      const entry = document.createElement("li");
      entry.append(link);
      files.append(entry);
    }
    const when = document.createElement("time");
    when.textContent = new Date(note.created * 1000).toLocaleString();
    const remove = document.createElement("button");
    remove.type = "button";
    remove.className = "delete";
    remove.textContent = "Delete";
    remove.addEventListener("click", () => api("DELETE", `/api/notes/${note.id}`).catch(showError));
    item.append(text, files, when, remove);
    list.append(item);
  }
}

function listen() {
  state.events = new EventSource("/api/events");
  state.events.addEventListener("ready", () => { document.body.dataset.live = "yes"; });
  state.events.onmessage = (event) => {
    const change = JSON.parse(event.data);
    if (change.saved) state.notes.set(change.saved.id, change.saved);
    if (change.deleted) state.notes.delete(change.deleted);
    render();
  };
}

async function show(account) {
  state.csrf = account.csrf;
  const loggedIn = account.name !== null;
  $("account").hidden = loggedIn;
  $("who").hidden = $("notes-page").hidden = !loggedIn;
  $("name-shown").textContent = account.name || "";
  if (state.events) state.events.close();
  state.events = null;
  delete document.body.dataset.live;
  state.notes.clear();
  if (loggedIn) {
    for (const note of await api("GET", "/api/notes")) state.notes.set(note.id, note);
    listen();
  }
  render();
}

function enter(path) {
  const credentials = { name: $("name").value, password: $("password").value };
  api("POST", path, credentials).then((account) => { showError(null); $("password").value = ""; return show(account); })
    .catch(showError);
}

$("account").addEventListener("submit", (event) => { event.preventDefault(); enter("/api/login"); });
$("signup").addEventListener("click", () => { if ($("account").reportValidity()) enter("/api/signup"); });
$("logout").addEventListener("click", () => {
  api("POST", "/api/logout").then(() => api("GET", "/api/session")).then(show).catch(showError);
});
$("new-note").addEventListener("submit", async (event) => {
  event.preventDefault();
  try {
    const note = await api("POST", "/api/notes", { text: $("text").value });
    const file = $("file").files[0];
    if (file) {
      const form = new FormData();
      form.append("file", file);
      note.attachments.push(await api("POST", `/api/notes/${note.id}/attachments`, form));
    }
    state.notes.set(note.id, note); // the stream brings it too, to this tab and the others
    render();
    $("new-note").reset();
    showError(null);
  } catch (error) {
    showError(error);
  }
});

// Leaving the page closes its stream at once, rather than when the browser drops the page.
window.addEventListener("pagehide", () => { if (state.events) state.events.close(); });
window.addEventListener("pageshow", (event) => { if (event.persisted) api("GET", "/api/session").then(show).catch(showError); });

api("GET", "/api/session").then(show).catch(showError);
