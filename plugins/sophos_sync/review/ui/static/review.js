// Support's review page. Data only ever goes into the page as text (textContent), never as HTML; every
// URL is relative to the page; writes carry the CSRF token the session endpoint hands out.
"use strict";

const state = { status: "open", sort: "amount_desc", session: null, data: null };
const $ = (selector) => document.querySelector(selector);

function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) {
    if (key === "onclick" || key === "oninput") node[key] = value;
    else node.setAttribute(key, value);
  }
  for (const child of children) {
    if (child !== null && child !== undefined) node.append(child);
  }
  return node;
}

async function api(path, options = {}) {
  const response = await fetch(path, { credentials: "same-origin", ...options });
  if (response.status === 401) {
    window.top.location.href = new URL("../plugin/unmapped-sophos-customers", document.baseURI).href;
    throw new Error("Your Airflow session has ended.");
  }
  const body = await response.json().catch(() => ({}));
  if (!response.ok) {
    const error = new Error(body.detail || `The server answered ${response.status}.`);
    error.status = response.status;
    error.body = body;
    throw error;
  }
  return body;
}

function showMessage(text, kind, extra = null) {
  const box = $("#message");
  box.replaceChildren(el("span", {}, text), extra ? " " : null, extra);
  box.className = kind;
  box.hidden = false;
}

function when(iso) {
  return iso ? iso.slice(0, 16).replace("T", " ") : "";
}

async function resolve(row, org, force = false) {
  try {
    const result = await api(`api/customers/${encodeURIComponent(row.sophos_customer_id)}/resolve`, {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": state.session.csrf_token },
      body: JSON.stringify({ org_id: org.org_id, force }),
    });
    await load();
    showMessage(result.message, "ok");
  } catch (error) {
    const replace = error.body && error.body.replaceable
      ? el("button", {
          type: "button", class: "act danger",
          onclick: () => resolve(row, org, true),
        }, `Replace the mapping with ${org.name || org.org_id}`)
      : null;
    showMessage(error.message, "error", replace);
  }
}

function resolveButton(row, org, label) {
  return el("button", {
    type: "button", class: "act",
    "aria-label": `Resolve ${row.name} to ${org.name}`,
    onclick: () => resolve(row, org),
  }, label);
}

function typeahead(row, prompt) {
  const list = el("ul", { class: "candidates" });
  let timer = null;
  const input = el("input", {
    type: "search", placeholder: prompt, "aria-label": `${prompt} for ${row.name}`,
    oninput: () => {
      clearTimeout(timer);
      timer = setTimeout(async () => {
        const query = encodeURIComponent(input.value.trim());
        try {
          const found = await api(`api/customers/${encodeURIComponent(row.sophos_customer_id)}/organizations?q=${query}`);
          const typed = input.value.trim();
          const items = found.organizations.map((org) =>
            el("li", {}, resolveButton(row, org, "Resolve"), `${org.name} (${org.org_id})`));
          // An org id copied from the Platform is tried as typed; the server says why when it is refused.
          if (typed && !found.organizations.some((org) => org.org_id === typed)) {
            items.push(el("li", {}, resolveButton(row, { org_id: typed, name: typed }, "Resolve"),
              `to the organization id "${typed}"`));
          }
          list.replaceChildren(...items);
        } catch (error) {
          showMessage(error.message, "error");
        }
      }, 250);
    },
  });
  return el("div", { class: "typeahead" }, input, list);
}

function customerCell(row) {
  return el("td", {},
    el("strong", {}, row.name || "(no name)"),
    row.show_as ? el("div", { class: "muted" }, `shows as ${row.show_as}`) : null,
    el("div", { class: "muted id" }, row.sophos_customer_id),
    el("div", { class: "muted" }, `${row.subscription_count} subscription(s)`));
}

function amountCell(row) {
  const amount = row.amount;
  return el("td", { class: "amount" },
    el("div", {}, amount.text),
    amount.value !== null && amount.month ? el("div", { class: "muted" }, `billed in ${amount.month}`) : null);
}

function openLastCell(row) {
  if (row.reason === "unknown_seller") {
    return el("td", { class: "candidates-cell" }, el("p", {}, row.todo));
  }
  const canResolve = state.session.can_resolve;
  const items = row.candidates.map((candidate) =>
    el("li", {},
      el("span", { class: "score" }, `${candidate.score.toFixed(1)}%`),
      el("span", {}, `${candidate.name} (${candidate.org_id})`),
      canResolve ? resolveButton(row, candidate, "Resolve") : null));
  return el("td", { class: "candidates-cell" },
    items.length ? el("ul", { class: "candidates" }, ...items) : el("div", { class: "muted" }, "no similar organization"),
    canResolve ? typeahead(row, `Any organization of ${row.seller_name || row.seller_id}`) : null);
}

function resolvedLastCell(row) {
  const resolved = row.resolved;
  return el("td", {},
    el("div", {}, `${resolved.org_name || "?"} (${resolved.org_id}) by ${resolved.by}, ${when(resolved.at)}`),
    state.session.can_resolve && row.seller_id ? typeahead(row, "Replace with another organization") : null);
}

function render() {
  const data = state.data;
  const counts = data.counts;
  $("#counts").replaceChildren(
    el("span", { class: "count" }, el("strong", {}, String(counts.open)), "open"),
    ...data.reasons.map((reason) =>
      el("span", { class: "count", title: reason.text }, el("strong", {}, String(counts[reason.reason])), reason.reason)),
    el("span", { class: "count" }, el("strong", {}, String(counts.resolved)), "resolved"));
  $("#tab-open").textContent = `Open (${counts.open})`;
  $("#tab-resolved").textContent = `Resolved (${counts.resolved})`;

  const sellerFilter = $("#seller-filter");
  const chosen = sellerFilter.value;
  sellerFilter.replaceChildren(el("option", { value: "" }, "All sellers"),
    ...data.sellers.map((seller) => el("option", { value: seller.seller_id }, `${seller.name} (${seller.seller_id})`)));
  sellerFilter.value = chosen;
  const reasonFilter = $("#reason-filter");
  if (reasonFilter.options.length === 1) {
    reasonFilter.append(...data.reasons.map((reason) => el("option", { value: reason.reason }, `${reason.reason}: ${reason.text}`)));
  }

  $("#sort-amount").textContent = data.sort === "amount_asc" ? "Amount ▲" : data.sort === "amount_desc" ? "Amount ▼" : "Amount";
  $("#last-column").textContent = state.status === "open" ? "Candidate organizations (similarity)" : "Resolved to";
  const rows = data.customers.map((row) =>
    el("tr", { "data-customer": row.sophos_customer_id },
      customerCell(row),
      el("td", {}, row.seller_id ? `${row.seller_name || ""} (${row.seller_id})` : `no seller (Sophos partner ${row.partner_id || "unknown"})`),
      el("td", {}, el("div", {}, row.reason_text), el("code", {}, row.reason)),
      amountCell(row),
      el("td", { class: "seen" }, el("div", {}, `first ${when(row.first_seen_at)}`), el("div", {}, `last ${when(row.last_seen_at)}`)),
      state.status === "open" ? openLastCell(row) : resolvedLastCell(row)));
  $("#customers tbody").replaceChildren(...rows);
  $("#empty").hidden = rows.length > 0;
  $("#shown").textContent = data.customers.length >= data.limit ? `showing the first ${data.limit}` : `${rows.length} shown`;
}

async function load() {
  const params = new URLSearchParams({ status: state.status, sort: state.sort });
  for (const [name, value] of new FormData($("#filters"))) {
    if (value) params.set(name, value);
  }
  state.data = await api(`api/customers?${params}`);
  render();
}

async function start() {
  try {
    state.session = await api("api/session");
    $("#who").textContent = `Signed in to Airflow as ${state.session.user}` +
      (state.session.can_resolve ? " (may resolve)" : " (read only: resolving needs edit access to the DAG)");
    for (const tab of document.querySelectorAll("[role=tab]")) {
      tab.onclick = () => {
        state.status = tab.dataset.status;
        state.sort = state.status === "open" ? "amount_desc" : "recent";
        for (const other of document.querySelectorAll("[role=tab]")) other.setAttribute("aria-selected", String(other === tab));
        $("#message").hidden = true;
        load().catch((error) => showMessage(error.message, "error"));
      };
    }
    $("#sort-amount").onclick = () => {
      state.sort = state.sort === "amount_desc" ? "amount_asc" : "amount_desc";
      load().catch((error) => showMessage(error.message, "error"));
    };
    $("#filters").onchange = () => load().catch((error) => showMessage(error.message, "error"));
    await load();
  } catch (error) {
    showMessage(error.message, "error");
  }
}

start();
