// BTS-bot local web chat: renders the bot's transport-neutral messages (text, buttons, links, forms).
// Every text is HTML-escaped before the markdown-lite (**bold**, _italic_, "- " lists, [label](url))
// is applied, and only http(s) links become anchors; phone numbers and e-mail addresses in the text
// become tel:/mailto: links. The page's own texts come from content (data-texts) in nb and nn. No external resources; no message text is kept
// anywhere but in the page itself (the session id in localStorage is random and carries no text).
"use strict";

(function () {
  const log = document.getElementById("chat-log");
  const composer = document.getElementById("chat-form");
  const input = document.getElementById("chat-input");
  const sendButton = document.getElementById("chat-send");
  const errorLine = document.getElementById("chat-error");
  const typing = document.getElementById("chat-typing");
  const pageLang = document.documentElement.lang || "nb";
  const ALL_TEXTS = JSON.parse(document.body.dataset.texts || "{}");
  let lang = pageLang;
  let busy = false;

  // Page texts in the language of the latest reply (nb or nn), falling back to the page's own.
  function t(key) {
    const texts = ALL_TEXTS[lang] || ALL_TEXTS[pageLang] || {};
    return texts[key] || (ALL_TEXTS[pageLang] || {})[key] || "";
  }

  // ---- session ---------------------------------------------------------------------------------

  function newSession() {
    const bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  function loadSession() {
    try {
      const stored = localStorage.getItem("bts-session");
      if (stored && /^[A-Za-z0-9_-]{8,64}$/.test(stored)) return { id: stored, isNew: false };
      const id = newSession();
      localStorage.setItem("bts-session", id);
      localStorage.removeItem("bts-lang");
      return { id, isNew: true };
    } catch (err) {
      // Storage blocked (private mode, policy): chat still works for this page view.
      return { id: newSession(), isNew: true };
    }
  }

  const { id: session, isNew } = loadSession();

  // The language the user chose in the chat, so "welcome back" after a reload speaks it too.
  function remember(key, value) {
    try { localStorage.setItem(key, value); } catch (err) { /* storage blocked: fine */ }
  }
  try { lang = localStorage.getItem("bts-lang") || lang; } catch (err) { /* storage blocked */ }

  // The page's own texts (title, subtitle, placeholder, labels) in the chat's current language.
  function applyTexts() {
    document.documentElement.lang = lang;
    document.title = t("title");
    document.querySelectorAll("[data-text]").forEach((node) => { node.textContent = t(node.dataset.text); });
    document.querySelectorAll("[data-text-placeholder]").forEach((node) => {
      node.placeholder = t(node.dataset.textPlaceholder);
    });
    document.querySelectorAll("[data-text-label]").forEach((node) => {
      node.setAttribute("aria-label", t(node.dataset.textLabel));
    });
  }

  // ---- markdown-lite ---------------------------------------------------------------------------

  const ESCAPES = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };
  const LINK = /\[([^\]\n]+)\]\(([^)\s]+)\)/g;

  function escapeHtml(text) {
    return String(text).replace(/[&<>"']/g, (c) => ESCAPES[c]);
  }

  function emphasis(escaped) {
    return escaped
      .replace(/\*\*(.+?)\*\*/g, "<strong>$1</strong>")
      .replace(/(^|[\s(«"])_(.+?)_(?=[\s).,:;!?»"]|$)/g, "$1<em>$2</em>");
  }

  function isWebUrl(url) {
    return /^https?:\/\/[^\s]+$/i.test(url);
  }

  // Contacts a person can tap: e-mail addresses; the short emergency and help numbers (110, 112,
  // 113, 116 111, 116 117, 116 123) and Norwegian 8-digit numbers, optionally after +47 and grouped
  // by spaces ("75 10 10 00", "901 23 456"). Digits that are part of something longer (a date, a
  // year, a longer number) stay text.
  const CONTACT = new RegExp(
    "([A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\\.[A-Za-z0-9-]+)*\\.[A-Za-z]{2,})" +
      "|(?<![\\w+.,/:-])((?:\\+47[ \u00a0]?)?(?:\\d{2}(?:[ \u00a0]?\\d{2}){3}|\\d{3}[ \u00a0]?\\d{2}[ \u00a0]?\\d{3})" +
      "|116[ \u00a0]?1(?:11|17|23)|11[023])(?![\\w@]|[.,:/-]\\d)",
    "g",
  );
  // Stand-ins for the links while the text is escaped and emphasised (private-use characters).
  const HOLE = /\uE000(\d+)\uE001/g;

  function contactLink(email, phone) {
    if (email) return '<a href="mailto:' + escapeHtml(email) + '">' + escapeHtml(email) + "</a>";
    return '<a href="tel:' + phone.replace(/[^\d+]/g, "") + '">' + escapeHtml(phone) + "</a>";
  }

  // Plain text: the contacts are cut out, the rest escaped and emphasised, then the links put back.
  function plain(raw) {
    const links = [];
    const holed = raw.replace(/[\uE000\uE001]/g, "").replace(CONTACT, (_m, email, phone) => {
      links.push(contactLink(email, phone));
      return "\uE000" + (links.length - 1) + "\uE001";
    });
    return emphasis(escapeHtml(holed)).replace(HOLE, (_m, i) => links[Number(i)]);
  }

  // One line: links are cut out first so emphasis never reaches into a URL.
  function inline(raw) {
    let html = "";
    let last = 0;
    for (const match of raw.matchAll(LINK)) {
      html += plain(raw.slice(last, match.index));
      const label = emphasis(escapeHtml(match[1]));
      html += isWebUrl(match[2])
        ? '<a href="' + escapeHtml(match[2]) + '" target="_blank" rel="noopener noreferrer">' +
          label + "</a>"
        : label;
      last = match.index + match[0].length;
    }
    return html + plain(raw.slice(last));
  }

  function renderText(text) {
    const out = [];
    let list = false;
    for (const line of String(text || "").split("\n")) {
      const trimmed = line.trim();
      if (trimmed.startsWith("- ")) {
        if (!list) { out.push("<ul>"); list = true; }
        out.push("<li>" + inline(trimmed.slice(2)) + "</li>");
        continue;
      }
      if (list) { out.push("</ul>"); list = false; }
      if (trimmed) out.push("<p>" + inline(trimmed) + "</p>");
    }
    if (list) out.push("</ul>");
    return out.join("");
  }

  class ServerError extends Error {}

  // ---- rendering -------------------------------------------------------------------------------

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function showError(text) {
    errorLine.textContent = text;
    errorLine.hidden = !text;
  }

  function addUser(text) {
    const div = el("div", "msg user", text);
    div.dataset.testid = "user-message";
    log.appendChild(div);
    return div;
  }

  function fieldOptions(field) {
    if (field.options && field.options.length) return field.options;
    if (field.kind === "yesno") return [{ label: t("yes"), value: "yes" }, { label: t("no"), value: "no" }];
    const low = field.minimum ?? 1;
    const high = field.maximum ?? 5;
    const options = [];
    for (let v = low; v <= high && options.length < 20; v += 1) options.push({ label: String(v), value: String(v) });
    return options;
  }

  function fieldInput(field, given) {
    if (field.kind === "multi") {
      // Checkboxes; the values go back joined by commas, as every platform sends them.
      const set = el("fieldset", "field checks multi");
      set.appendChild(el("legend", "", field.label));
      for (const opt of field.options || []) {
        const label = el("label", "check");
        const box = document.createElement("input");
        box.type = "checkbox"; box.name = field.name; box.value = opt.value;
        box.checked = given.split(",").includes(opt.value);
        label.append(box, el("span", "", opt.label));
        set.appendChild(label);
      }
      return set;
    }
    if (field.kind === "scale" || field.kind === "yesno") {
      const set = el("fieldset", "field radios " + field.kind);
      set.appendChild(el("legend", "", field.label));
      for (const opt of fieldOptions(field)) {
        const label = el("label", "radio");
        const radio = document.createElement("input");
        radio.type = "radio"; radio.name = field.name; radio.value = opt.value; radio.required = field.required;
        radio.checked = given !== "" && given === opt.value;
        label.append(radio, el("span", "", opt.label));
        set.appendChild(label);
      }
      return set;
    }
    const wrap = el("label", "field " + field.kind);
    wrap.appendChild(el("span", "field-label", field.label));
    let control;
    if (field.kind === "choice") {
      control = document.createElement("select");
      const empty = el("option", "", t("choose"));
      empty.value = "";
      control.appendChild(empty);
      for (const opt of field.options || []) {
        const option = el("option", "", opt.label);
        option.value = opt.value;
        control.appendChild(option);
      }
    } else {
      control = document.createElement("input");
      if (field.kind === "number") {
        control.type = "number";
        control.inputMode = "numeric";
        if (field.minimum !== null && field.minimum !== undefined) control.min = String(field.minimum);
        if (field.maximum !== null && field.maximum !== undefined) control.max = String(field.maximum);
      } else {
        control.type = "text";
        control.maxLength = field.max_length || 300;
        control.placeholder = field.placeholder || "";
      }
    }
    control.name = field.name;
    control.required = field.required;
    if (given) control.value = given;  // shown again after a misfit: what was given stays
    wrap.appendChild(control);
    return wrap;
  }

  function renderForm(spec, holder) {
    const form = el("form", "bot-form");
    if (spec.title) {
      const title = el("p", "form-title", spec.title);
      title.id = "form-title-" + Math.random().toString(36).slice(2);
      form.setAttribute("aria-labelledby", title.id);
      form.appendChild(title);
    }
    const body = el("fieldset", "form-body");
    const given = Object.fromEntries(spec.values || []);
    for (const field of spec.fields) body.appendChild(fieldInput(field, given[field.name] || ""));
    const submit = el("button", "choice primary submit", spec.submit_label);
    submit.type = "submit";
    body.appendChild(submit);
    form.appendChild(body);
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const values = {};
      for (const field of spec.fields) values[field.name] = "";
      for (const [name, value] of new FormData(form).entries()) {
        values[name] = values[name] ? values[name] + "," + String(value) : String(value);
      }
      const turn = { action: spec.action, form: values };
      if (spec.value) turn.value = spec.value;
      send(turn, { holder, echo: t("form_sent") });
    });
    return form;
  }

  function renderMessage(message, replyLang) {
    const div = el("div", "msg bot");
    div.lang = replyLang;
    div.dataset.testid = "bot-message";
    if (message.topic) div.dataset.topic = message.topic;
    const body = el("div", "text");
    body.innerHTML = renderText(message.text);
    div.appendChild(body);
    if (message.image && isWebUrl(message.image.url)) {
      // The chart is served by this same server: load it by path, so it stays same-origin.
      const img = el("img", "chart");
      img.src = new URL(message.image.url).pathname;
      img.alt = message.image.alt || "";
      div.appendChild(img);
    }
    const links = (message.links || []).filter((link) => isWebUrl(link.url));
    if (links.length) {
      const row = el("p", "links");
      for (const link of links) {
        const a = el("a", "", link.label);
        a.href = link.url; a.target = "_blank"; a.rel = "noopener noreferrer";
        row.appendChild(a);
      }
      div.appendChild(row);
    }
    if (message.form) div.appendChild(renderForm(message.form, div));
    if (message.buttons && message.buttons.length) {
      const row = el("div", "choices");
      for (const b of message.buttons) {
        const style = b.style === "primary" || b.style === "danger" ? " " + b.style : "";
        const btn = el("button", "choice" + style, b.description ? undefined : b.label);
        if (b.description) {
          // A symbol (👍) with its words beside it: readable without an emoji font, and the
          // name a screen reader says.
          btn.append(el("span", "symbol", b.label), el("span", "", b.description));
          btn.firstChild.setAttribute("aria-hidden", "true");
          btn.setAttribute("aria-label", b.description);
        }
        btn.type = "button";
        btn.addEventListener("click", () => send({ action: b.action, value: b.value }, { holder: div, echo: b.label }));
        row.appendChild(btn);
      }
      div.appendChild(row);
    }
    if (message.footer) div.appendChild(el("div", "footer", message.footer));
    return div;
  }

  function setControls(holder, disabled) {
    if (!holder) return;
    holder.querySelectorAll("button, input, select, fieldset.form-body").forEach((node) => {
      node.disabled = disabled;
    });
    holder.setAttribute("aria-busy", disabled ? "true" : "false");
  }

  function showReply(reply, origin) {
    if (reply.lang && reply.lang !== lang) {
      lang = reply.lang;
      remember("bts-lang", lang);
      applyTexts();
    }
    const nodes = reply.messages.map((message) => renderMessage(message, lang));
    if (!nodes.length) return;
    const holder = origin && origin.holder;
    const hadFocus = holder && holder.contains(document.activeElement);
    if (reply.replace && holder && holder.isConnected) {
      holder.replaceWith(nodes[0]);
      let last = nodes[0];
      for (const node of nodes.slice(1)) { last.after(node); last = node; }
    } else {
      if (holder) {
        // The old message stays as history; its buttons can no longer be pressed.
        setControls(holder, true);
        holder.removeAttribute("aria-busy");
        if (origin.echo) addUser(origin.echo);
      }
      for (const node of nodes) log.appendChild(node);
    }
    nodes[0].scrollIntoView({ block: "nearest" });
    if (hadFocus || (holder && document.activeElement === document.body)) {
      // Keyboard users continue from the new answer instead of the top of the page.
      nodes[0].tabIndex = -1;
      nodes[0].focus({ preventScroll: true });
    }
  }

  async function post(body) {
    const response = await fetch("/api/webchat/turn", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ session, ...body }),
    });
    const data = await response.json().catch(() => ({}));
    if (!response.ok || !data.reply) {
      throw new ServerError(data.error || response.statusText || String(response.status));
    }
    return data.reply;
  }

  function reportError(err) {
    showError(err instanceof ServerError ? t("error_prefix") + " " + err.message : t("offline"));
  }

  // "BTS-bot skriver …" while a turn is under way; a status region, so screen readers hear it.
  function showTyping(on) {
    // The region stays in place (a live region that appears with its text is not always read).
    typing.textContent = on ? t("typing") : "";
  }

  // origin: {holder, echo} when a button or form inside a bot message sent the turn.
  // Resolves to the reply shown, or null when there was none (an error, or already busy).
  async function send(body, origin) {
    if (busy) return null;
    busy = true;
    showError("");
    sendButton.disabled = true;
    const holder = origin && origin.holder;
    setControls(holder, true);
    showTyping(true);
    try {
      const reply = await post(body);
      showTyping(false);
      showReply(reply, origin);
      return reply;
    } catch (err) {
      showTyping(false);
      setControls(holder, false);
      reportError(err);
      return null;
    } finally {
      busy = false;
      sendButton.disabled = false;
    }
  }

  composer.addEventListener("submit", async (event) => {
    event.preventDefault();
    const text = input.value.trim();
    if (!text || busy) return;
    input.value = "";
    const bubble = addUser(text);
    const reply = await send({ text }, null);
    if (!reply) {
      // Nothing was answered: give the text back so it can be sent again.
      bubble.remove();
      if (!input.value) input.value = text;
    } else if (reply.personal_data) {
      // The guard refused it: what was typed must not stay on screen either.
      bubble.textContent = t("pii_removed");
      bubble.classList.add("removed");
    }
    input.focus();
  });

  async function welcome() {
    try {
      const response = await fetch("/api/webchat/welcome?session=" + encodeURIComponent(session));
      const data = await response.json().catch(() => ({}));
      if (!response.ok || !data.reply) throw new ServerError(data.error || response.statusText);
      showReply(data.reply, null);
    } catch (err) {
      reportError(err);
    }
  }

  applyTexts();
  // Back in a stored conversation: the server offers "Fortsett der du var" when there is a place
  // to go back to. No focus on the input: on a phone that would open the keyboard over the answer.
  if (isNew) welcome(); else send({ action: "help:returning" }, null);
})();
