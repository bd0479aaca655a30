// Familjeguiden web chat: plain JavaScript, no dependencies (the product runs offline).
// Talks to POST /api/chat and polls GET /api/chat/{id} for the coordinator's replies.
"use strict";

(function () {
  const POLL_MS = 4000;
  const STORE_KEY = "familjeguiden.conversation";
  const log = document.getElementById("log");
  const form = document.getElementById("form");
  const input = document.getElementById("text");
  const sendButton = document.getElementById("send");
  const status = document.getElementById("status");
  const kommun = document.body.dataset.kommun || null;
  const WHO = { coordinator: "Lots på Familjeguiden", parent: "Du", bot: "Familjeguiden" };

  let conversationId = loadId();
  let lastSeq = 0;
  let busy = false;

  function loadId() {
    try { return window.localStorage.getItem(STORE_KEY); } catch (e) { return null; }
  }

  function saveId(id) {
    try {
      if (id) { window.localStorage.setItem(STORE_KEY, id); }
      else { window.localStorage.removeItem(STORE_KEY); }
    } catch (e) { /* storage blocked (embedded page): the chat still works for this visit */ }
  }

  // Text becomes DOM text nodes (never innerHTML); web addresses become links.
  function appendLinked(parent, text) {
    const urlPattern = /https?:\/\/[^\s)]+/g;
    let last = 0;
    for (const match of text.matchAll(urlPattern)) {
      parent.append(text.slice(last, match.index));
      const link = document.createElement("a");
      link.href = match[0];
      link.textContent = match[0];
      link.target = "_blank";
      link.rel = "noopener";
      parent.append(link);
      last = match.index + match[0].length;
    }
    parent.append(text.slice(last));
  }

  function render(message) {
    const author = message.author || "bot";
    const item = document.createElement("div");
    item.className = "msg msg--" + author + (message.urgent ? " msg--urgent" : "");
    const who = document.createElement("span");
    who.className = "msg__who";
    who.textContent = WHO[author] || WHO.bot;
    item.append(who);
    const body = document.createElement("div");
    appendLinked(body, message.text);
    item.append(body);
    if (message.buttons && message.buttons.length) {
      const row = document.createElement("div");
      row.className = "msg__buttons";
      const services = message.services || [];
      let detail = 0;
      for (const button of message.buttons) {
        const element = document.createElement("button");
        element.type = "button";
        element.textContent = button.label;
        // "1", "2", "3" say little to a screen reader: name the service they open.
        if (button.action.startsWith("detail:") && services[detail]) {
          element.setAttribute("aria-label", "Mer om " + services[detail].name);
          detail += 1;
        }
        element.addEventListener("click", () => send(button.label, button.action));
        row.append(element);
      }
      item.append(row);
    }
    log.append(item);
    return item;
  }

  // Show the start of what just arrived: urgent guidance comes first and must be seen.
  function showFrom(item) {
    if (item) { item.scrollIntoView({ block: "start" }); }
  }

  async function send(text, action) {
    if (busy || !text.trim()) { return; }
    busy = true;
    sendButton.disabled = true;
    status.textContent = "Skickar …";
    showFrom(render({ author: "parent", text: text }));
    try {
      const response = await fetch("/api/chat", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({
          conversation_id: conversationId, text: text, municipality: kommun, action: action || null,
        }),
      });
      if (!response.ok) { throw new Error("status " + response.status); }
      const data = await response.json();
      showFrom(data.messages.map(render)[0]);
      conversationId = data.deleted ? null : data.conversation_id;
      lastSeq = data.deleted ? 0 : data.last_seq;
      saveId(conversationId);
      status.textContent = "";
    } catch (error) {
      status.textContent = "Det gick inte att skicka just nu. Försök igen. Är någon i fara: ring 112.";
    } finally {
      busy = false;
      sendButton.disabled = false;
    }
  }

  async function poll(renderAll) {
    if (!conversationId || busy) { return; }
    try {
      const response = await fetch("/api/chat/" + encodeURIComponent(conversationId) +
        "?after=" + (renderAll ? 0 : lastSeq));
      if (response.status === 404) {  // deleted ("radera") or from another browser
        conversationId = null;
        saveId(null);
        if (renderAll) { welcome(); }
        return;
      }
      if (!response.ok || busy) { return; }
      const data = await response.json();
      let first = null;
      for (const message of data.messages) {
        if (message.seq <= lastSeq) { continue; }
        // Replies to this page's own messages were shown already; show what others wrote.
        if (renderAll || message.author !== "parent") { first = first || render(message); }
        lastSeq = message.seq;
      }
      showFrom(renderAll ? log.lastElementChild : first);
    } catch (error) { /* offline for a moment: try again at the next tick */ }
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const text = input.value;
    input.value = "";
    send(text, null);
    input.focus();
  });

  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey) {
      event.preventDefault();
      form.requestSubmit();
    }
  });

  function welcome() {
    render({
      author: "bot",
      text: "Hej! Skriv vad du undrar över, till exempel \"min son vill inte gå till skolan\".",
    });
  }

  if (conversationId) { poll(true); } else { welcome(); }
  window.setInterval(() => poll(false), POLL_MS);
})();
