// Familjeguiden web chat: plain JavaScript, no dependencies (the product runs offline).
// Talks to POST /api/chat and reads the stored conversation from GET /api/chat/{id}, which
// also brings what others wrote: the lots's (the coordinator's) replies, the bot's messages
// around a case. Every stored message is shown once, in the conversation's order (its seq).
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
  const WHO = {
    coordinator: "Lots på Familjeguiden",
    parent: "Du",
    bot: "Familjeguiden",
    system: "Familjeguiden",
  };

  let conversationId = loadId();
  let lastSeq = 0; // the newest stored message read from the server
  let shown = new Set(); // seqs of the stored messages on the page
  let pending = null; // the parent's message on its way: shown at once, numbered once stored
  let busy = false;
  let polling = false;

  function loadId() {
    try { return window.localStorage.getItem(STORE_KEY); } catch (e) { return null; }
  }

  function saveId(id) {
    try {
      if (id) { window.localStorage.setItem(STORE_KEY, id); }
      else { window.localStorage.removeItem(STORE_KEY); }
    } catch (e) { /* storage blocked (embedded page): the chat still works for this visit */ }
  }

  // --- Text: always DOM text nodes, never innerHTML. Addresses and numbers become links. ---

  const URL_PATTERN = /https?:\/\/[^\s<>"')]*[^\s<>"').,!?:;]/g;
  // Swedish phone numbers as people write them: 112, 1177, 114 14, 113 13, 116 111, 90101,
  // 020-50 50 50, 0586-123 45, 08-123 456 78, +46 586 480 00. A number must stand alone (not
  // part of a date, a time, an address such as 1177.se or a longer number); ages and list
  // numbers never match.
  const GAP = "[ \\u00a0]?[-\\u2013]?[ \\u00a0]?";
  const PHONE_PATTERN = new RegExp(
    "(^|[^\\w+\\-\\u2013/.,])(" +
      "(?:\\+46[ \\u00a0]?(?:\\(0\\)[ \\u00a0]?)?|0)[1-9](?:" + GAP + "\\d){5,8}" +
      "|112|1177|11[34][ \\u00a0]?1[34]|116[ \\u00a0]?\\d{3}|90101" +
    ")(?![\\w\\-\\u2013/]|[.,:]\\w)",
    "g",
  );

  function dialable(number) {
    return number.replace("(0)", "").replace(/[^\d+]/g, "");
  }

  function appendPhones(parent, text) {
    let last = 0;
    for (const match of text.matchAll(PHONE_PATTERN)) {
      const start = match.index + match[1].length;
      parent.append(text.slice(last, start));
      const link = document.createElement("a");
      link.href = "tel:" + dialable(match[2]);
      link.className = "msg__tel";
      link.textContent = match[2];
      parent.append(link);
      last = start + match[2].length;
    }
    parent.append(text.slice(last));
  }

  function appendLinked(parent, text) {
    let last = 0;
    for (const match of text.matchAll(URL_PATTERN)) {
      appendPhones(parent, text.slice(last, match.index));
      const link = document.createElement("a");
      link.href = match[0];
      link.textContent = match[0];
      link.target = "_blank";
      link.rel = "noopener";
      parent.append(link);
      last = match.index + match[0].length;
    }
    appendPhones(parent, text.slice(last));
  }

  // --- Messages ---

  function build(message) {
    const author = Object.prototype.hasOwnProperty.call(WHO, message.author)
      ? message.author : "bot";
    const item = document.createElement("div");
    item.className = "msg msg--" + author + (message.urgent ? " msg--urgent" : "");
    if (message.seq) { item.dataset.seq = String(message.seq); }
    const who = document.createElement("span");
    who.className = "msg__who";
    who.textContent = WHO[author];
    item.append(who);
    const body = document.createElement("div");
    body.className = "msg__text";
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
    return item;
  }

  // A stored message goes before the first later one already shown, and before the
  // parent's message still on its way (that one is newer than anything stored before it).
  function place(item, seq) {
    for (const child of log.children) {
      if (child === pending || (child.dataset.seq && Number(child.dataset.seq) > seq)) {
        log.insertBefore(item, child);
        return;
      }
    }
    log.append(item);
  }

  // Show the stored messages not on the page yet; returns the first one added.
  function showStored(messages) {
    let first = null;
    for (const message of messages) {
      lastSeq = Math.max(lastSeq, message.seq);
      if (shown.has(message.seq)) { continue; }
      shown.add(message.seq);
      const item = build(message);
      if (message.author === "parent" && pending) {
        pending.replaceWith(item); // as stored: personnummer removed
        pending = null;
        continue;
      }
      place(item, message.seq);
      first = first || item;
    }
    return first;
  }

  function showUnstored(message) {
    const item = build(message);
    log.append(item);
    return item;
  }

  // Show the start of what just arrived: urgent guidance comes first and must be seen.
  function showFrom(item) {
    if (item) { item.scrollIntoView({ block: "start" }); }
  }

  // "radera", or the conversation is gone: nothing of it stays on the screen or stored.
  function forget() {
    conversationId = null;
    lastSeq = 0;
    shown = new Set();
    pending = null;
    saveId(null);
    for (const item of Array.from(log.querySelectorAll(".msg"))) { item.remove(); }
  }

  function welcome() {
    showUnstored({
      author: "bot",
      text: "Hej! Skriv vad du undrar över, till exempel \"min son vill inte gå till skolan\".",
    });
  }

  // The stored messages after `after`, every page of them (the server answers a page at a
  // time); null when the conversation does not exist (any more).
  async function fetchStored(id, after) {
    let messages = [];
    for (;;) {
      const response = await fetch(
        "/api/chat/" + encodeURIComponent(id) + "?after=" + after, { cache: "no-store" });
      if (response.status === 404) { return null; }
      if (!response.ok) { throw new Error("status " + response.status); }
      const page = await response.json();
      messages = messages.concat(page.messages);
      if (!page.has_more || !page.messages.length) { return messages; }
      after = page.messages[page.messages.length - 1].seq;
    }
  }

  // --- Sending and polling ---

  async function post(text, action) {
    const response = await fetch("/api/chat", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({
        conversation_id: conversationId, text: text, municipality: kommun, action: action || null,
      }),
    });
    if (!response.ok) {
      const error = new Error("status " + response.status);
      error.status = response.status;
      error.retryAfter = Number(response.headers.get("Retry-After")) || 0;
      throw error;
    }
    return response.json();
  }

  // Why a message did not go out, said kindly: too many too fast (429), a conversation that
  // is full (409), or anything else.
  function failureLine(error) {
    if (error.status === 429) {
      const wait = error.retryAfter > 0 ? " (ungefär " + error.retryAfter + " sekunder)" : "";
      return "Du har skickat många meddelanden på kort tid. Vänta en liten stund" + wait +
        " och skicka sedan igen. Är någon i fara: ring 112.";
    }
    if (error.status === 409) {
      return "Samtalet har blivit så långt att det inte går att skriva mer i det. Skriv " +
        "\"radera\" för att ta bort det och börja om. Är någon i fara: ring 112.";
    }
    return "Det gick inte att skicka just nu. Försök igen. Är någon i fara: ring 112.";
  }

  async function send(text, action) {
    if (busy || !text.trim()) { return; }
    busy = true;
    sendButton.disabled = true;
    status.textContent = "Skickar …";
    const mine = showUnstored({ author: "parent", text: text });
    mine.classList.add("msg--pending");
    pending = mine;
    showFrom(mine);
    try {
      let data;
      try {
        data = await post(text, action);
      } catch (error) {
        mine.classList.replace("msg--pending", "msg--failed");
        pending = null;
        status.textContent = failureLine(error);
        return;
      }
      if (data.deleted) {
        forget();
        showFrom(data.messages.map(showUnstored)[0]);
      } else {
        conversationId = data.conversation_id;
        saveId(conversationId);
        showFrom(await catchUp(data));
      }
      status.textContent = "";
    } finally {
      busy = false;
      sendButton.disabled = false;
    }
  }

  // After a message: everything stored since the last read, which is the parent's message,
  // the replies, and whatever else was stored meanwhile (a thank-you for a rating, a lots's
  // reply that came just before).
  async function catchUp(data) {
    try {
      const messages = await fetchStored(conversationId, lastSeq);
      if (messages !== null) { return showStored(messages); }
    } catch (error) { /* fall back on the replies as the answer brought them */ }
    if (pending) { pending.classList.remove("msg--pending"); }
    pending = null;
    lastSeq = Math.max(lastSeq, data.last_seq);
    return data.messages.map(showUnstored)[0];
  }

  async function poll() {
    const id = conversationId;
    if (!id || busy || polling) { return; }
    polling = true;
    const initial = lastSeq === 0;
    try {
      const messages = await fetchStored(id, lastSeq);
      if (busy || id !== conversationId) { return; } // a message went out meanwhile
      if (messages === null) { // deleted ("radera" elsewhere) or from another browser
        forget();
        welcome();
        return;
      }
      const first = showStored(messages);
      showFrom(initial ? log.lastElementChild : first);
    } catch (error) {
      /* offline for a moment: try again at the next tick */
    } finally {
      polling = false;
    }
  }

  // --- The form ---

  function fit() { // the field grows with the text, up to its CSS max-height
    input.style.height = "auto";
    input.style.height = input.scrollHeight + 4 + "px";
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const text = input.value;
    input.value = "";
    fit();
    send(text, null);
    input.focus();
  });

  input.addEventListener("input", fit);
  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey) {
      event.preventDefault();
      form.requestSubmit();
    }
  });

  if (conversationId) { poll(); } else { welcome(); }
  window.setInterval(poll, POLL_MS);
})();
