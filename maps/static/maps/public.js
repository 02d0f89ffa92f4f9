/* 政务公开: cases received, closed and closed on time per street and month, by category group; grids shaded by
   cases per 1,000 residents. Only counts: no person, photo or exact location is ever requested. */
(function () {
  "use strict";
  var G = window.Grid, t = G.t, esc = G.escapeHtml, en = G.config.language === "en";
  var started = performance.now();
  var $ = function (id) { return document.getElementById(id); };
  var map = G.createMap("publicmap", { minZoom: 9 });
  var chart = null, stats = null;

  var mapDone = G.api("/api/v1/public/grids").then(function (data) {
    var max = 0;
    data.features.forEach(function (f) { if (f.properties.per_1000 > max) max = f.properties.per_1000; });
    var layer = L.geoJSON(data.features, {
      coordsToLatLng: G.coordsToLatLng,
      style: function (f) { return { weight: 0.6, color: "#52708f", fillColor: G.rampColour(f.properties.per_1000, max), fillOpacity: 0.7 }; },
      onEachFeature: function (f, l) {
        var p = f.properties;
        l.bindTooltip("<b>" + esc(p.street) + " " + esc(p.community) + " " + esc(p.name) + "</b><br>" + t("received") + ": " +
          p.received + " · " + t("closed") + ": " + p.closed + "<br>" + t("cases_per_1000") + ": " + (p.per_1000 === null ? "—" : p.per_1000));
      },
    }).addTo(map);
    if (!G.viewRestored && data.features.length) map.fitBounds(layer.getBounds());
    G.legend(map, t("cases_per_1000"), max || 1).addTo(map);
  });

  function render() {
    var street = $("p-street").value;
    var rows = stats.rows.filter(function (r) { return !street || r.street_code === street; });
    var byMonth = {};
    rows.forEach(function (r) {
      var m = byMonth[r.month] || (byMonth[r.month] = { received: 0, closed: 0, on_time: 0 });
      m.received += r.received; m.closed += r.closed; m.on_time += r.closed_on_time;
    });
    var months = Object.keys(byMonth).sort();
    var sets = [
      { label: t("received"), data: months.map(function (m) { return byMonth[m].received; }), backgroundColor: "#1764ab" },
      { label: t("closed"), data: months.map(function (m) { return byMonth[m].closed; }), backgroundColor: "#2e9e44" },
      { label: t("closed_on_time"), data: months.map(function (m) { return byMonth[m].on_time; }), backgroundColor: "#f0b400" },
    ];
    if (chart) { chart.data.labels = months; chart.data.datasets = sets; chart.update(); }
    else {
      chart = new Chart($("p-chart"), { type: "bar", data: { labels: months, datasets: sets },
        options: { animation: false, plugins: { legend: { position: "bottom" } }, scales: { y: { beginAtZero: true } } } });
    }
    $("p-table").innerHTML = "<tr><th>" + t("streets") + "</th><th>" + t("month") + "</th><th>" + t("category") + "</th><th>" +
      t("received") + "</th><th>" + t("closed") + "</th><th>" + t("closed_on_time") + "</th><th>" + t("on_time_rate") + "</th></tr>" +
      rows.map(function (r) {
        return "<tr><td>" + esc(r.street) + "</td><td>" + esc(r.month) + "</td><td>" + esc(en && r.group_en ? r.group_en : r.group_zh) +
          "</td><td>" + r.received + "</td><td>" + r.closed + "</td><td>" + r.closed_on_time + "</td><td>" +
          (r.closed ? Math.round((1000 * r.closed_on_time) / r.closed) / 10 + "%" : "—") + "</td></tr>";
      }).join("");
  }

  var statsDone = G.api("/api/v1/public/stats").then(function (data) {
    stats = data;
    $("p-street").innerHTML += data.streets.map(function (s) {
      return '<option value="' + esc(s.code) + '">' + esc(s.name) + "</option>";
    }).join("");
    $("p-street").addEventListener("change", render);
    render();
  });
  // Where a case stands, by its number: state and dates only (the API gives nothing else).
  $("lookup-form").addEventListener("submit", function (event) {
    event.preventDefault();
    var number = $("lookup-number").value.trim(), out = $("lookup-result");
    if (!number) return;
    if (!/^[A-Za-z0-9-]{4,24}$/.test(number)) { out.innerHTML = '<p class="error">' + esc(t("bad_case_number")) + "</p>"; return; }
    out.textContent = t("loading");
    G.api("/api/v1/public/cases/" + encodeURIComponent(number)).then(function (c) {
      function row(label, value) { return value ? "<tr><th>" + esc(label) + "</th><td>" + esc(value) + "</td></tr>" : ""; }
      var closed = c.closed_on ? c.closed_on + (c.closed_on_time === null ? "" : " · " + t(c.closed_on_time ? "on_time" : "late")) : "";
      out.innerHTML = '<table class="lookup-table" data-number="' + esc(c.number) + '" data-state="' + esc(c.state) + '">' +
        row(t("case_state"), c.state_label) + row(t("received_on"), c.received_on) + row(t("deadline_on"), c.deadline_on) +
        row(t("closed_on"), closed) + "</table>";
    }).catch(function (error) {
      var key = error.status === 404 ? "case_not_found" : error.status === 429 ? "too_many_lookups" : error.status === 400 ? "bad_case_number" : null;
      out.innerHTML = '<p class="error" data-status="' + esc(error.status) + '">' + esc(key ? t(key) : error.message) + "</p>";
    });
  });

  Promise.all([mapDone, statsDone]).then(function () { G.ready("public", started); });
})();
