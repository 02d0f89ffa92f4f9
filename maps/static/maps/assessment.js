/* 综合评价: the assessment indicators (GB/T 30428) of a region, of the regions one level down, of the units and by
   month, with export. The region and the period are in the URL (?region=&date_from=&date_to=). */
(function () {
  "use strict";
  var G = window.Grid, t = G.t, esc = G.escapeHtml;
  var $ = function (id) { return document.getElementById(id); };
  var rootRegion = G.config.root_region || "";
  var params = new URLSearchParams(location.search);
  var state = { region: params.get("region") || rootRegion, date_from: params.get("date_from") || "", date_to: params.get("date_to") || "" };
  $("a-from").value = state.date_from;
  $("a-to").value = state.date_to;
  var seq = 0;

  function value(v, code) {
    if (v === null || v === undefined) return "—";
    return /rate$/.test(code) ? v + "%" : String(v);
  }
  function header(first, columns) {
    return "<tr>" + first.map(function (h) { return "<th>" + esc(h) + "</th>"; }).join("") +
      columns.map(function (c) { return "<th>" + esc(c.label) + "</th>"; }).join("") + "</tr>";
  }
  function cells(row, columns) {
    return columns.map(function (c) { return '<td data-code="' + c.code + '">' + value(row[c.code], c.code) + "</td>"; }).join("");
  }
  function syncUrl(push) {
    var url = location.pathname + G.query(state);
    if (push) history.pushState(state, "", url); else history.replaceState(state, "", url);
    $("export-csv").href = "/api/v1/dashboard/assessment.csv" + G.query(state);
    $("export-xlsx").href = "/api/v1/dashboard/assessment.xlsx" + G.query(state);
    $("dashboard-link").href = "/dashboard/" + G.query({ region: state.region });
  }

  function crumbs(region) {
    var steps = rootRegion ? [] : [{ code: "", name: t("all_regions") }], below = !rootRegion;
    region.path.forEach(function (step) { if (step.code === rootRegion) below = true; if (below) steps.push(step); });
    $("crumbs").innerHTML = steps.map(function (step, i) {
      var last = i === steps.length - 1;
      return (i ? '<span class="sep">›</span>' : "") + (last ? "<b>" + esc(step.name) + "</b>"
        : '<a href="#" data-region="' + esc(step.code) + '">' + esc(step.name) + "</a>");
    }).join("");
  }

  function load() {
    var mine = ++seq;
    syncUrl(false);
    return G.api("/api/v1/dashboard/assessment" + G.query(state)).then(function (data) {
      if (mine !== seq) return;
      crumbs(data.region);
      $("period").textContent = data.period.from + " — " + data.period.to;
      $("overall").innerHTML = data.overall.map(function (i) {
        return '<div data-code="' + i.code + '">' + value(i.value, i.code) + "<small>" + esc(i.label) + "</small></div>";
      }).join("");
      $("regions-card").hidden = !data.regions.length;
      $("regions").innerHTML = header([t("title")], data.columns) + data.regions.map(function (r) {
        return '<tr data-region="' + esc(r.code) + '"><td><a href="#" data-region="' + esc(r.code) + '">' + esc(r.name) + "</a></td>" + cells(r, data.columns) + "</tr>";
      }).join("");
      $("units").innerHTML = header([t("unit")], data.unit_columns) + data.units.map(function (r) {
        return '<tr data-unit="' + esc(r.code) + '"><td>' + esc(r.name) + "</td>" + cells(r, data.unit_columns) + "</tr>";
      }).join("");
      $("months").innerHTML = header([t("month")], data.month_columns) + data.months.map(function (m) {
        return '<tr data-month="' + m.month + '"' + (m.partial ? ' class="partial" data-partial="1"' : "") + "><td>" + m.month +
          (m.partial ? '<span class="tag-partial">' + esc(t("month_to_date")) + "</span>" : "") + "</td>" + cells(m, data.month_columns) + "</tr>";
      }).join("");
      document.documentElement.setAttribute("data-assessment-region", data.region.code);
      G.ready("assessment", 0);
    }, function (error) {
      if ((error.status === 400 || error.status === 403) && state.region !== rootRegion) {
        state.region = rootRegion;
        return load();
      }
      $("period").textContent = error.message;
    });
  }

  document.addEventListener("click", function (event) {
    var link = event.target.closest("a[data-region]");
    if (!link) return;
    event.preventDefault();
    state.region = link.dataset.region;
    syncUrl(true);
    load();
  });
  $("filters").addEventListener("submit", function (event) { event.preventDefault(); });
  ["a-from", "a-to"].forEach(function (id) {
    $(id).addEventListener("change", function () {
      state.date_from = $("a-from").value; state.date_to = $("a-to").value;
      load();
    });
  });
  window.addEventListener("popstate", function () {
    var p = new URLSearchParams(location.search);
    state = { region: p.get("region") || rootRegion, date_from: p.get("date_from") || "", date_to: p.get("date_to") || "" };
    load();
  });
  load();
})();
