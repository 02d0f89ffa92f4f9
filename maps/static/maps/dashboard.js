/* The managers' dashboard: hexagon heatmap of cases for the view (binned in SQL), light totals, trend by month,
   streets and units ranked by on-time rate, and export of the current view. */
(function () {
  "use strict";
  var G = window.Grid, t = G.t, esc = G.escapeHtml;
  var started = performance.now();
  var $ = function (id) { return document.getElementById(id); };
  var map = G.createMap("hexmap");
  var hexLayer = L.geoJSON(null, { coordsToLatLng: G.coordsToLatLng }).addTo(map);
  // Street outlines for orientation, above the hexagons and not clickable.
  var outlines = L.geoJSON(null, {
    coordsToLatLng: G.coordsToLatLng, interactive: false,
    style: function () { return { color: "#123d6a", weight: 1.5, fill: false, opacity: 0.7 }; },
  }).addTo(map);
  var legend = null, trend = null, seq = 0;
  $("filters").addEventListener("submit", function (event) { event.preventDefault(); });  // filters apply as they change

  function filters() {
    return { date_from: $("d-from").value, date_to: $("d-to").value, category: $("d-category").value };
  }
  function viewParams() {
    return Object.assign({ in_bbox: G.bbox(map), zoom: map.getZoom(), measure: $("d-measure").value }, filters());
  }
  function updateExports() {
    var params = viewParams();
    $("export-csv").href = "/api/v1/dashboard/export.csv" + G.query(params);
    $("export-xlsx").href = "/api/v1/dashboard/export.xlsx" + G.query(params);
  }

  function loadHexes() {
    var mine = ++seq, measure = $("d-measure").value;
    updateExports();
    return G.api("/api/v1/dashboard/hexbins" + G.query(viewParams())).then(function (data) {
      if (mine !== seq) return;
      var key = measure === "per_1000" ? "per_1000" : "count", max = 0;
      data.features.forEach(function (f) { var v = f.properties[key]; if (v !== null && v > max) max = v; });
      hexLayer.clearLayers();
      hexLayer.options.style = function (f) {
        return { weight: 0.5, color: "#ffffff", fillColor: G.rampColour(f.properties[key], max), fillOpacity: 0.75 };
      };
      hexLayer.options.onEachFeature = function (f, layer) {
        layer.bindTooltip(t("count") + ": " + f.properties.count + (f.properties.per_1000 !== null ? "<br>" + t("per_1000") + ": " + f.properties.per_1000 : ""));
      };
      hexLayer.addData(data.features);
      if (legend) map.removeControl(legend);
      legend = G.legend(map, key === "count" ? t("count") : t("per_1000"), max || 1).addTo(map);
      document.documentElement.setAttribute("data-hexagons", String(data.features.length));
    }, function (error) {
      // 503: the server runs as many heat-bin requests as it allows; ask again when it says to, if still current.
      if (error.status === 503 && mine === seq) setTimeout(function () { if (mine === seq) loadHexes(); }, 2000);
    });
  }

  function rankTable(node, rows) {
    node.innerHTML = "<tr><th>#</th><th>" + t("title") + "</th><th>" + t("received") + "</th><th>" + t("closed") + "</th><th>" +
      t("closed_on_time") + "</th><th>" + t("on_time_rate") + "</th></tr>" + rows.map(function (r, i) {
        return "<tr><td>" + (i + 1) + "</td><td>" + esc(r.name) + "</td><td>" + r.received + "</td><td>" + r.closed + "</td><td>" +
          r.closed_on_time + "</td><td>" + (r.on_time_rate === null ? "—" : r.on_time_rate + "%") + "</td></tr>";
      }).join("");
  }

  function loadSummary() {
    return G.api("/api/v1/dashboard/summary" + G.query(filters())).then(function (s) {
      $("lights").innerHTML = ["green", "yellow", "red"].map(function (k) {
        return '<div class="' + k + '" data-light="' + k + '">' + (s.lights[k] || 0) + "<small>" + t(k) + "</small></div>";
      }).join("");
      rankTable($("rank-streets"), s.streets);
      rankTable($("rank-units"), s.units);
      var labels = s.months.map(function (m) { return m.month; });
      var sets = [
        { label: t("received"), data: s.months.map(function (m) { return m.received; }), borderColor: "#1764ab", backgroundColor: "#1764ab" },
        { label: t("closed"), data: s.months.map(function (m) { return m.closed; }), borderColor: "#2e9e44", backgroundColor: "#2e9e44" },
        { label: t("closed_on_time"), data: s.months.map(function (m) { return m.closed_on_time; }), borderColor: "#f0b400", backgroundColor: "#f0b400" },
      ];
      if (trend) { trend.data.labels = labels; trend.data.datasets = sets; trend.update(); return; }
      trend = new Chart($("trend"), {
        type: "line", data: { labels: labels, datasets: sets },
        options: { animation: false, responsive: true, plugins: { legend: { position: "bottom" } }, scales: { y: { beginAtZero: true } } },
      });
    });
  }

  var framed = G.api("/api/v1/streets" + G.query({ page_size: 100 })).then(function (data) {
    outlines.addData(data.features);
    if (!G.viewRestored && outlines.getLayers().length) map.fitBounds(outlines.getBounds(), { animate: false });
  });
  ["d-from", "d-to", "d-category"].forEach(function (id) {
    $(id).addEventListener("change", function () { loadHexes(); loadSummary(); });
  });
  $("d-measure").addEventListener("change", loadHexes);

  framed.then(loadHexes).then(function () {
    G.ready("heatmap", started);
    map.on("moveend", loadHexes);
  });
  loadSummary().then(function () { G.ready("summary", started); });
  window.__map = map;
})();
