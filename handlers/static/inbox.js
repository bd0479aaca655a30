// Case page: poll for new messages so parent replies appear without reloading.
(function () {
  "use strict";
  var list = document.getElementById("messages");
  if (!list) return;
  var caseId = list.dataset.case;
  var after = parseInt(list.dataset.after || "0", 10);
  var AUTHORS = { parent: "Förälder", bot: "Familjeguiden", coordinator: "Lots", system: "System" };
  var STATUS = { new: "Ny", assigned: "Tilldelad", waiting_for_parent: "Väntar på förälder", closed: "Avslutad" };
  var INTERVAL_MS = 4000;

  function stamp(iso) {
    var d = new Date(/[zZ]|[+-]\d\d:\d\d$/.test(iso) ? iso : iso + "Z");
    return d.toLocaleString("sv-SE", { timeZone: "Europe/Stockholm", dateStyle: "short", timeStyle: "short" });
  }

  function add(message) {
    if (list.querySelector('[data-seq="' + message.seq + '"]')) return;
    var item = document.createElement("li");
    item.className = "msg " + message.author + " fresh";
    item.dataset.seq = String(message.seq);
    var who = document.createElement("span");
    who.className = "who";
    who.textContent = AUTHORS[message.author] || message.author;
    var when = document.createElement("time");
    when.textContent = stamp(message.created_at);
    var text = document.createElement("p");
    text.textContent = message.text; // textContent: parent text is never parsed as HTML
    item.append(who, " ", when, text);
    list.appendChild(item);
  }

  // A closed case takes no reply; when the parent writes again it opens, and the reply
  // form comes back (after a reload if the page was loaded while the case was closed).
  function showReplyForm(open) {
    var form = document.getElementById("reply-form");
    var closed = document.getElementById("closed-note");
    var reopened = document.getElementById("reopened-note");
    if (form) form.hidden = !open;
    if (closed) closed.hidden = open;
    if (reopened) reopened.hidden = !open || Boolean(form);
  }

  async function poll() {
    try {
      var response = await fetch("/inbox/cases/" + caseId + "/messages.json?after=" + after, {
        credentials: "same-origin",
        headers: { Accept: "application/json" },
      });
      if (response.ok) {
        var body = await response.json();
        body.messages.forEach(function (m) {
          add(m);
          after = Math.max(after, m.seq);
        });
        var status = document.getElementById("case-status");
        if (status && STATUS[body.status]) status.textContent = STATUS[body.status];
        showReplyForm(body.status !== "closed");
      }
    } catch (error) {
      // Offline for a moment: the next poll tries again.
    }
    window.setTimeout(poll, INTERVAL_MS);
  }

  window.setTimeout(poll, INTERVAL_MS);
})();
