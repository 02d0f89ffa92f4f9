/* The registry's own names on a Leaflet map, so that a map is legible with no base map and no internet: streets,
   communities, grids and units at the zooms that fit them and buildings from z17 (/api/v1/labels, placed in SQL
   at a point on each surface). Used by the pages (through Grid.createMap) and by the admin's map widgets. */
(function () {
  "use strict";
  function esc(value) {
    return String(value === undefined || value === null ? "" : value).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }
  function plainBbox(map) {
    var b = map.getBounds();
    return [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()].map(function (v, i) {
      var limit = i % 2 ? 90 : 180;
      return Math.max(-limit, Math.min(limit, v)).toFixed(6);
    }).join(",");
  }

  /* A layer of name labels for `map`; options: url (default /api/v1/labels), toMap(lon, lat) → LatLng and
     bbox(map) → "min_lon,min_lat,max_lon,max_lat" in WGS84 (both default to plain WGS84). */
  function attach(map, options) {
    options = options || {};
    var url = options.url || "/api/v1/labels";
    var toMap = options.toMap || function (lon, lat) { return L.latLng(lat, lon); };
    var bbox = options.bbox || plainBbox;
    if (!map.getPane("labels")) map.createPane("labels").classList.add("label-pane");
    var group = L.layerGroup();
    var seq = 0;
    function load() {
      if (!map.hasLayer(group)) return;
      var mine = ++seq;
      var query = "?in_bbox=" + encodeURIComponent(bbox(map)) + "&zoom=" + Math.round(map.getZoom());
      fetch(url + query, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (response) { return response.ok ? response.json() : null; })
        .then(function (data) {
          if (mine !== seq || !data) return;
          group.clearLayers();
          data.features.forEach(function (feature) {
            var c = feature.geometry.coordinates, p = feature.properties;
            L.marker(toMap(c[0], c[1]), {
              pane: "labels", interactive: false, keyboard: false,
              icon: L.divIcon({ className: "map-label map-label-" + p.kind, html: "<span>" + esc(p.name) + "</span>", iconSize: null }),
            }).addTo(group);
          });
          map.getContainer().setAttribute("data-labels", String(data.features.length));
        })
        .catch(function () { /* labels are an aid: a failed request leaves the previous ones */ });
    }
    map.on("moveend", load);
    group.on("add", load);
    return group;
  }

  window.GridLabels = { attach: attach };
})();
