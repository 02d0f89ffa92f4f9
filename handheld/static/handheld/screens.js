// The app's screens. Each takes the app (session, packages, navigation) and the element to fill.
import * as api from "./api.js";
import * as outbox from "./outbox.js";
import * as store from "./store.js";
import { GridMap } from "./gridmap.js";
import { keepsPoint, trackLength } from "./geo.js";
import { actionName, formatTime, nameOf, stateName, t } from "./i18n.js";

// --- DOM -------------------------------------------------------------------------------------------------
export function h(tag, props = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(props || {})) {
    if (value == null || value === false) continue;
    if (name === "class") element.className = value;
    else if (name.startsWith("on")) element.addEventListener(name.slice(2), value);
    else if (name === "dataset") Object.assign(element.dataset, value);
    else element.setAttribute(name, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child != null && child !== false) element.append(child instanceof Node ? child : String(child));
  }
  return element;
}

const field = (label, ...control) => h("label", { class: "field" }, h("span", { class: "label" }, label), ...control);
const stateBadge = (state) => h("span", { class: `badge state-${state}`, dataset: { state } }, t(`state_${state}`));
const readFile = (file) => file.arrayBuffer().then((bytes) => ({ type: file.type, name: file.name, bytes }));

function photoInputs(name, { multiple = true } = {}) {
  // Two ways in: the camera directly, or a photo already taken (the gallery). Either way the file's own
  // bytes are sent, EXIF included, so the server can compare the camera's place and time with the report.
  const camera = h("input", { type: "file", accept: "image/*", capture: "environment", multiple, name, class: "file" });
  const gallery = h("input", { type: "file", accept: "image/*", multiple, name: `${name}-gallery`, class: "file" });
  const list = h("ul", { class: "thumbs" });
  const chosen = [];
  const add = (input) => {
    for (const file of input.files) {
      chosen.push(file);
      const url = URL.createObjectURL(file);
      list.append(h("li", {}, h("img", { src: url, alt: file.name })));
    }
    input.value = "";
  };
  camera.addEventListener("change", () => add(camera));
  gallery.addEventListener("change", () => add(gallery));
  const element = h(
    "div", { class: "photos" },
    h("label", { class: "button secondary file-button" }, t("camera"), camera),
    h("label", { class: "button secondary file-button" }, t("gallery"), gallery),
    list,
  );
  return { element, files: () => chosen.slice() };
}

// --- Position ------------------------------------------------------------------------------------------
function watchGps(onFix, onFail) {
  if (!navigator.geolocation) {
    onFail();
    return () => {};
  }
  const id = navigator.geolocation.watchPosition(
    (fix) => onFix([fix.coords.longitude, fix.coords.latitude], fix.coords.accuracy),
    onFail,
    { enableHighAccuracy: true, maximumAge: 10000, timeout: 30000 },
  );
  return () => navigator.geolocation.clearWatch(id);
}

// --- Login -----------------------------------------------------------------------------------------------
export function login(app, root, { message } = {}) {
  const error = h("p", { class: "error", role: "alert", hidden: !message }, message || "");
  const username = h("input", { name: "username", autocomplete: "username", required: true, autocapitalize: "off" });
  const password = h("input", { name: "password", type: "password", autocomplete: "current-password", required: true });
  const button = h("button", { type: "submit", class: "button primary" }, t("login"));
  const form = h(
    "form", { class: "login" },
    h("h2", {}, t("app")),
    error,
    field(t("username"), username),
    field(t("password"), password),
    button,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    button.disabled = true;
    error.hidden = true;
    try {
      await app.login(username.value.trim(), password.value);
    } catch (failure) {
      error.textContent = failure.status === 0 ? t("error_network") : failure.message;
      error.hidden = false;
      button.disabled = false;
    }
  });
  root.append(form);
  app.lockedCount().then((n) => {
    if (n) form.append(h("p", { class: "hint" }, t("locked_items", { n })));
  });
}

// --- Home ------------------------------------------------------------------------------------------------
export async function home(app, root) {
  const worker = app.session.worker;
  const waiting = outbox.waiting(await outbox.items()).length;
  const tasks = (await store.get("kv", "tasks")) || [];
  const answered = new Set((await store.get("kv", "answered")) || []);
  const openTasks = tasks.filter((task) => !answered.has(task.id)).length;
  root.append(
    h("p", { class: "who" }, worker.name, worker.units.length ? h("small", {}, ` · ${worker.units.map((unit) => unit.name).join("、")}`) : null),
    h(
      "div", { class: "counters" },
      h("a", { class: "counter", href: "#/outbox", id: "waiting-count" }, h("b", {}, waiting), t("waiting")),
      h("a", { class: "counter", href: "#/tasks", id: "tasks-count" }, h("b", {}, openTasks), t("tasks_count")),
    ),
    h(
      "div", { class: "actions" },
      h("a", { class: "button primary big", href: "#/report" }, t("report")),
      h("a", { class: "button big", href: "#/reports" }, t("my_reports")),
      h("a", { class: "button big", href: "#/patrol" }, t("patrol")),
      h("a", { class: "button big", href: "#/collect" }, t("collect")),
    ),
    h("h2", {}, t("my_grids")),
  );
  for (const grid of worker.grids) {
    const pkg = app.packages.get(grid.id);
    const card = h(
      "section", { class: "card grid-card", dataset: { grid: grid.id } },
      h("h3", {}, `${grid.name}`, h("small", {}, ` ${grid.community} · ${grid.code}`)),
    );
    if (pkg) {
      const body = pkg.body;
      card.append(
        h(
          "p", { class: "figures" },
          `${t("buildings")} ${body.building_ids.length} · ${t("households")} ${body.household_ids.length} · `,
          `${t("open_cases")} ${body.open_case_ids.length}`,
        ),
        h("div", { class: "minimap" }),
        h("p", { class: "hint" }, `${t("package_at")} ${formatTime(pkg.fetched_at)}`),
      );
    } else {
      card.append(h("p", { class: "hint" }, t("no_package")));
    }
    root.append(card);
    if (pkg) {
      const map = new GridMap(card.querySelector(".minimap"), pkg.body);
      map.showCases(pkg.body.open_cases);
      app.onLeave(() => map.remove());
    }
  }
  root.append(
    h(
      "div", { class: "actions" },
      h("button", { type: "button", class: "button", onclick: () => app.sync(true) }, t("refresh")),
      h("button", { type: "button", class: "button danger", id: "logout", onclick: () => app.logout() }, t("logout")),
    ),
  );
}

// --- Report ----------------------------------------------------------------------------------------------
function categoryPicker(categories, onChoose) {
  const groups = new Map();
  for (const category of categories) {
    if (!groups.has(category.group)) {
      groups.set(category.group, { code: category.group, name_zh: category.group_name_zh, name_en: category.group_name_en });
    }
  }
  const groupSelect = h(
    "select", { name: "group" },
    h("option", { value: "" }, `— ${t("group")} —`),
    [...groups.values()].map((group) => h("option", { value: group.code }, `${nameOf(group)} (${group.code})`)),
  );
  const search = h("input", { type: "search", name: "category-search", placeholder: t("search_category") });
  const list = h("div", { class: "choices", role: "listbox" });
  const chosen = h("p", { class: "chosen" });
  let current = null;
  const show = () => {
    const needle = search.value.trim().toLowerCase();
    const matches = categories.filter((category) =>
      needle
        ? category.code.toLowerCase().includes(needle) || category.name_zh.includes(needle) ||
          (category.name_en || "").toLowerCase().includes(needle)
        : groupSelect.value && category.group === groupSelect.value,
    );
    list.replaceChildren(
      ...matches.slice(0, 40).map((category) =>
        h(
          "button", {
            type: "button", role: "option", class: `choice${current === category ? " chosen" : ""}`,
            dataset: { code: category.code },
            onclick: () => {
              current = category;
              chosen.textContent = `${nameOf(category)} · ${category.code}`;
              list.replaceChildren();
              search.value = "";
              onChoose(category);
            },
          },
          nameOf(category), h("small", {}, ` ${category.code}`),
        ),
      ),
    );
  };
  groupSelect.addEventListener("change", show);
  search.addEventListener("input", show);
  return { element: h("div", { class: "picker" }, chosen, groupSelect, search, list), value: () => current };
}

export async function report(app, root) {
  const grids = app.session.worker.grids.filter((grid) => app.packages.has(grid.id));
  if (!grids.length) {
    root.append(h("p", { class: "hint" }, t("no_package")));
    return;
  }
  let pkg = app.packages.get(grids[0].id).body;
  let position = null;
  let accuracy = null;
  let placedByHand = false;
  let building = null;

  const picker = categoryPicker(pkg.categories, (category) => setLevel(category.default_level));
  const levels = h(
    "div", { class: "segmented", role: "radiogroup" },
    [1, 2, 3, 4].map((n) =>
      h("label", {}, h("input", { type: "radio", name: "level", value: n }), h("span", {}, t(`level_${n}`))),
    ),
  );
  const onSpot = h("input", { type: "checkbox", name: "resolved_on_site" });
  const onSpotRow = h("label", { class: "check", hidden: true }, onSpot, t("on_spot"));
  const afterPhotos = photoInputs("after", { multiple: false });
  const afterRow = h("div", { class: "field", hidden: true }, h("span", { class: "label" }, t("after_photo")), afterPhotos.element);
  const level = () => Number(levels.querySelector("input:checked")?.value || 0);
  const setLevel = (n) => {
    levels.querySelectorAll("input").forEach((input) => { input.checked = Number(input.value) === n; });
    refreshOnSpot();
  };
  const refreshOnSpot = () => {
    onSpotRow.hidden = level() !== 1;
    if (onSpotRow.hidden) onSpot.checked = false;
    afterRow.hidden = !onSpot.checked;
  };
  levels.addEventListener("change", refreshOnSpot);
  onSpot.addEventListener("change", refreshOnSpot);

  const description = h("textarea", { name: "description", rows: 3, maxlength: 2000, placeholder: t("report_placeholder") });
  const photos = photoInputs("photos");
  const where = h("p", { class: "where", id: "where" }, t("locating"));
  const mapBox = h("div", { class: "map" });
  const buildingSelect = h("select", { name: "building" });
  const fillBuildings = () =>
    buildingSelect.replaceChildren(
      h("option", { value: "" }, t("none")),
      ...pkg.buildings.map((item) => h("option", { value: item.id }, `${item.name || item.code} · ${item.address || ""}`)),
    );
  fillBuildings();
  const gridSelect = grids.length > 1
    ? field(t("grid"), h("select", { name: "grid", onchange: (event) => switchGrid(Number(event.target.value)) },
      grids.map((grid) => h("option", { value: grid.id }, grid.name))))
    : null;
  const error = h("p", { class: "error", role: "alert", hidden: true });
  const send = h("button", { type: "submit", class: "button primary big", id: "send" }, t("send_report"));

  const showWhere = () => {
    if (!position) return;
    const parts = [`${position[1].toFixed(6)}, ${position[0].toFixed(6)}`];
    if (accuracy != null && !placedByHand) parts.push(`${t("accuracy")} ±${Math.round(accuracy)} ${t("metres")}`);
    if (placedByHand) parts.push(t("tap_map"));
    where.textContent = parts.join(" · ");
    map.showPosition(position, placedByHand ? null : accuracy);
  };
  let map;
  const makeMap = () => {
    map?.remove();
    map = new GridMap(mapBox, pkg, {
      onTap: (point) => { position = point; placedByHand = true; showWhere(); },
      onBuilding: (item) => { building = item; buildingSelect.value = String(item.id); map.chooseBuilding(item.id); },
    });
  };
  const switchGrid = (id) => {
    pkg = app.packages.get(id).body;
    fillBuildings();
    makeMap();
    showWhere();
  };
  buildingSelect.addEventListener("change", () => {
    building = pkg.buildings.find((item) => String(item.id) === buildingSelect.value) || null;
    map.chooseBuilding(building?.id);
  });

  const form = h(
    "form", { class: "report" },
    gridSelect,
    field(t("category"), picker.element),
    h("div", { class: "field" }, h("span", { class: "label" }, t("level")), levels),
    onSpotRow,
    field(t("description"), description),
    h("div", { class: "field" }, h("span", { class: "label" }, t("photos")), photos.element),
    afterRow,
    h("div", { class: "field" }, h("span", { class: "label" }, t("location")), where, mapBox),
    field(t("building"), buildingSelect),
    error,
    send,
  );
  root.append(form);
  makeMap();
  app.onLeave(() => map.remove());
  app.onLeave(watchGps(
    (point, metres) => {
      if (placedByHand) return;
      position = point;
      accuracy = metres;
      showWhere();
    },
    () => { if (!position) where.textContent = t("no_gps"); },
  ));

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const category = picker.value();
    const problems = [];
    if (!category) problems.push(t("need_category"));
    if (!description.value.trim()) problems.push(t("need_description"));
    if (!position) problems.push(t("need_location"));
    if (onSpot.checked && !afterPhotos.files().length) problems.push(t("need_after_photo"));
    if (problems.length) {
      error.textContent = problems.join(" ");
      error.hidden = false;
      return;
    }
    send.disabled = true;
    const files = [
      ...(await Promise.all(photos.files().map(readFile))).map((file) => ({ ...file, role: "before" })),
      ...(onSpot.checked ? await Promise.all(afterPhotos.files().map(readFile)) : []).map((file) => ({ ...file, role: "after" })),
    ];
    const body = {
      category: category.code,
      level: level() || category.default_level,
      description: description.value.trim(),
      location: { type: "Point", coordinates: position },
      address: building ? building.address || building.name || "" : "",
      captured_at: new Date().toISOString(),
      resolved_on_site: onSpot.checked,
    };
    await outbox.enqueue("report", { body, files, label: `${nameOf(category)} · ${body.description.slice(0, 40)}` });
    app.toast(t("queued"));
    app.go("#/outbox");
  });
}

// --- Outbox ----------------------------------------------------------------------------------------------
export async function outboxScreen(app, root) {
  const list = await outbox.items();
  if (!list.length) root.append(h("p", { class: "hint" }, t("empty")));
  if (outbox.waiting(list).length) {
    root.append(h("button", { type: "button", class: "button", onclick: () => outbox.retryAll() }, t("send_now")));
    if (!(await outbox.sendsWhenClosed())) root.append(h("p", { class: "hint", id: "keep-open" }, t("keep_open")));
  }
  for (const item of list.reverse()) {
    const lines = [h("p", { class: "label-line" }, item.label || item.kind)];
    if (item.state === "sent" && item.result?.case_no) lines.push(h("p", {}, `${t("case_no")} ${item.result.case_no}`));
    if (item.state === "sent" && item.kind === "patrol") {
      lines.push(h("p", { class: "coverage" }, `${t("coverage")} ${Math.round(item.result.coverage * 100)}% · ${t("length")} ${Math.round(item.result.length_m)} ${t("metres")}`));
    }
    if (item.state === "rejected") lines.push(h("p", { class: "error server-message" }, `${t("server_said")}: ${item.error}`));
    if (item.state === "pending" && item.attempts) {
      lines.push(h("p", { class: "hint" }, `${t("attempts")} ${item.attempts} · ${t("retry_at")} ${formatTime(new Date(item.next_at).toISOString())}${item.error ? ` · ${item.error}` : ""}`));
    }
    const card = h(
      "section", { class: "card outbox-item", dataset: { uuid: item.uuid, clientUuid: item.body?.client_uuid, kind: item.kind, state: item.state } },
      h("div", { class: "row" }, h("b", {}, t(`kind_${item.kind}`)), stateBadge(item.state), h("small", {}, formatTime(item.created_at))),
      ...lines,
    );
    if (item.state === "rejected" || item.state === "locked") {
      card.append(h("button", { type: "button", class: "button small", onclick: () => outbox.discard(item.uuid) }, t("discard")));
    }
    root.append(card);
  }
}

// --- Tasks -----------------------------------------------------------------------------------------------
// The worker's unread notices (the badge's list) and 全部标为已读.
export async function notices(app, root) {
  const body = app.notices || { unread: 0, latest: [] };
  if (!body.latest.length) root.append(h("p", { class: "hint", id: "no-notices" }, t("no_notices")));
  for (const notice of body.latest) {
    root.append(h(
      "section", { class: "card notice", dataset: { notice: notice.id, kind: notice.kind } },
      h("div", { class: "row" }, h("b", {}, notice.kind_label), h("small", {}, formatTime(notice.created_at))),
      h("p", {}, notice.text),
    ));
  }
  if (!body.latest.length) return;
  const button = h("button", { type: "button", class: "button primary", id: "notices-read-all" }, t("mark_all_read"));
  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      await api.request("/api/v1/notices/read-all", { method: "POST" });
    } catch (error) {
      if (!(error instanceof api.ApiError)) throw error;
    }
    await app.pollNotices();
    app.refresh();
  });
  root.append(button);
}

export async function tasks(app, root) {
  const list = (await store.get("kv", "tasks")) || [];
  const answered = new Set((await store.get("kv", "answered")) || []);
  if (!list.length) root.append(h("p", { class: "hint" }, t("empty")));
  for (const task of list) {
    const done = answered.has(task.id);
    const card = h(
      "section", { class: "card task", dataset: { task: task.id, kind: task.kind } },
      h("div", { class: "row" }, h("b", {}, t(task.kind === "confirm" ? "confirm_task" : "check_task")), h("small", {}, task.case_no), lightDot(task.light)),
      h("p", {}, app.categoryName(task.category)),
      h("p", {}, task.description),
      h("p", { class: "hint" }, task.address || ""),
    );
    if (done) card.append(h("p", { class: "badge state-pending" }, t("answered")));
    else card.append(taskForm(app, task));
    root.append(card);
  }
}

function taskForm(app, task) {
  const results = task.kind === "confirm" ? ["confirmed", "not_found"] : ["pass", "fail"];
  const note = h("textarea", { name: "note", rows: 2, maxlength: 2000 });
  const photo = photoInputs(`task-${task.id}`, { multiple: false });
  const form = h(
    "form", { class: "task-form" },
    field(t("note"), note),
    h("div", { class: "field" }, h("span", { class: "label" }, t("photo")), photo.element),
    h("div", { class: "actions two" }, results.map((result) =>
      h("button", { type: "submit", class: `button ${result === "fail" || result === "not_found" ? "danger" : "primary"}`, value: result, dataset: { result } }, t(result)))),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const result = event.submitter?.value;
    form.querySelectorAll("button").forEach((button) => { button.disabled = true; });
    const files = (await Promise.all(photo.files().map(readFile))).map((file) => ({ ...file, role: "task" }));
    await outbox.enqueue("task", {
      body: { result, note: note.value.trim() }, files, target: task.id,
      label: `${t(task.kind === "confirm" ? "confirm_task" : "check_task")} ${task.case_no} · ${t(result)}`,
    });
    const answered = new Set((await store.get("kv", "answered")) || []);
    answered.add(task.id);
    await store.put("kv", [...answered], "answered");
    app.toast(t("queued"));
    app.refresh();
  });
  return form;
}

function lightDot(light) {
  return light ? h("span", { class: `light light-${light}`, title: t(light) }, t(light)) : null;
}

// --- My reports ------------------------------------------------------------------------------------------
export async function reports(app, root) {
  const kept = (await store.get("kv", "reports")) || {};
  const list = Object.values(kept).sort((a, b) => b.received_at.localeCompare(a.received_at));
  if (!list.length) root.append(h("p", { class: "hint" }, t("empty")));
  for (const item of list) {
    root.append(h(
      "section", { class: "card my-report", dataset: { case: item.case_no } },
      h("div", { class: "row" }, h("b", {}, item.case_no), h("span", { class: "badge" }, stateName(item.state)), lightDot(item.light)),
      h("p", {}, `${app.categoryName(item.category)} · ${t("level")} ${item.level}`),
      h("p", { class: "hint" }, `${t("unit")}: ${item.unit?.name || ""}${item.co_units?.length ? ` · ${t("co_units")}: ${item.co_units.map((u) => u.name).join("、")}` : ""}`),
      item.deadline ? h("p", { class: "hint" }, `${t("deadline")} ${formatTime(item.deadline)}`) : null,
      h("ol", { class: "timeline", "aria-label": t("steps") }, (item.steps || []).map((step) =>
        h("li", { dataset: { action: step.action } }, h("small", {}, formatTime(step.at)),
          ` ${actionName(step.action, step.label)}`, step.unit ? ` · ${step.unit}` : null))),
    ));
  }
}

// The server's list is the truth: each report comes with its case's steps so far (time, action, unit).
export function mergeReports(kept, fresh) {
  for (const item of fresh) kept[item.client_uuid] = item;
  return kept;
}

// --- Patrol ----------------------------------------------------------------------------------------------
let patrolWatch = null;

async function recordFix(app, point, accuracy) {
  const patrol = await store.get("kv", "patrol");
  if (!patrol || !keepsPoint(patrol.track, point, accuracy)) return;
  patrol.track.push(point);
  await store.put("kv", patrol, "patrol");
  app.emit("patrol");
}

// Keeps recording on every screen while a patrol is open (and resumes after a reload).
export async function resumePatrol(app) {
  const patrol = await store.get("kv", "patrol");
  if (patrol && !patrolWatch) patrolWatch = watchGps((point, accuracy) => recordFix(app, point, accuracy), () => {});
}

export async function patrol(app, root) {
  const current = await store.get("kv", "patrol");
  const grid = app.session.worker.grids.find((item) => app.packages.has(item.id));
  const status = h("p", { class: "patrol-status", id: "patrol-status" });
  const mapBox = h("div", { class: "map" });
  const start = h("button", { type: "button", class: "button primary big", id: "patrol-start" }, t("start_patrol"));
  const stop = h("button", { type: "button", class: "button danger big", id: "patrol-stop" }, t("stop_patrol"));
  root.append(status, mapBox, current ? stop : start);
  const map = grid ? new GridMap(mapBox, app.packages.get(grid.id).body) : null;
  if (map) app.onLeave(() => map.remove());
  const show = async () => {
    const open = await store.get("kv", "patrol");
    const track = open?.track || [];
    status.textContent = open
      ? `${t("patrolling")} · ${t("points")} ${track.length} · ${t("length")} ${Math.round(trackLength(track))} ${t("metres")}`
      : "";
    map?.showTrack(track);
  };
  app.on("patrol", show);
  show();
  start.addEventListener("click", async () => {
    await store.put("kv", { started_at: new Date().toISOString(), track: [] }, "patrol");
    await resumePatrol(app);
    app.refresh();
  });
  stop.addEventListener("click", async () => {
    const open = await store.get("kv", "patrol");
    if (patrolWatch) patrolWatch();
    patrolWatch = null;
    await store.remove("kv", "patrol");
    if (!open || open.track.length < 2 || trackLength(open.track) === 0) {
      app.toast(t("too_short"));
    } else {
      await outbox.enqueue("patrol", {
        body: {
          track: { type: "LineString", coordinates: open.track },
          started_at: open.started_at,
          ended_at: new Date().toISOString(),
        },
        label: `${t("patrol")} · ${Math.round(trackLength(open.track))} ${t("metres")}`,
      });
      app.toast(t("queued"));
    }
    app.refresh();
  });
  // The patrols sent before, with the share of the grid they covered (the server's answer).
  const done = (await outbox.items()).filter((item) => item.kind === "patrol").reverse();
  if (done.length) root.append(h("h2", {}, t("patrols")));
  for (const item of done) {
    root.append(h(
      "section", { class: "card patrol-item", dataset: { state: item.state } },
      h("div", { class: "row" }, stateBadge(item.state), h("small", {}, formatTime(item.created_at))),
      item.state === "sent"
        ? h("p", { class: "coverage" }, `${t("coverage")} ${Math.round(item.result.coverage * 100)}% · ${t("length")} ${Math.round(item.result.length_m)} ${t("metres")}`)
        : h("p", {}, item.label),
    ));
  }
}

