// BTS-bot local web chat: renders the bot's transport-neutral messages (text, buttons, links, forms).
// All text is escaped before the markdown-lite (**bold**, _italic_, "- " lists, [label](url)) is applied.
"use strict";

(function () {
  const log = document.getElementById("chat-log");
  const form = document.getElementById("chat-form");
  const input = document.getElementById("chat-input");
  const errorLine = document.getElementById("chat-error");
  const T = JSON.parse(document.body.dataset.texts || "{}");

  function newSession() {
    const bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  let session = localStorage.getItem("bts-session");
  const isNew = !session;
  if (isNew) {
    session = newSession();
    localStorage.setItem("bts-session", session);
  }

  function escapeHtml(text) {
    return text.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
  }

  function inline(escaped) {
    return escaped
      .replace(/\*\*(.+?)\*\*/g, "<strong>$1</strong>")
      .replace(/(^|[\s(])_(.+?)_(?=[\s).,!?]|$)/g, "$1<em>$2</em>")
      .replace(/\[([^\]]+)\]\((https?:\/\/[^)\s]+)\)/g, '<a href="$2" target="_blank" rel="noopener noreferrer">$1</a>');
  }

  function renderText(text) {
    const out = [];
    let list = false;
    for (const raw of text.split("\n")) {
      const line = inline(escapeHtml(raw.trim()));
      if (line.startsWith("- ")) {
        if (!list) { out.push("<ul>"); list = true; }
        out.push("<li>" + line.slice(2) + "</li>");
        continue;
      }
      if (list) { out.push("</ul>"); list = false; }
      if (line) out.push("<p>" + line + "</p>");
    }
    if (list) out.push("</ul>");
    return out.join("");
  }

  function showError(text) {
    errorLine.textContent = text;
    errorLine.hidden = !text;
  }

  function addUser(text) {
    const div = document.createElement("div");
    div.className = "msg user";
    div.textContent = text;
    log.appendChild(div);
  }

  function fieldInput(field) {
    const wrap = document.createElement(field.kind === "text" || field.kind === "number" || field.kind === "choice" ? "label" : "fieldset");
    const title = document.createElement(wrap.tagName === "FIELDSET" ? "legend" : "span");
    title.textContent = field.label;
    wrap.appendChild(title);
    if (field.kind === "scale" || field.kind === "yesno") {
      const options = field.kind === "yesno"
        ? [{ label: T.yes, value: "yes" }, { label: T.no, value: "no" }]
        : Array.from({ length: (field.maximum ?? 5) - (field.minimum ?? 1) + 1 }, (_, i) => {
            const v = String((field.minimum ?? 1) + i);
            return { label: v, value: v };
          });
      for (const opt of options) {
        const l = document.createElement("label");
        const r = document.createElement("input");
        r.type = "radio"; r.name = field.name; r.value = opt.value; r.required = field.required;
        l.append(r, " " + opt.label + " ");
        wrap.appendChild(l);
      }
    } else if (field.kind === "choice") {
      const select = document.createElement("select");
      select.name = field.name; select.required = field.required;
      const empty = document.createElement("option");
      empty.value = ""; empty.textContent = T.choose;
      select.appendChild(empty);
      for (const opt of field.options) {
        const o = document.createElement("option");
        o.value = opt.value; o.textContent = opt.label;
        select.appendChild(o);
      }
      wrap.appendChild(select);
    } else {
      const i = document.createElement("input");
      i.name = field.name; i.required = field.required;
      if (field.kind === "number") {
        i.type = "number";
        if (field.minimum !== null) i.min = field.minimum;
        if (field.maximum !== null) i.max = field.maximum;
      } else {
        i.type = "text"; i.maxLength = field.max_length; i.placeholder = field.placeholder || "";
      }
      wrap.appendChild(i);
    }
    return wrap;
  }

  function renderForm(spec, holder) {
    const f = document.createElement("form");
    f.className = "bot-form";
    for (const field of spec.fields) f.appendChild(fieldInput(field));
    const submit = document.createElement("button");
    submit.type = "submit"; submit.className = "choice primary"; submit.textContent = spec.submit_label;
    f.appendChild(submit);
    f.addEventListener("submit", (event) => {
      event.preventDefault();
      const values = {};
      for (const [name, value] of new FormData(f).entries()) values[name] = String(value);
      send({ action: spec.action, form: values }, holder, T.form_sent);
    });
    return f;
  }

  function renderMessage(message) {
    const div = document.createElement("div");
    div.className = "msg bot";
    div.innerHTML = renderText(message.text);
    if (message.links.length) {
      const links = document.createElement("p");
      links.className = "links";
      for (const link of message.links) {
        if (!/^https?:\/\//.test(link.url)) continue;
        const a = document.createElement("a");
        a.href = link.url; a.textContent = link.label; a.target = "_blank"; a.rel = "noopener noreferrer";
        links.appendChild(a);
      }
      div.appendChild(links);
    }
    if (message.form) div.appendChild(renderForm(message.form, div));
    if (message.buttons.length) {
      const row = document.createElement("div");
      row.className = "choices";
      for (const b of message.buttons) {
        const btn = document.createElement("button");
        btn.type = "button";
        btn.className = "choice" + (b.style !== "default" ? " " + b.style : "");
        btn.textContent = b.label;
        btn.addEventListener("click", () => send({ action: b.action, value: b.value }, div, b.label));
        row.appendChild(btn);
      }
      div.appendChild(row);
    }
    if (message.footer) {
      const foot = document.createElement("div");
      foot.className = "footer";
      foot.textContent = message.footer;
      div.appendChild(foot);
    }
    return div;
  }

  function showReply(reply, clicked) {
    const nodes = reply.messages.map(renderMessage);
    if (reply.replace && clicked && clicked.isConnected && nodes.length) {
      clicked.replaceWith(nodes[0]);
      let last = nodes[0];
      for (const node of nodes.slice(1)) { last.after(node); last = node; }
    } else {
      if (clicked) clicked.querySelectorAll("button.choice").forEach((b) => { b.disabled = true; });
      for (const node of nodes) log.appendChild(node);
    }
    const last = nodes[nodes.length - 1];
    if (last) last.scrollIntoView({ block: "nearest" });
  }

  async function send(body, clicked, echo) {
    showError("");
    if (echo && !(clicked && body.action)) addUser(echo);
    try {
      const response = await fetch("/api/webchat/turn", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ session, ...body }),
      });
      const data = await response.json().catch(() => ({}));
      if (!response.ok) {
        showError(T.error_prefix + " " + (data.error || response.statusText));
        return;
      }
      showReply(data.reply, clicked);
    } catch (err) {
      showError(T.offline);
    }
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const text = input.value.trim();
    if (!text) return;
    input.value = "";
    addUser(text);
    send({ text }, null, null);
  });

  async function welcome() {
    const response = await fetch("/api/webchat/welcome?session=" + encodeURIComponent(session));
    if (response.ok) showReply((await response.json()).reply, null);
  }

  if (isNew) {
    welcome();
  } else {
    addUserHint();
  }

  function addUserHint() {
    const div = document.createElement("div");
    div.className = "msg bot";
    div.innerHTML = renderText(T.welcome_back);
    log.appendChild(div);
  }
  input.focus();
})();
