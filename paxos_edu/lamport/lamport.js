// A Lamport (space-time) diagram of Paxos messages, drawn as SVG.
//
// An anywidget ES module: render({model, el}) reads model.get("data") (built by
// paxos_edu/lamport/model.py) and redraws on "change:data". The page never changes the
// simulation itself: a click on a message in flight sends {action, msg_id} to Python,
// which delivers or drops it in the Simulation and sends new data back. The offline
// export (export.py) calls the same render() with a stand-in model whose send() is unused.

const SVGNS = "http://www.w3.org/2000/svg";
const ROW_H = 24;        // px per event row
const TOP = 12;          // px above the first row
const LEFT = 70;         // px for the time axis
const RIGHT = 120;       // px right of the last lifeline (delivery labels of learners)
const MIN_LANE = 78;     // px between two lifelines, at least
const GROUP_GAP = 0.35;  // extra lane widths between two roles
const ROLE_COLORS = {client: "#009E73", proposer: "#0072B2", acceptor: "#B87800", learner: "#AA4499"};

function svg(tag, attrs = {}, parent = null) {
  const node = document.createElementNS(SVGNS, tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v !== null && v !== undefined) node.setAttribute(k, String(v));
  }
  if (parent) parent.appendChild(node);
  return node;
}

function html(tag, attrs = {}, parent = null, text = null) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") node.className = v;
    else if (v !== null && v !== undefined) node.setAttribute(k, String(v));
  }
  if (text !== null) node.textContent = text;
  if (parent) parent.appendChild(node);
  return node;
}

function human(name) {
  if (!name) return "?";
  const m = /^([a-z]+)(\d+)$/.exec(name);
  return m ? `${m[1]} ${m[2]}` : name;
}

function fmtTime(data, t) {
  if (t === null || t === undefined) return "";
  const v = (t - data.t0) * data.time_scale;
  const digits = data.time_unit === "ms" ? (Math.abs(v) < 100 ? 2 : 1) : 3;
  return `${v.toFixed(digits)} ${data.time_unit}`;
}

function layout(data, width) {
  const procs = data.processes;
  let slots = 0;
  const x = {};
  procs.forEach((p, i) => {
    if (i > 0 && procs[i - 1].role !== p.role) slots += GROUP_GAP;
    x[p.name] = slots;
    slots += 1;
  });
  const span = Math.max(slots - 1, 1);
  const lane = Math.max(MIN_LANE, (width - LEFT - RIGHT) / span);
  for (const k of Object.keys(x)) x[k] = LEFT + x[k] * lane + (procs.length === 1 ? lane / 2 : 0);
  const total = LEFT + span * lane + RIGHT;
  return {x, lane, width: Math.max(width, total)};
}


function render({model, el}) {
  // The widget's element may sit in a flex box (a Stepper, a VBox): take the box's width
  // instead of growing with the drawing, which scrolls inside.
  Object.assign(el.style, {display: "block", width: "100%", minWidth: "0", maxWidth: "100%", flex: "1 1 auto"});
  const root = html("div", {class: "lamport"}, el);
  const head = html("div", {class: "lamport-head"}, root);
  const title = html("div", {class: "lamport-title"}, head);
  const verdict = html("div", {class: "lamport-verdict"}, head);
  const controls = html("div", {class: "lamport-controls"}, root);
  const back = html("button", {class: "lamport-back", type: "button", title: "one event back"}, controls, "\u25C0");
  const scrub = html("input", {class: "lamport-scrub", type: "range", min: 0, max: 0, step: 1,
                               "aria-label": "events shown"}, controls);
  const fwd = html("button", {class: "lamport-forward", type: "button", title: "one event forward"}, controls, "\u25B6");
  const where = html("span", {class: "lamport-where"}, controls);
  const allBox = html("label", {class: "lamport-all"}, controls);
  const all = html("input", {type: "checkbox"}, allBox);
  allBox.appendChild(document.createTextNode(" heartbeats and copies to self"));
  const flyBox = html("label", {class: "lamport-all"}, controls);
  const fly = html("input", {type: "checkbox", class: "lamport-show-inflight"}, flyBox);
  flyBox.appendChild(document.createTextNode(" copies in flight"));
  fly.checked = (model.get("data") || {}).show_in_flight !== false;
  const event = html("div", {class: "lamport-event"}, root);
  const status = html("div", {class: "lamport-status"}, root);
  const scroller = html("div", {class: "lamport-scroll"}, root);
  const lanes = html("div", {class: "lamport-lanes"}, scroller);  // sticky: names stay in view
  const body = html("div", {class: "lamport-body"}, scroller);
  const legend = html("div", {class: "lamport-legend"}, root);
  const tip = html("div", {class: "lamport-tip", role: "tooltip"}, root);
  const menu = html("div", {class: "lamport-menu"}, root);
  tip.hidden = true;
  menu.hidden = true;

  let shown = null;       // events shown (the scrubber's value); null = all, following new ones
  let pending = false;    // a request is on its way to Python
  let lastRows = 0;
  let placeRow = (r) => TOP + r * ROW_H;  // y of a row in the last drawing (set by drawBody)

  const data = () => model.get("data") || {};

  function showTip(evt, lines) {
    tip.replaceChildren();
    lines.forEach(([cls, text]) => html("div", {class: cls}, tip, text));
    tip.hidden = false;
    place(tip, evt);
  }

  function place(box, evt) {
    const r = root.getBoundingClientRect();
    let left = evt.clientX - r.left + 14;
    let top = evt.clientY - r.top + 14;
    const w = box.offsetWidth || 280;
    const h = box.offsetHeight || 120;
    if (left + w > r.width - 4) left = Math.max(4, evt.clientX - r.left - w - 14);
    if (top + h > r.height - 4) top = Math.max(4, evt.clientY - r.top - h - 14);  // above the pointer
    box.style.left = `${left}px`;
    box.style.top = `${top}px`;
  }

  function messageTip(d, m, k) {
    const kind = d.kinds[m.kind] || {words: m.kind};
    const lines = [["lamport-tip-kind", kind.words]];
    lines.push(["", `${human(m.from)} \u2192 ${human(m.to)}` + (m.exact === false ? " (sender inferred)" : "")]);
    const facts = [];
    facts.push(`round ${m.round || "\u2013"}`);
    facts.push(`instance ${m.instance === null || m.instance === undefined ? "\u2013" : m.instance}`);
    lines.push(["lamport-tip-facts", facts.join(" \u00B7 ")]);
    if (m.values === null || m.values === undefined) {
      lines.push(["lamport-tip-values", "values: not logged by real processes"]);
    } else {
      lines.push(["lamport-tip-values", m.values.length ? `values: ${m.values.join(" | ")}` : "values: none"]);
    }
    if (m.summary) lines.push(["lamport-tip-summary", m.summary]);
    const sent = m.sent === null ? "" : `sent at ${fmtTime(d, m.t_sent)} (event ${m.sent + 1})`;
    let fate;
    const ended = m.end !== null && m.end < k;
    if (m.outcome === "unpaired") fate = `received at ${fmtTime(d, m.t_end)}; its send was not found in the log`;
    else if (m.outcome === "no receipt") fate = `no receipt logged (sent to the ${m.group || "group"})`;
    else if (!ended) fate = m.cut ? "received after the part shown (the diagram is cut)" : "in flight";
    else if (m.outcome === "delivered") {
      fate = `received at ${fmtTime(d, m.t_end)} (event ${m.end + 1})`;
      if (m.t_sent !== null && m.t_end < m.t_sent) fate += "; logged before its send, which the sender logs once sent";
    }
    else fate = `dropped at the receiver at ${fmtTime(d, m.t_end)} (${m.reason || "lost"})`;
    lines.push(["lamport-tip-time", [sent, fate].filter(Boolean).join("; ")]);
    if (m.clickable && k === d.rows.length && d.interactive) lines.push(["lamport-tip-hint", "click to deliver or drop it"]);
    return lines;
  }

  function openMenu(evt, m) {
    menu.replaceChildren();
    html("div", {class: "lamport-menu-what"}, menu, `${m.label}: ${human(m.from)} \u2192 ${human(m.to)}`);
    const deliver = html("button", {class: "lamport-deliver", type: "button"}, menu, "Deliver");
    const drop = html("button", {class: "lamport-drop", type: "button"}, menu, "Drop");
    const cancel = html("button", {class: "lamport-cancel", type: "button"}, menu, "Cancel");
    const ask = (action) => {
      if (pending) return;
      pending = true;
      root.classList.add("lamport-busy");
      status.textContent = `${action === "deliver" ? "delivering" : "dropping"} ${m.label} to ${human(m.to)}\u2026`;
      menu.hidden = true;
      model.send({action, msg_id: m.msg_id});
    };
    deliver.addEventListener("click", () => ask("deliver"));
    drop.addEventListener("click", () => ask("drop"));
    cancel.addEventListener("click", () => { menu.hidden = true; });
    tip.hidden = true;
    menu.hidden = false;
    place(menu, evt);
  }

  function draw() {
    const d = data();
    const rows = d.rows || [];
    const n = rows.length;
    if (shown === null || shown >= lastRows) shown = n;  // at the end: follow new events
    shown = Math.min(shown, n);
    lastRows = n;
    const k = shown;
    scrub.max = String(n);
    scrub.value = String(k);
    back.disabled = k === 0;
    fwd.disabled = k === n;
    title.textContent = d.title || "";
    drawVerdict(d);
    const last = k > 0 ? rows[k - 1] : null;
    where.textContent = `event ${k} of ${n}` + (last ? ` \u00B7 t = ${fmtTime(d, last.t)}` : "");
    event.textContent = last ? `last event: ${last.text}` : "no event yet";
    status.textContent = model.get("status") || "";
    const width = Math.max(root.clientWidth || el.clientWidth || 900, 480);
    const geo = layout(d, width - 2);
    drawLanes(d, geo);
    drawBody(d, geo, k);
    drawLegend(d, k);
    tip.hidden = true;
  }

  function drawVerdict(d) {
    verdict.replaceChildren();
    verdict.className = "lamport-verdict";
    if (d.violation) {
      verdict.classList.add("lamport-violated");
      const v = d.violation;
      const at = v.row === null || v.row === undefined ? "" : ` at event ${Math.floor(v.row) + 1}`;
      const link = html("button", {class: "lamport-violation-link", type: "button"}, verdict,
                        `\u2717 ${v.property} violated${at}: ${v.detail}`);
      link.addEventListener("click", () => {
        shown = Math.min(d.rows.length, Math.floor(v.row) + 1);
        draw();
        scroller.scrollTop = Math.max(0, placeRow(v.row) - scroller.clientHeight / 2);
      });
    } else if (d.checks) {
      const safe = d.checks.filter((c) => c.property !== "completeness");
      const ok = safe.every((c) => c.ok !== false);
      verdict.classList.add(ok ? "lamport-safe" : "lamport-violated");
      verdict.textContent = (ok ? "\u2713 safe so far: " : "\u2717 ") + safe.map((c) => c.property).join(", ") + (ok ? " hold" : "");
    }
  }

  function drawLanes(d, geo) {
    lanes.replaceChildren();
    const s = svg("svg", {width: geo.width, height: 46, class: "lamport-lanes-svg"}, lanes);
    const procs = d.processes;
    let start = 0;
    for (let i = 1; i <= procs.length; i++) {
      if (i === procs.length || procs[i].role !== procs[start].role) {
        const role = procs[start].role;
        const x0 = geo.x[procs[start].name] - geo.lane * 0.45;
        const x1 = geo.x[procs[i - 1].name] + geo.lane * 0.45;
        svg("rect", {x: x0, y: 2, width: x1 - x0, height: 18, rx: 4, class: "lamport-role-band",
                     fill: ROLE_COLORS[role] || "#888"}, s);
        const t = svg("text", {x: (x0 + x1) / 2, y: 15, class: "lamport-role", "text-anchor": "middle"}, s);
        t.textContent = `${role}s`;
        start = i;
      }
    }
    for (const p of procs) {
      const t = svg("text", {x: geo.x[p.name], y: 38, class: "lamport-proc", "text-anchor": "middle",
                             "data-process": p.name}, s);
      t.textContent = p.label;
    }
  }

  // Is message m drawn when k events are shown (and the boxes say what they say)?
  function drawn(d, m, k) {
    if (!all.checked && ((d.hidden_kinds || []).includes(m.kind) || m.self)) return false;
    if (m.outcome === "unpaired") return m.end !== null && m.end < k;
    if (m.outcome === "no receipt") return m.sent !== null && m.sent < k;
    if (m.sent === null || m.sent >= k) return false;
    return fly.checked || (m.end !== null && m.end < k);
  }

  function drawBody(d, geo, k) {
    const keepScroll = scroller.scrollTop;
    const atEnd = k === d.rows.length;
    body.replaceChildren();
    const n = d.rows.length;
    // Only rows with something drawn take room: hidden heartbeats or copies left in flight
    // would otherwise leave empty bands (with time labels of nothing).
    const shownMessages = d.messages.filter((m) => drawn(d, m, k));
    const usedSet = new Set();
    for (const m of shownMessages) {
      if (m.sent !== null && m.outcome !== "unpaired") usedSet.add(m.sent);
      if (m.end !== null && m.end < k) usedSet.add(m.end);
    }
    for (const mk of d.marks) if (mk.row < k && Number.isInteger(mk.row)) usedSet.add(mk.row);
    const used = [...usedSet].sort((a, b) => a - b);
    const below = (r) => { let lo = 0, hi = used.length; while (lo < hi) { const mid = (lo + hi) >> 1; if (used[mid] < r) lo = mid + 1; else hi = mid; } return lo; };
    const rowY = (r) => { const c = below(r); return TOP + (used[c] === r ? c : c - 0.5) * ROW_H + ROW_H / 2; };
    placeRow = rowY;
    // the "now" line leaves room below the last event, so copies sent by it do not lie flat
    const nowY = TOP + (used.length + 2) * ROW_H;
    const height = nowY + ROW_H;
    const s = svg("svg", {width: geo.width, height, class: "lamport-svg"}, body);
    const defs = svg("defs", {}, s);
    for (const [kind, info] of Object.entries(d.kinds)) {
      const mk = svg("marker", {id: `lamport-head-${kind}-${uid}`, viewBox: "0 0 10 10", refX: 9, refY: 5,
                                markerWidth: 7, markerHeight: 7, orient: "auto-start-reverse"}, defs);
      svg("path", {d: "M0,0 L10,5 L0,10 z", fill: info.color}, mk);
    }
    // time axis: a label where the time changes
    let prev = null;
    for (const r of used) {
      const label = fmtTime(d, d.rows[r].t);
      if (label !== prev) {
        const t = svg("text", {x: LEFT - 14, y: rowY(r) + 4, class: "lamport-time", "text-anchor": "end"}, s);
        t.textContent = label;
        svg("line", {x1: LEFT - 10, x2: LEFT - 4, y1: rowY(r), y2: rowY(r), class: "lamport-tick"}, s);
        prev = label;
      }
    }
    // violation: a red band on the row where it happens
    const v = d.violation;
    if (v && v.row !== null && v.row !== undefined && v.row < k) {
      svg("rect", {x: LEFT - 6, y: rowY(v.row) - ROW_H / 2, width: geo.width - LEFT, height: ROW_H,
                   class: "lamport-violation-band"}, s);
    }
    // lifelines (a crashed process's goes faint after its crash)
    const crashes = {};
    for (const m of d.marks) if (m.type === "crash" && m.row < k) crashes[m.process] = m.row;
    for (const p of d.processes) {
      const x = geo.x[p.name];
      const end = crashes[p.name];
      const yEnd = Math.max(nowY, rowY(k));
      if (end === undefined) {
        svg("line", {x1: x, x2: x, y1: 0, y2: yEnd, class: "lamport-lifeline", "data-process": p.name}, s);
      } else {
        svg("line", {x1: x, x2: x, y1: 0, y2: rowY(end), class: "lamport-lifeline", "data-process": p.name}, s);
        svg("line", {x1: x, x2: x, y1: rowY(end), y2: yEnd, class: "lamport-lifeline lamport-dead"}, s);
      }
    }
    // the "now" line
    svg("line", {x1: LEFT - 6, x2: geo.width - 8, y1: nowY, y2: nowY, class: "lamport-now"}, s);
    const nowText = svg("text", {x: LEFT - 14, y: nowY + 4, class: "lamport-now-label", "text-anchor": "end"}, s);
    nowText.textContent = "now";
    // messages
    const labelled = new Set();
    const layer = svg("g", {class: "lamport-messages"}, s);
    const labels = svg("g", {class: "lamport-labels"}, s);
    for (const m of shownMessages) {
      const color = (d.kinds[m.kind] || {color: "#444"}).color;
      if (m.outcome === "unpaired" || m.outcome === "no receipt") {
        const r = m.outcome === "unpaired" ? m.end : m.sent;
        const who = m.outcome === "unpaired" ? m.to : m.from;
        const g = svg("g", {class: `lamport-msg lamport-${m.outcome === "unpaired" ? "unpaired" : "noreceipt"}`,
                            "data-kind": m.kind, "data-key": m.key}, layer);
        const x = geo.x[who];
        const dx = m.outcome === "unpaired" ? -14 : 14;
        svg("line", {x1: x + dx, x2: x, y1: rowY(r) - 6, y2: rowY(r), stroke: color, class: "lamport-line"}, g);
        svg("line", {x1: x + dx, x2: x, y1: rowY(r) - 6, y2: rowY(r), class: "lamport-hit"}, g);
        hook(g, d, m, k);
        continue;
      }
      const x0 = geo.x[m.from], y0 = rowY(m.sent), x1 = geo.x[m.to];
      if (x0 === undefined || x1 === undefined) continue;
      const ended = m.end !== null && m.end < k;
      let cls, y1;
      if (ended && m.outcome === "delivered") { cls = "lamport-delivered"; y1 = rowY(m.end); }
      else if (ended) { cls = "lamport-dropped"; y1 = rowY(m.end); }
      else { cls = "lamport-inflight"; y1 = nowY; }
      const live = cls === "lamport-inflight" && m.clickable && d.interactive && k === n;
      const g = svg("g", {class: `lamport-msg ${cls}${live ? " lamport-clickable" : ""}${m.exact === false ? " lamport-inferred" : ""}`,
                          "data-kind": m.kind, "data-key": m.key, "data-msg-id": m.msg_id,
                          "data-from": m.from, "data-to": m.to, "data-label": m.label,
                          "data-outcome": ended ? m.outcome : "in flight"}, layer);
      const headed = cls === "lamport-delivered";  // a drop ends in a cross, a copy in flight in a ring
      svg("line", {x1: x0, y1: y0, x2: x1, y2: y1, stroke: color, class: "lamport-line",
                   "marker-end": headed ? `url(#lamport-head-${m.kind}-${uid})` : null}, g);
      svg("line", {x1: x0, y1: y0, x2: x1, y2: y1, class: "lamport-hit"}, g);
      if (cls === "lamport-dropped") {
        const c = 5;
        svg("path", {d: `M${x1 - c},${y1 - c} L${x1 + c},${y1 + c} M${x1 - c},${y1 + c} L${x1 + c},${y1 - c}`,
                     class: "lamport-drop-mark"}, g);
      }
      if (cls === "lamport-inflight") {
        svg("circle", {cx: x1, cy: y1, r: live ? 6 : 4, class: "lamport-inflight-end", stroke: color}, g);
      }
      hook(g, d, m, k);
      if (live) g.addEventListener("click", (evt) => { evt.stopPropagation(); openMenu(evt, m); });
      // one label per send (the copies of a multicast share it), at the sender
      const lk = `${m.from}|${m.sent}`;
      if (!labelled.has(lk)) {
        labelled.add(lk);
        const right = x1 >= x0;
        const t = svg("text", {x: x0 + (right ? 7 : -7), y: y0 - 5, class: "lamport-label",
                               "text-anchor": right ? "start" : "end", fill: color,
                               "data-kind": m.kind}, labels);
        t.textContent = m.label;
      }
    }
    // marks on lifelines: deliveries, crashes, starts
    const marks = svg("g", {class: "lamport-marks"}, s);
    for (const mk of d.marks) {
      if (mk.row >= k) continue;
      const x = geo.x[mk.process];
      if (x === undefined) continue;
      const y = rowY(mk.row);
      const g = svg("g", {class: `lamport-mark lamport-${mk.type}${mk.violation ? " lamport-violation" : ""}`,
                          "data-process": mk.process, "data-type": mk.type}, marks);
      if (mk.type === "delivery") {
        svg("path", {d: `M${x},${y - 6} L${x + 6},${y} L${x},${y + 6} L${x - 6},${y} z`, class: "lamport-diamond"}, g);
        const t = svg("text", {x: x + 10, y: y + 4, class: "lamport-mark-label"}, g);
        const inst = mk.instances && mk.instances.length ? mk.instances : [];
        const where = inst.length === 1 ? ` (i${inst[0]})` : inst.length > 1 ? ` (i${inst[0]}\u2013i${inst[inst.length - 1]})` : "";
        t.textContent = `${mk.violation ? "\u2717 " : ""}${mk.text}${where}`;
      } else if (mk.type === "decision") {
        svg("path", {d: `M${x},${y - 6} L${x + 6},${y} L${x},${y + 6} L${x - 6},${y} z`, class: "lamport-decided"}, g);
        const t = svg("text", {x: x + 10, y: y + 4, class: "lamport-mark-label lamport-decision-label"}, g);
        t.textContent = mk.text;
      } else if (mk.type === "crash") {
        const c = 6;
        svg("path", {d: `M${x - c},${y - c} L${x + c},${y + c} M${x - c},${y + c} L${x + c},${y - c}`, class: "lamport-crash-mark"}, g);
        const t = svg("text", {x: x + 10, y: y + 4, class: "lamport-mark-label"}, g);
        t.textContent = "crashed";
      } else {
        svg("circle", {cx: x, cy: y, r: 5, class: "lamport-start-mark"}, g);
        const t = svg("text", {x: x + 10, y: y + 4, class: "lamport-mark-label"}, g);
        t.textContent = "started";
      }
      g.addEventListener("mouseenter", (evt) => showTip(evt, [["lamport-tip-kind", mk.detail],
        ...(mk.t !== null && mk.t !== undefined ? [["lamport-tip-time", `at ${fmtTime(d, mk.t)} (event ${Math.floor(mk.row) + 1})`]] : []),
        ...(mk.violation && d.violation ? [["lamport-tip-bad", `${d.violation.property} violated: ${d.violation.detail}`]] : [])]));
      g.addEventListener("mousemove", (evt) => place(tip, evt));
      g.addEventListener("mouseleave", () => { tip.hidden = true; });
    }
    if (atEnd) scroller.scrollTop = Math.max(0, scroller.scrollHeight - scroller.clientHeight);
    else scroller.scrollTop = keepScroll;
  }

  function hook(g, d, m, k) {
    g.addEventListener("mouseenter", (evt) => {
      g.classList.add("lamport-hover");
      if (menu.hidden) showTip(evt, messageTip(d, m, k));
    });
    g.addEventListener("mousemove", (evt) => place(tip, evt));
    g.addEventListener("mouseleave", () => { g.classList.remove("lamport-hover"); tip.hidden = true; });
  }

  function drawLegend(d, k) {
    legend.replaceChildren();
    const kinds = new Set(d.messages.filter((m) => drawn(d, m, k)).map((m) => m.kind));
    for (const [kind, info] of Object.entries(d.kinds)) {
      if (!kinds.has(kind)) continue;
      const item = html("span", {class: "lamport-key", title: info.words}, legend);
      const sw = html("span", {class: "lamport-swatch"}, item);
      sw.style.background = info.color;
      item.appendChild(document.createTextNode(info.short));
    }
    const hints = ["\u2014 received", "\u2717 dropped at the receiver", "\u00B7\u00B7\u00B7 in flight, ends on the now line",
                   "\u25C6 delivered by a learner"];
    if (d.marks.some((m) => m.type === "decision" && m.row < k)) hints.push("\u25C7 decided, not delivered there");
    if (d.messages.some((m) => m.exact === false)) hints.push("- - - sender inferred from the logs");
    if (d.interactive) hints.push("click a message in flight to deliver or drop it");
    html("span", {class: "lamport-hints"}, legend, hints.join("   "));
  }

  const uid = Math.random().toString(36).slice(2, 8);
  // JupyterLab binds keys (arrows, Home, End, ...) to notebook commands; keys meant for
  // the slider must not move the notebook's cell selection instead.
  const KEYS = new Set(["ArrowLeft", "ArrowRight", "ArrowUp", "ArrowDown", "Home", "End", "PageUp", "PageDown", " "]);
  controls.addEventListener("keydown", (evt) => { if (KEYS.has(evt.key)) evt.stopPropagation(); });
  scrub.addEventListener("input", () => { shown = Number(scrub.value); menu.hidden = true; draw(); });
  back.addEventListener("click", () => { shown = Math.max(0, (shown ?? lastRows) - 1); draw(); });
  fwd.addEventListener("click", () => { shown = Math.min(lastRows, (shown ?? lastRows) + 1); draw(); });
  all.addEventListener("change", draw);
  fly.addEventListener("change", draw);
  root.addEventListener("click", (evt) => { if (!menu.contains(evt.target)) menu.hidden = true; });
  const onData = () => { pending = false; root.classList.remove("lamport-busy"); menu.hidden = true; draw(); };
  const onStatus = () => { status.textContent = model.get("status") || ""; };
  model.on("change:data", onData);
  model.on("change:status", onStatus);
  // Redraw when the page's width changes; a scrollbar coming and going is not a change.
  let width = root.clientWidth;
  const resize = typeof ResizeObserver === "undefined" ? null : new ResizeObserver(() => {
    const w = root.clientWidth;
    if (w && Math.abs(w - width) > 24) { width = w; draw(); }
  });
  if (resize) resize.observe(root);
  draw();
  return () => {
    model.off("change:data", onData);
    model.off("change:status", onStatus);
    if (resize) resize.disconnect();
  };
}

export default { render };
