// 信息采集: a worker proposes to add or correct a household or a person of a building in their grids. Each
// proposal goes through the outbox as a registry change request; the community committee or street office
// approves it at the desk before the registry changes. What was typed leaves the device once the server has it.
import * as api from "./api.js";
import * as outbox from "./outbox.js";
import * as store from "./store.js";
import { h } from "./screens.js";
import { careTagName, formatTime, t } from "./i18n.js";

const CARE_TAGS = [
  "elderly_alone", "empty_nest", "left_behind_child", "disabled", "subsistence", "extreme_poverty",
  "community_correction", "released_prisoner", "drug_user", "mental_disorder", "key_youth", "veteran",
];
const HOUSEHOLD_TYPES = ["family", "collective", "rental", "vacant"];
const ID_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];

// GB 11643: 17 digits and a check character. Checked here only to catch a typo at once; the server decides.
export function idNumberValid(value) {
  if (!/^\d{17}[\dX]$/.test(value)) return false;
  const sum = ID_WEIGHTS.reduce((total, weight, index) => total + weight * Number(value[index]), 0);
  return "10X98765432"[sum % 11] === value[17];
}
export const phoneValid = (value) => /^1\d{10}$/.test(value) || /^0\d{2,3}-?\d{7,8}$/.test(value);

const input = (name, props = {}) => h("input", { name, ...props });
const labelled = (label, control) => h("label", { class: "field" }, h("span", { class: "label" }, label), control);
const householdName = (household) =>
  [household.unit_no && t("unit_short", { n: household.unit_no }), t("floor_short", { n: household.floor }), household.room]
    .filter(Boolean).join(" ");

function personFields({ required }) {
  const sex = h("select", { name: "sex" }, h("option", { value: "" }, "—"), h("option", { value: "M" }, t("male")), h("option", { value: "F" }, t("female")));
  const residency = h("select", { name: "residency" }, h("option", { value: "" }, "—"),
    h("option", { value: "registered" }, t("registered")), h("option", { value: "floating" }, t("floating")));
  const tags = h("div", { class: "tags" }, CARE_TAGS.map((tag) =>
    h("label", { class: "check" }, h("input", { type: "checkbox", name: "care_tags", value: tag }), careTagName(tag))));
  return [
    labelled(t("name"), input("name", { required, maxlength: 64 })),
    labelled(t("sex"), sex),
    labelled(t("birth_date"), input("birth_date", { type: "date", required })),
    labelled(t("id_number"), input("id_number", { required, maxlength: 18, autocomplete: "off", autocapitalize: "characters" })),
    labelled(t("phone"), input("phone", { type: "tel", maxlength: 20, autocomplete: "off" })),
    labelled(t("relation"), input("relation", { maxlength: 16 })),
    labelled(t("residency"), residency),
    h("div", { class: "field" }, h("span", { class: "label" }, t("care_tags")), tags),
  ];
}

function householdFields(household = {}) {
  return [
    labelled(t("unit_no"), input("unit_no", { value: household.unit_no || "", maxlength: 8 })),
    labelled(t("floor"), input("floor", { type: "number", inputmode: "numeric", value: household.floor ?? "", required: true })),
    labelled(t("room"), input("room", { value: household.room || "", maxlength: 16, required: true })),
    labelled(t("household_type"), h("select", { name: "type" }, HOUSEHOLD_TYPES.map((type) =>
      h("option", { value: type, selected: household.type === type }, t(`household_${type}`))))),
  ];
}

// The form's values, only those filled in (a correction sends only what changes).
function proposedOf(form, { only = null } = {}) {
  const data = new FormData(form);
  const proposed = {};
  for (const name of ["name", "sex", "birth_date", "id_number", "phone", "relation", "residency", "unit_no", "floor", "room", "type"]) {
    if (!form.elements[name]) continue;
    const value = String(data.get(name) || "").trim();
    if (value !== "") proposed[name] = name === "floor" ? Number(value) : name === "id_number" ? value.toUpperCase() : value;
  }
  const tags = data.getAll("care_tags");
  if (tags.length) proposed.care_tags = tags;
  if (only) for (const name of Object.keys(proposed)) if (!only(name, proposed[name])) delete proposed[name];
  return proposed;
}

const confirmed = (kind, someone) => window.confirm(t("confirm_change", { what: `${t(`change_${kind}`)} · ${someone.name}` }));

function problemsOf(proposed) {
  const problems = [];
  if (proposed.id_number && !idNumberValid(proposed.id_number)) problems.push(`${t("id_number")}: ${t("id_invalid")}`);
  if (proposed.phone && !phoneValid(proposed.phone)) problems.push(`${t("phone")}: ${t("phone_invalid")}`);
  return problems;
}

export async function collect(app, root) {
  const grids = app.session.worker.grids.filter((grid) => app.packages.has(grid.id));
  const buildings = grids.flatMap((grid) => app.packages.get(grid.id).body.buildings);
  const households = grids.flatMap((grid) => app.packages.get(grid.id).body.households);
  if (!buildings.length) {
    root.append(h("p", { class: "hint" }, t("no_package")));
    return;
  }
  const chooser = h("select", { name: "collect-building" }, buildings.map((building) =>
    h("option", { value: building.id }, `${building.name || building.code} · ${building.address || ""}`)));
  const list = h("div", { class: "households" });
  const work = h("div", { class: "work" });
  root.append(labelled(t("buildings"), chooser), list, work);

  const building = () => buildings.find((item) => String(item.id) === chooser.value);

  const send = async (kind, { household = null, person = null, proposed = {}, note = "" }) => {
    const body = { kind, building: building().id, captured_at: new Date().toISOString(), proposed, note };
    if (household) body.household = household;
    if (person) body.person = person;
    await outbox.enqueue("registry", { body, label: `${t(`change_${kind}`)} · ${building().name || building().code}` });
    app.toast(t("queued"));
    app.go("#/outbox");
  };

  const openForm = (titleText, fields, onSubmit) => {
    const error = h("p", { class: "error", role: "alert", hidden: true });
    const form = h("form", { class: "card collect-form" }, h("h3", {}, titleText), ...fields, error,
      h("button", { type: "submit", class: "button primary big" }, t("submit")));
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const problems = await onSubmit(form);
      if (problems?.length) {
        error.textContent = problems.join(" ");
        error.hidden = false;
      }
    });
    work.replaceChildren(form);
    form.scrollIntoView({ block: "start" });
  };

  const addPerson = (household) => openForm(`${t("add_person")} · ${householdName(household)}`, personFields({ required: true }), (form) => {
    const proposed = proposedOf(form);
    const problems = problemsOf(proposed);
    return problems.length ? problems : send("add_person", { household: household.id, proposed });
  });

  const correctHousehold = (household) => openForm(`${t("correct_household")} · ${householdName(household)}`, householdFields(household), (form) => {
    const proposed = proposedOf(form, { only: (name, value) => String(household[name] ?? "") !== String(value) });
    return Object.keys(proposed).length ? send("correct_household", { household: household.id, proposed }) : [t("nothing_changed")];
  });

  const personActions = async (household, box) => {
    // Names are not part of the offline package: the building's people are read when online, masked, and not kept.
    try {
      const { body } = await api.request(`/api/v1/buildings/${building().id}/households`);
      const found = body.find((item) => item.id === household.id);
      box.replaceChildren(...(found?.people || []).map((someone) => h(
        "div", { class: "person row", dataset: { person: someone.id } },
        h("span", {}, `${someone.name} · ${someone.id_number || ""}`),
        h("button", { type: "button", class: "button small", onclick: () => openForm(`${t("correct_person")} · ${someone.name}`, personFields({ required: false }), (form) => {
          const proposed = proposedOf(form);
          const problems = problemsOf(proposed);
          if (!Object.keys(proposed).length) problems.push(t("nothing_changed"));
          return problems.length ? problems : send("correct_person", { person: someone.id, proposed });
        }) }, t("correct")),
        h("button", { type: "button", class: "button small", onclick: () => confirmed("person_moved_out", someone) && send("person_moved_out", { person: someone.id }) }, t("moved_out")),
        h("button", { type: "button", class: "button small danger", onclick: () => confirmed("person_deceased", someone) && send("person_deceased", { person: someone.id }) }, t("deceased")),
      )));
    } catch (error) {
      box.replaceChildren(h("p", { class: "hint" }, error.status === 0 ? t("people_online_only") : error.message));
    }
  };

  const showBuilding = () => {
    const mine = households.filter((household) => household.building_id === building().id);
    list.replaceChildren(
      ...mine.map((household) => {
        const people = h("div", { class: "people" });
        const tags = Object.entries(household.care_tags || {}).map(([tag, count]) => `${careTagName(tag)} ${count}`).join("、");
        return h(
          "section", { class: "card household", dataset: { household: household.id } },
          h("div", { class: "row" }, h("b", {}, householdName(household)), h("small", {}, `${household.people} ${t("persons")}`)),
          tags ? h("p", { class: "hint" }, tags) : null,
          h("div", { class: "actions" },
            h("button", { type: "button", class: "button small add-person", onclick: () => addPerson(household) }, t("add_person")),
            h("button", { type: "button", class: "button small", onclick: () => correctHousehold(household) }, t("correct_household")),
            h("button", { type: "button", class: "button small", onclick: () => personActions(household, people) }, t("people"))),
          people,
        );
      }),
      h("button", { type: "button", class: "button", id: "add-household", onclick: () => openForm(t("add_household"), householdFields(), (form) =>
        send("add_household", { proposed: proposedOf(form) })) }, t("add_household")),
    );
    work.replaceChildren();
  };
  chooser.addEventListener("change", showBuilding);
  showBuilding();

  // The worker's requests and what the desk decided.
  const requests = (await store.get("kv", "registry")) || [];
  if (requests.length) root.append(h("h2", {}, t("my_requests")));
  for (const request of requests) {
    root.append(h(
      "section", { class: "card registry-request", dataset: { state: request.state, clientUuid: request.client_uuid } },
      h("div", { class: "row" }, h("b", {}, request.kind_label), h("span", { class: `badge decision-${request.state}` }, request.state_label), h("small", {}, formatTime(request.received_at))),
      h("p", {}, `${request.building.name || request.building.code}${request.household ? ` · ${householdName(request.household)}` : ""}${request.proposed?.name ? ` · ${request.proposed.name}` : ""}`),
      request.decision_note ? h("p", { class: "hint" }, `${t("outcome")}: ${request.decision_note}`) : null,
    ));
  }
}
