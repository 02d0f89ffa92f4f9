/* The managers' dashboard: hexagon heatmap of cases for the view (binned in SQL), light totals, trend by month,
   rankings, and export of the current view — all for one region of the drill-down 区 → 街道 → 社区 → 网格.
   The region is in the URL (?region=code): reload and the back button restore it. */
(function () {
  "use strict";
  var G = window.Grid, t = G.t, esc = G.escapeHtml;
  var started = performance.now();
  var $ = function (id) { return document.getElementById(id); };
  var map = G.createMap("hexmap");
  var hexLayer = L.geoJSON(null, { coordsToLatLng: G.coordsToLatLng }).addTo(map);
  // The regions one level down (or the grid itself), above the hexagons; a click on the map drills into the one
  // under the pointer (found here, so the hexagons keep their tooltips).
  var outlines = L.geoJSON(null, {
    coordsToLatLng: G.coordsToLatLng, interactive: false,
    style: function () { return { color: "#123d6a", weight: 1.5, fill: false, opacity: 0.7 }; },
  }).addTo(map);
  var legend = null, trend = null, seq = 0, summarySeq = 0;
  var rootRegion = G.config.root_region || "";  // a manager's own region: the top of the breadcrumbs
  var region = new URLSearchParams(location.search).get("region") || rootRegion;
  var current = null;  // the region as the server described it (level, code, name, child_level, path)
  var children = [];   // GeoJSON features of the regions one level down
  var LAYER = { street: "streets", community: "communities", grid: "grids" };
  var PARENT_FILTER = { community: "street", grid: "community" };

  $("filters").addEventListener("submit", function (event) { event.preventDefault(); });  // filters apply as they change

  function filters() {
    return { date_from: $("d-from").value, date_to: $("d-to").value, category: $("d-category").value, region: region };
  }
  function viewParams() {
    return Object.assign({ in_bbox: G.bbox(map), zoom: map.getZoom(), measure: $("d-measure").value }, filters());
  }
  function updateExports() {
    var params = viewParams();
    $("export-csv").href = "/api/v1/dashboard/export.csv" + G.query(params);
    $("export-xlsx").href = "/api/v1/dashboard/export.xlsx" + G.query(params);
    $("assessment-link").href = "/dashboard/assessment" + G.query({ region: region });
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
      var total = data.features.reduce(function (sum, f) { return sum + f.properties.count; }, 0);
      document.documentElement.setAttribute("data-hexagons", String(data.features.length));
      document.documentElement.setAttribute("data-hex-cases", String(total));
      document.documentElement.setAttribute("data-hex-region", region);
    }, function (error) {
      // 503: the server runs as many heat-bin requests as it allows; ask again when it says to, if still current.
      if (error.status === 503 && mine === seq) setTimeout(function () { if (mine === seq) loadHexes(); }, 2000);
    });
  }

  // Drilling moves the map (moveend) and changes the region: both ask for heat bins; one request serves both.
  var hexTimer = null;
  function scheduleHexes() {
    clearTimeout(hexTimer);
    hexTimer = setTimeout(loadHexes, 50);
  }

  function rate(value) { return value === null || value === undefined ? "—" : value + "%"; }
  function rankTable(node, rows) {
    node.innerHTML = "<tr><th>#</th><th>" + t("title") + "</th><th>" + t("received") + "</th><th>" + t("closed") + "</th><th>" +
      t("closed_on_time") + "</th><th>" + t("on_time_rate") + "</th></tr>" + rows.map(function (r, i) {
        return '<tr data-code="' + esc(r.code) + '"><td>' + (i + 1) + "</td><td>" + esc(r.name) + "</td><td>" + r.received + "</td><td>" + r.closed + "</td><td>" +
          r.closed_on_time + "</td><td>" + rate(r.on_time_rate) + "</td></tr>";
      }).join("");
  }
  function workerTable(node, rows) {
    node.innerHTML = "<tr><th>#</th><th>" + t("name") + "</th><th>" + t("reports") + "</th><th>" + t("valid_reports") + "</th><th>" +
      t("verified_on_time") + "</th><th>" + t("on_time_verify_rate") + "</th></tr>" + rows.map(function (r, i) {
        return '<tr data-code="' + esc(r.code) + '"><td>' + (i + 1) + "</td><td>" + esc(r.name) + "</td><td>" + r.reports + "</td><td>" +
          r.valid_reports + "</td><td>" + r.verified_on_time + "/" + r.verifications + "</td><td>" + rate(r.on_time_verify_rate) + "</td></tr>";
      }).join("");
  }

  var DEPTH = { all: 0, district: 0, street: 1, community: 2, grid: 3 };
  function showRankings(level) {
    document.querySelectorAll("[data-rank-level]").forEach(function (card) {
      card.hidden = DEPTH[card.dataset.rankLevel] <= DEPTH[level];
    });
  }

  function drawTrend(months) {
    var labels = months.map(function (m) { return m.partial ? m.month + " " + t("month_to_date") : m.month; });
    var partial = months.map(function (m) { return !!m.partial; });
    // A segment ending in a partial month is dashed: the month is not over, its counts are not a drop.
    var segment = { borderDash: function (ctx) { return partial[ctx.p1DataIndex] ? [6, 4] : undefined; } };
    var sets = [
      ["received", "#1764ab"], ["closed", "#2e9e44"], ["closed_on_time", "#f0b400"],
    ].map(function (spec) {
      return {
        label: t(spec[0]), data: months.map(function (m) { return m[spec[0]]; }),
        borderColor: spec[1], backgroundColor: spec[1], segment: segment,
        pointStyle: months.map(function (m) { return m.partial ? "rectRot" : "circle"; }),
      };
    });
    document.documentElement.setAttribute("data-partial-months", months.filter(function (m) { return m.partial; })
      .map(function (m) { return m.month; }).join(","));
    if (trend) { trend.data.labels = labels; trend.data.datasets = sets; trend.update(); return; }
    trend = new Chart($("trend"), {
      type: "line", data: { labels: labels, datasets: sets },
      options: { animation: false, responsive: true, plugins: { legend: { position: "bottom" } }, scales: { y: { beginAtZero: true } } },
    });
  }

  function drawCrumbs(described) {
    var steps = [];
    if (!rootRegion) steps.push({ code: "", name: t("all_regions") });
    var below = !rootRegion;
    described.path.forEach(function (step) {
      if (step.code === rootRegion) below = true;
      if (below) steps.push(step);
    });
    $("crumbs").innerHTML = steps.map(function (step, i) {
      var last = i === steps.length - 1;
      return (i ? '<span class="sep">›</span>' : "") + (last
        ? '<span data-region="' + esc(step.code) + '" aria-current="page"><b>' + esc(step.name) + "</b></span>"
        : '<a href="?region=' + encodeURIComponent(step.code) + '" data-region="' + esc(step.code) + '">' + esc(step.name) + "</a>");
    }).join("");
  }

  function loadSummary() {
    var mine = ++summarySeq;
    return G.api("/api/v1/dashboard/summary" + G.query(filters())).then(function (s) {
      if (mine !== summarySeq) return;
      $("lights").innerHTML = ["green", "yellow", "red"].map(function (k) {
        return '<div class="' + k + '" data-light="' + k + '">' + (s.lights[k] || 0) + "<small>" + t(k) + "</small></div>";
      }).join("");
      rankTable($("rank-streets"), s.streets);
      rankTable($("rank-communities"), s.communities);
      rankTable($("rank-grids"), s.grids);
      rankTable($("rank-units"), s.units);
      workerTable($("rank-workers"), s.workers);
      showRankings(s.region.level);
      drawTrend(s.months);
      var regionChanged = !current || current.code !== s.region.code;
      current = s.region;
      drawCrumbs(s.region);
      document.documentElement.setAttribute("data-total", String(s.total));
      document.documentElement.setAttribute("data-summary-region", s.region.code);
      if (regionChanged) return loadOutlines();
    }, function (error) {
      // A region in the URL that is no region (400) or outside the manager's own (403): say so, go to the top.
      if ((error.status === 400 || error.status === 403) && region !== rootRegion) {
        $("crumbs").textContent = error.status === 403 ? t("region_forbidden") : t("region_unknown");
        region = rootRegion;
        history.replaceState({ region: region }, "", region ? "?region=" + encodeURIComponent(region) : location.pathname);
        return loadSummary();
      }
      throw error;
    });
  }

  /* The outlines of the region's children (or, for a grid, of the grid itself) and the region select. */
  function loadOutlines() {
    var level = current.child_level || "grid";
    var params = { page_size: 5000 };
    if (current.child_level) {
      if (PARENT_FILTER[level]) params[PARENT_FILTER[level]] = current.code;
      else if (current.level === "district") params.district = current.code;
    } else {
      params.community = current.path[current.path.length - 2].code;
    }
    var described = current;
    return G.api("/api/v1/" + LAYER[level] + G.query(params)).then(function (data) {
      if (described !== current) return;
      var features = current.child_level ? data.features : data.features.filter(function (f) {
        return f.properties.code === current.code;
      });
      children = current.child_level ? features : [];
      outlines.clearLayers();
      outlines.addData(features);
      var select = $("d-region");
      select.innerHTML = '<option value="">' + esc(current.child_level ? t("pick_" + current.child_level) : current.name) + "</option>" +
        children.map(function (f) {
          return '<option value="' + esc(f.properties.code) + '">' + esc(f.properties.name) + "</option>";
        }).join("");
      select.disabled = !children.length;
      // After a base-map switch the page reloads at the view it had: keep that view once.
      if (outlines.getLayers().length && !G.viewRestored) map.fitBounds(outlines.getBounds(), { animate: false });
      G.viewRestored = false;
      document.documentElement.setAttribute("data-region", current.code);
    });
  }

  function insideRing(point, ring) {
    var inside = false;
    for (var i = 0, j = ring.length - 1; i < ring.length; j = i++) {
      var xi = ring[i][0], yi = ring[i][1], xj = ring[j][0], yj = ring[j][1];
      if ((yi > point[1]) !== (yj > point[1]) && point[0] < ((xj - xi) * (point[1] - yi)) / (yj - yi) + xi) inside = !inside;
    }
    return inside;
  }
  function contains(geometry, point) {
    var polygons = geometry.type === "Polygon" ? [geometry.coordinates] : geometry.coordinates;
    return polygons.some(function (rings) {
      return insideRing(point, rings[0]) && !rings.slice(1).some(function (hole) { return insideRing(point, hole); });
    });
  }

  function drill(code, push) {
    if (code === region) return;
    region = code;
    if (push !== false) history.pushState({ region: code }, "", code ? "?region=" + encodeURIComponent(code) : location.pathname);
    loadSummary().then(scheduleHexes);
  }

  map.on("click", function (event) {
    var point = G.fromMap(event.latlng);
    var hit = children.filter(function (f) { return contains(f.geometry, point); })[0];
    if (hit) drill(hit.properties.code);
  });
  $("d-region").addEventListener("change", function () { if (this.value) drill(this.value); });
  $("crumbs").addEventListener("click", function (event) {
    var link = event.target.closest("a[data-region]");
    if (!link) return;
    event.preventDefault();
    drill(link.dataset.region);
  });
  window.addEventListener("popstate", function () {
    drill(new URLSearchParams(location.search).get("region") || rootRegion, false);
  });
  ["d-from", "d-to", "d-category"].forEach(function (id) {
    $(id).addEventListener("change", function () { scheduleHexes(); loadSummary(); });
  });
  $("d-measure").addEventListener("change", loadHexes);

  loadSummary().then(function () {
    G.ready("summary", started);
    return loadHexes();
  }).then(function () {
    G.ready("heatmap", started);
    map.on("moveend", scheduleHexes);
  });
  window.__map = map;
})();
