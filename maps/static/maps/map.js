/* The command map and community map (/map/): region layers, grid shading, building tiles, residents, search,
   cases with filters, the case panel and its actions, polling for new cases. */
(function () {
  "use strict";
  var G = window.Grid, t = G.t, esc = G.escapeHtml, config = G.config;
  var started = performance.now();
  var map = G.createMap("map");
  var layers = {};
  var enabled = new Set(config.layers || []);
  var $ = function (id) { return document.getElementById(id); };

  document.querySelectorAll(".layer-name").forEach(function (node) { node.textContent = t(node.dataset.key); });

  // --- Region layers -------------------------------------------------------------------------------------
  var STYLES = {
    streets: { color: "#123d6a", weight: 3, fill: false },
    communities: { color: "#5b7fa6", weight: 2, dashArray: "6 4", fill: false },
    grids: { color: "#6f8aa6", weight: 1, fillOpacity: 0.55, fillColor: "#f4f4f4" },
    precincts: { color: "#7b3fa0", weight: 2, dashArray: "2 4", fillColor: "#7b3fa0", fillOpacity: 0.06 },
  };
  var gridFeatures = {}, regionFeatures = { streets: [], communities: [], grids: [] };

  function geoLayer(key) {
    return L.geoJSON(null, {
      coordsToLatLng: G.coordsToLatLng,
      style: function () { return STYLES[key]; },
      interactive: key === "grids" || key === "precincts",
      onEachFeature: function (feature, layer) {
        if (key === "grids") {
          gridFeatures[feature.id] = layer;
          layer.on("mouseover", function () { layer.setStyle({ weight: 3 }); });
          layer.on("mouseout", function () { layer.setStyle({ weight: 1 }); });
        }
        if (key === "precincts") layer.bindTooltip(esc(feature.properties.name), { sticky: true });
      },
    });
  }

  function loadAll(url) {
    // Region layers are small (a district has a few hundred grids): one page of up to 5000.
    return G.api(url + G.query({ page_size: 5000 })).then(function (data) { return data.features || []; });
  }

  var regionLoads = ["streets", "communities", "grids"].filter(function (k) { return enabled.has(k); }).map(function (key) {
    layers[key] = geoLayer(key);
    return loadAll("/api/v1/" + key).then(function (features) {
      regionFeatures[key] = features;
      layers[key].addData(features);
      if (key === "grids") layers[key].bringToBack();
    });
  });
  if (enabled.has("precincts")) {
    layers.precincts = geoLayer("precincts");
    G.api("/api/v1/units" + G.query({ type: "police_station" })).then(function (data) {
      layers.precincts.addData(data.features);
    });
  }

  // --- Building footprints: vector tiles from PostGIS at zoom 16+ ----------------------------------------
  if (enabled.has("buildings") && L.vectorGrid) {
    layers.buildings = L.vectorGrid.protobuf(
      "/api/v1/tiles/buildings/{z}/{x}/{y}.pbf" + (G.gcj ? "?crs=gcj02" : ""),
      {
        minZoom: config.tile_min_zoom || 16,
        maxNativeZoom: 19,
        interactive: false,
        rendererFactory: L.canvas.tile,
        vectorTileLayerStyles: {
          buildings: function (props) {
            return { weight: 1, color: "#8a5a2b", fill: true, fillColor: props.use === "residential" ? "#e9c9a0" : "#d7d0c5", fillOpacity: 0.8 };
          },
        },
      }
    );
  }

  // --- Layer switches ------------------------------------------------------------------------------------
  function syncLayer(key, on) {
    var layer = key === "cases" ? caseCluster : layers[key];
    if (!layer) return;
    if (on && !map.hasLayer(layer)) map.addLayer(layer);
    if (!on && map.hasLayer(layer)) map.removeLayer(layer);
  }
  document.querySelectorAll("[data-layer]").forEach(function (box) {
    box.addEventListener("change", function () { syncLayer(box.dataset.layer, box.checked); });
  });

  // --- Grid shading by a figure ----------------------------------------------------------------------------
  var figureLegend = null, figures = {};
  function pickedArea() {
    return { street: $("pick-street").value, community: $("pick-community").value, grid: $("pick-grid").value };
  }
  function refreshFigures() {
    var figure = $("figure").value;
    $("care-tag-label").hidden = figure !== "care";
    var area = pickedArea();
    var params = Object.assign({ care_tag: figure === "care" ? $("care-tag").value : "" }, area);
    return G.api("/api/v1/grid-figures" + G.query(params)).then(function (data) {
      figures = data || {};
      shadeGrids();
    });
  }
  function shadeGrids() {
    if (!layers.grids) return;
    var figure = $("figure").value, area = pickedArea(), max = 0, totals = { people: 0, households: 0, buildings: 0 };
    Object.keys(figures).forEach(function (id) {
      var v = figures[id][figure];
      if (v !== null && v !== undefined && v > max) max = v;
      totals.people += figures[id].people; totals.households += figures[id].households; totals.buildings += figures[id].buildings;
    });
    layers.grids.eachLayer(function (layer) {
      var p = layer.feature.properties, f = figures[layer.feature.id];
      var inArea = (!area.street || p.street_code === area.street) && (!area.community || p.community_code === area.community) &&
        (!area.grid || p.code === area.grid);
      var value = f ? f[figure] : null;
      var strength = map.getZoom() >= (config.tile_min_zoom || 16) ? 0.25 : 0.6;
      layer.setStyle({
        fillColor: figure ? G.rampColour(value, max) : "#f4f4f4",
        fillOpacity: inArea ? (figure ? strength : 0.1) : 0.03,
        opacity: inArea ? 1 : 0.3,
      });
      var tip = "<b>" + esc(p.name) + "</b> " + esc(p.code) + "<br>" + esc(p.community_name || "");
      if (f) {
        tip += "<br>" + t("people") + ": " + f.people + " · " + t("households") + ": " + f.households +
          "<br>" + t("care") + ": " + f.care + " · " + t("open_cases") + ": " + f.open_cases +
          " · " + t("cases_per_1000") + ": " + (f.cases_per_1000 === null ? "—" : f.cases_per_1000);
      }
      layer.bindTooltip(tip, { sticky: true });
    });
    if (figureLegend) map.removeControl(figureLegend);
    figureLegend = figure ? G.legend(map, t(figure), max || 1).addTo(map) : null;
    $("region-figures").textContent = t("people") + " " + totals.people + " · " + t("households") + " " + totals.households +
      " · " + t("buildings") + " " + totals.buildings;
  }
  ["figure", "care-tag"].forEach(function (id) { $(id).addEventListener("change", refreshFigures); });
  map.on("zoomend", function () { shadeGrids(); });

  function fillSelect(select, items, allLabel) {
    select.innerHTML = '<option value="">' + esc(allLabel) + "</option>" + items.map(function (f) {
      return '<option value="' + esc(f.properties.code) + '">' + esc(f.properties.name) + "</option>";
    }).join("");
  }
  function fitTo(key, code) {
    var found = null;
    layers[key] && layers[key].eachLayer(function (layer) { if (layer.feature.properties.code === code) found = layer; });
    if (found) map.fitBounds(found.getBounds(), { maxZoom: 17 });
  }
  $("pick-street").addEventListener("change", function () {
    var street = this.value, allC = $("pick-community").options[0].text, allG = $("pick-grid").options[0].text;
    fillSelect($("pick-community"), regionFeatures.communities.filter(function (f) { return f.properties.street_code === street; }), allC);
    fillSelect($("pick-grid"), [], allG);
    if (street) fitTo("streets", street);
    refreshFigures();
  });
  $("pick-community").addEventListener("change", function () {
    var community = this.value, allG = $("pick-grid").options[0].text;
    fillSelect($("pick-grid"), regionFeatures.grids.filter(function (f) { return f.properties.community_code === community; }), allG);
    if (community) fitTo("communities", community);
    refreshFigures();
  });
  $("pick-grid").addEventListener("change", function () {
    if (this.value) fitTo("grids", this.value);
    refreshFigures();
  });

  // --- Detail panel ----------------------------------------------------------------------------------------
  var detail = $("detail"), detailBody = $("detail-body");
  function openDetail(html, kind) {
    detailBody.innerHTML = html;
    detail.dataset.kind = kind || "";
    detail.classList.add("open");
  }
  function closeDetail() { detail.classList.remove("open"); detail.dataset.kind = ""; }
  $("detail-close").addEventListener("click", closeDetail);

  // --- Buildings: households and people (masked) -----------------------------------------------------------
  var highlight = L.layerGroup().addTo(map);
  function showBuilding(building) {
    openDetail("<h3>" + esc(building.name || t("building")) + "</h3><p>" + t("loading") + "</p>", "building");
    if (!config.sees_residents) return;
    G.api("/api/v1/buildings/" + building.id + "/households").then(function (households) {
      var html = "<h3>" + esc(building.name || t("building")) + "</h3>";
      if (building.code) html += '<div class="counter">' + esc(building.code) + " " + esc(building.address || "") + "</div>";
      if (!households.length) html += "<p>" + t("no_households") + "</p>";
      html += households.map(function (h) {
        var people = h.people.map(function (p) {
          var tags = (p.care_tags || []).map(function (tag) {
            var text = typeof tag === "object" ? t("tag_" + tag.code) || tag.label : t("tag_" + tag);
            return '<span class="tag">' + esc(text) + "</span>";
          }).join("");
          return '<li data-person="' + p.id + '"><b>' + esc(p.name) + "</b> " + esc(t(p.sex)) + " · " + esc(p.age) + " · " +
            esc(t(p.residency)) + (p.relation ? " · " + esc(p.relation) : "") + tags + '<br><span class="masked">' +
            esc(p.id_number) + (p.phone ? " · " + esc(p.phone) : "") + "</span></li>";
        }).join("");
        return '<div class="household" data-household="' + h.id + '"><b>' + esc(h.unit_no ? h.unit_no + t("unit_no") : "") + esc(h.room) +
          '</b> <span class="counter">' + esc(t("floor")) + " " + esc(h.floor) + " · " + h.people.length + " " + esc(t("persons")) +
          '</span><ul class="people">' + people + "</ul></div>";
      }).join("");
      openDetail(html, "building");
    }).catch(function (error) {
      openDetail("<h3>" + esc(building.name || t("building")) + "</h3><p>" + esc(error.status === 403 ? t("no_permission") : error.message) + "</p>", "building");
    });
  }

  map.on("click", function (event) {
    if (!layers.buildings || !map.hasLayer(layers.buildings) || map.getZoom() < (config.tile_min_zoom || 16)) return;
    var ll = G.fromMap(event.latlng);
    G.api("/api/v1/locate" + G.query({ lon: ll[0].toFixed(7), lat: ll[1].toFixed(7) })).then(function (where) {
      if (where.building) showBuilding(where.building);
    });
  });

  // --- Search: person, household, address, building code → fly to the building --------------------------
  $("search-form").addEventListener("submit", function (event) {
    event.preventDefault();
    var q = $("search").value.trim(), list = $("search-results");
    if (!q) return;
    list.innerHTML = "<li>" + t("loading") + "</li>";
    G.api("/api/v1/search" + G.query({ q: q })).then(function (data) {
      if (!data.results.length) { list.innerHTML = "<li>" + t("no_results") + "</li>"; return; }
      list.innerHTML = data.results.map(function (r, i) {
        return '<li data-index="' + i + '" data-kind="' + r.kind + '"><b>' + esc(r.label) + "</b> <span class=\"tag\">" +
          esc(t(r.kind)) + "</span><small>" + esc(r.detail || "") + "</small></li>";
      }).join("");
      list.querySelectorAll("li[data-index]").forEach(function (item) {
        item.addEventListener("click", function () { goTo(data.results[Number(item.dataset.index)]); });
      });
      if (data.results.length === 1) goTo(data.results[0]);
    }).catch(function (error) { list.innerHTML = "<li>" + esc(error.message) + "</li>"; });
  });
  function goTo(result) {
    G.setDrawer("side", false);  // on a phone the drawer covers the map: show where the result is
    var target = G.toMap(result.lon, result.lat);
    map.flyTo(target, 18, { duration: 0.8 });
    highlight.clearLayers();
    L.circleMarker(target, { radius: 12, color: "#d9342b", weight: 3, fill: false }).addTo(highlight);
    var building = { id: result.building_id, name: result.kind === "building" ? result.label : result.detail.split(" ")[0] };
    if (result.kind === "building") building.address = result.detail;
    if (config.sees_residents && result.kind !== "building") showBuilding(building);
    else if (config.sees_residents) showBuilding(building);
  }

  // --- Cases: clustered markers coloured by light, filters, polling ---------------------------------------
  var caseCluster = null, caseMarkers = {}, knownCases = null, pollTimer = null, stateLabels = {}, caseSeq = 0;
  (config.states || []).forEach(function (s) { stateLabels[s.value] = s.label; });
  var english = config.language === "en", categoryNames = {};
  (config.categories || []).forEach(function (c) { categoryNames[c.code] = english && c.name_en ? c.name_en : c.name; });
  function caseIcon(light) {
    return L.divIcon({ className: "case-marker " + (light || "none"), iconSize: [14, 14] });
  }
  function clusterIcon(cluster) {
    var worst = "green";
    cluster.getAllChildMarkers().forEach(function (m) {
      if (m.options.light === "red") worst = "red";
      else if (m.options.light === "yellow" && worst !== "red") worst = "yellow";
    });
    var n = cluster.getChildCount(), size = n < 10 ? 30 : n < 100 ? 36 : 44;
    return L.divIcon({
      html: '<div class="cluster-bubble size-' + size + '">' + n + "</div>",
      className: "case-cluster " + worst, iconSize: [size, size],
    });
  }
  function caseFilters() {
    return {
      state: $("f-state").value, light: $("f-light").value, category: $("f-category").value, level: $("f-level").value,
      received_from: $("f-from").value, received_to: $("f-to").value,
    };
  }
  function caseProps(feature) {
    var p = feature.properties || {};
    return {
      id: feature.id !== undefined ? feature.id : p.id,
      number: p.number || "", light: p.light || "none", state: stateLabels[p.state] || p.state || "",
      category: categoryNames[p.category] || p.category_name || p.category || "",
      address: p.address || "", received: p.received_at || "",
    };
  }
  function loadCases(initial) {
    if (!caseCluster) return Promise.resolve();
    var mine = ++caseSeq, params = Object.assign({ in_bbox: G.bbox(map), page_size: 1000 }, caseFilters());
    return G.api("/api/v1/cases" + G.query(params)).then(function (data) {
      if (mine !== caseSeq) return;  // a newer request (moved map, changed filter) answers instead
      var features = (data && data.features) || [];
      var seen = {}, fresh = [];
      features.forEach(function (feature) {
        var p = caseProps(feature);
        seen[p.id] = true;
        if (knownCases && !knownCases[p.id]) fresh.push(p);
        var existing = caseMarkers[p.id];
        if (existing && existing.options.light === p.light) return;
        if (existing) caseCluster.removeLayer(existing);
        var c = feature.geometry.coordinates;
        var marker = L.marker(G.toMap(c[0], c[1]), { icon: caseIcon(p.light), light: p.light, caseId: p.id, title: p.number });
        marker.on("click", function () { openCase(p.id); });
        caseMarkers[p.id] = marker;
        caseCluster.addLayer(marker);
      });
      Object.keys(caseMarkers).forEach(function (id) {
        if (!seen[id]) { caseCluster.removeLayer(caseMarkers[id]); delete caseMarkers[id]; }
      });
      knownCases = Object.assign(knownCases || {}, seen);
      var total = data && data.count !== undefined ? data.count : features.length;
      // The cases API pages at 1000: beyond that the newest are drawn, and zooming in shows the rest.
      $("case-count").textContent = "(" + (total > features.length ? features.length + "/" + total : features.length) + ")";
      $("case-list").innerHTML = features.slice(0, 50).map(function (feature) {
        var p = caseProps(feature);
        return '<li data-case="' + esc(p.id) + '"><span class="light ' + esc(p.light) + '"></span><b>' + esc(p.number) + "</b> " +
          esc(p.category) + "<small>" + esc(p.state) + " · " + esc(p.address) + "</small></li>";
      }).join("");
      $("case-list").querySelectorAll("li[data-case]").forEach(function (item) {
        item.addEventListener("click", function () {
          G.setDrawer("side", false);
          var marker = caseMarkers[item.dataset.case];
          if (marker) caseCluster.zoomToShowLayer(marker, function () { openCase(item.dataset.case); });
          else openCase(item.dataset.case);
        });
      });
      if (fresh.length && !initial) toast(t("new_cases") + ": " + fresh.map(function (p) { return p.number; }).join(", "));
    });
  }
  // On a small screen the case is a bottom sheet over the lower part of the map: move its marker into the upper part.
  function keepAboveSheet(marker) {
    if (!marker || !window.matchMedia("(max-width: 900px)").matches) return;
    var point = map.latLngToContainerPoint(marker.getLatLng()), wanted = map.getSize().y * 0.2;
    if (Math.abs(point.y - wanted) > 20) map.panBy([0, point.y - wanted], { animate: false });
  }
  function toast(text) {
    var node = $("toast");
    node.textContent = text;
    node.classList.add("show");
    setTimeout(function () { node.classList.remove("show"); }, 4000);
  }

  function openCase(id) {
    openDetail("<p>" + t("loading") + "</p>", "case");
    keepAboveSheet(caseMarkers[id]);
    Promise.all([G.api("/api/v1/cases/" + id), loadUnits()]).then(function (r) { renderCase(r[0]); }).catch(function (error) {
      openDetail("<p>" + esc(error.message) + "</p>", "case");
    });
  }
  function label(value) {
    if (value === null || value === undefined) return "";
    if (typeof value === "object") return value.name || value.label || value.name_zh || value.code || "";
    return value;
  }
  function photoUrls(p) {
    var refs = [];
    (p.events || []).forEach(function (e) { (e.attachments || []).forEach(function (a) { if (refs.indexOf(a) < 0) refs.push(a); }); });
    return refs.map(function (ref) {
      return /^[0-9a-f]{64}$/.test(ref) ? { full: "/api/v1/case-photos/" + ref, thumb: "/api/v1/case-photos/" + ref + "?thumb=1" } : null;
    }).filter(Boolean);
  }
  function renderCase(p) {
    var light = p.light || "none";
    var html = '<h3 data-case-id="' + esc(p.id) + '"><span class="light ' + esc(light) + '"></span>' + esc(p.number) + "</h3><table>" +
      row(t("state"), p.state_label || label(p.state)) + row(t("category"), p.category && (categoryNames[p.category.code] || p.category.name_zh)) +
      row(t("level"), p.level) + row(t("light"), t(light)) + row(t("address"), p.address) +
      row(t("description"), p.description) + row(t("responsible_unit"), label(p.responsible_unit)) +
      row(t("deadline"), fmt(p.step_deadline_at || p.deadline_at)) + row(t("received_at"), fmt(p.received_at)) + "</table>";
    if (config.role && config.role !== "worker") {
      html += '<p><a class="desk-link" href="/desk/cases/' + Number(p.id) + '/">' + esc(t("open_at_desk")) + " ›</a></p>";
    }
    var photos = photoUrls(p);
    if (photos.length) {
      html += "<h4>" + t("photos") + '</h4><div class="photos">' + photos.map(function (ph) {
        return '<a href="' + esc(ph.full) + '" target="_blank" rel="noopener"><img src="' + esc(ph.thumb) + '" alt=""></a>';
      }).join("") + "</div>";
    }
    var events = p.events || [];
    html += "<h4>" + t("timeline") + '</h4><ol class="timeline">' + events.map(function (e) {
      return '<li data-action="' + esc(e.action) + '"><time>' + esc(fmt(e.created_at)) + "</time><b>" + esc(e.action_label || e.action) +
        "</b> " + esc(e.actor || "") + " " + esc(label(e.unit)) + (e.note ? "<br>" + esc(e.note) : "") + "</li>";
    }).join("") + "</ol>";
    var actions = (p.allowed_actions || []).filter(function (a) { return ACTION_FORMS[a] !== false; });
    if (actions.length) {
      html += "<h4>" + t("actions") + '</h4><div class="actions"><textarea id="action-note" rows="2" placeholder="' + esc(t("note")) + '"></textarea>';
      if (actions.indexOf("dispatch") >= 0) {
        html += '<select id="action-unit"><option value="">' + esc(t("dispatch_by_rule")) + "</option>" + (units || []).map(function (u) {
          return '<option value="' + u.id + '">' + esc(u.properties.name) + "</option>";
        }).join("") + "</select>";
      }
      if (actions.indexOf("extend") >= 0) html += '<input type="number" id="action-hours" min="1" max="720" value="8" title="' + esc(t("hours")) + '">';
      if (actions.indexOf("evaluate") >= 0) html += '<select id="action-score">' + [5, 4, 3, 2, 1].map(function (n) { return "<option>" + n + "</option>"; }).join("") + "</select>";
      html += actions.map(function (a) {
        return '<button type="button" data-do="' + esc(a) + '">' + esc((config.actions || {})[a] || a) + "</button>";
      }).join("") + "</div>";
    }
    openDetail(html, "case");
    detailBody.querySelectorAll("[data-do]").forEach(function (button) {
      button.addEventListener("click", function () { act(p, button.dataset.do); });
    });
  }
  // Actions that need what the map cannot give (photos after handling, the case to merge into) stay at the desk.
  var ACTION_FORMS = { close_on_spot: false, merge: false };
  var units = null;
  function loadUnits() {
    if (units) return Promise.resolve(units);
    return G.api("/api/v1/units").then(function (data) { units = data.features; return units; });
  }
  function row(k, v) { return v === undefined || v === null || v === "" ? "" : "<tr><th>" + esc(k) + "</th><td>" + esc(v) + "</td></tr>"; }
  function fmt(value) {
    if (!value) return "";
    var d = new Date(value);
    return isNaN(d) ? value : d.toLocaleString(config.language === "en" ? "en-GB" : "zh-CN", { hour12: false });
  }
  function act(p, action) {
    var body = { action: action, version: p.version, note: ($("action-note") || {}).value || "" };
    if (action === "dispatch" && $("action-unit") && $("action-unit").value) body.unit = Number($("action-unit").value);
    if (action === "extend") body.hours = Number(($("action-hours") || {}).value || 8);
    if (action === "evaluate") body.score = Number(($("action-score") || {}).value || 5);
    G.api("/api/v1/cases/" + p.id + "/transitions", { method: "POST", body: body }).then(function (result) {
      toast(t("done") + ": " + ((config.actions || {})[action] || action));
      if (result && result.number) renderCase(result); else closeDetail();
      loadCases(true);
    }).catch(function (error) {
      toast(t("failed") + ": " + error.message);
      if (error.status === 409) openCase(p.id);
    });
  }

  if (enabled.has("cases")) {
    caseCluster = L.markerClusterGroup({ iconCreateFunction: clusterIcon, maxClusterRadius: 50, disableClusteringAtZoom: 17 });
    ["f-state", "f-light", "f-category", "f-level", "f-from", "f-to"].forEach(function (id) {
      $(id).addEventListener("change", function () { loadCases(true); });
    });
    pollTimer = setInterval(function () { if (!document.hidden) loadCases(false); }, (config.poll_seconds || 8) * 1000);
  }
  window.addEventListener("beforeunload", function () { if (pollTimer) clearInterval(pollTimer); });

  // --- First view: layers on, figures shaded, cases drawn → ready ----------------------------------------
  document.querySelectorAll("[data-layer]").forEach(function (box) { syncLayer(box.dataset.layer, box.checked); });
  // The first view frames the district (its streets) once they are loaded, then the cases of that view are drawn.
  var framed = regionLoads.length ? regionLoads[0].then(function () {
    if (!G.viewRestored && layers.streets && layers.streets.getLayers().length) map.fitBounds(layers.streets.getBounds(), { animate: false });
  }) : Promise.resolve();
  var casesDrawn = framed.then(function () { return loadCases(true); });
  Promise.all(regionLoads.concat([refreshFigures(), casesDrawn])).then(function () {
    if (layers.grids) layers.grids.bringToBack();
    shadeGrids();
    if (caseCluster) map.on("moveend", function () { loadCases(true); });
    centreOnCase();
    G.ready("map", started);
  }).catch(function (error) {
    toast(t("failed") + ": " + error.message);
    if (caseCluster) map.on("moveend", function () { loadCases(true); });
    G.ready("map", started);
  });
  // /map/?case=<id> (the desk's link): centre on the case and open its panel.
  function centreOnCase() {
    var id = new URLSearchParams(window.location.search).get("case");
    if (!id || !/^[0-9]+$/.test(id)) return;
    G.api("/api/v1/cases/" + id).then(function (p) {
      var c = p.location && p.location.coordinates;
      if (c) map.setView(G.toMap(c[0], c[1]), 18, { animate: false });
      renderCase(p);
    }).catch(function (error) { toast(t("failed") + ": " + error.message); });
  }
  window.__map = map;
  window.__openCase = openCase;
})();
