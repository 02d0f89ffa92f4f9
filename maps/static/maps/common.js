/* Shared by the map, dashboard and public pages: config, words, requests, base map and the GCJ-02 shift. */
(function () {
  "use strict";
  var configNode = document.getElementById("page-config");
  var config = configNode ? JSON.parse(configNode.textContent) : {};
  var strings = config.strings || {};

  function t(key) { return strings[key] !== undefined ? strings[key] : key; }

  function cookie(name) {
    var match = document.cookie.match(new RegExp("(?:^|; )" + name + "=([^;]*)"));
    return match ? decodeURIComponent(match[1]) : "";
  }

  function query(params) {
    var parts = [];
    Object.keys(params).forEach(function (key) {
      var value = params[key];
      if (value === undefined || value === null || value === "") return;
      (Array.isArray(value) ? value : [value]).forEach(function (v) {
        parts.push(encodeURIComponent(key) + "=" + encodeURIComponent(v));
      });
    });
    return parts.length ? "?" + parts.join("&") : "";
  }

  // What went wrong, from the API's problem details (RFC 9457): the `detail`, then each field's messages from
  // `errors` ("field: message").
  function problemMessage(data) {
    if (!data || typeof data !== "object") return "";
    var parts = data.detail ? [String(data.detail)] : [];
    var fields = data.errors && typeof data.errors === "object" ? data.errors : {};
    Object.keys(fields).forEach(function (field) {
      var messages = fields[field];
      parts.push(field + ": " + (Array.isArray(messages) ? messages.join(" ") : String(messages)));
    });
    return parts.join("; ") || data.title || data.message || "";
  }

  function api(url, options) {
    options = options || {};
    // Errors in the page's language: the API answers Chinese unless asked for English.
    var language = document.documentElement.lang === "en" ? "en" : "zh-hans";
    var headers = { Accept: "application/json", "Accept-Language": language };
    var init = { method: options.method || "GET", credentials: "same-origin", headers: headers };
    if (options.body !== undefined) {
      init.headers["X-CSRFToken"] = cookie("csrftoken");
      if (typeof FormData !== "undefined" && options.body instanceof FormData) {
        init.body = options.body; // multipart: the browser sets the content type with its boundary
      } else {
        init.headers["Content-Type"] = "application/json";
        init.body = JSON.stringify(options.body);
      }
    }
    return fetch(url, init).then(function (response) {
      return response.text().then(function (text) {
        var data = null;
        try { data = text ? JSON.parse(text) : null; } catch (e) { data = { detail: text }; }
        if (!response.ok) {
          var error = new Error(problemMessage(data) || response.statusText);
          error.status = response.status;
          error.data = data;
          throw error;
        }
        return data;
      });
    });
  }

  function escapeHtml(value) {
    return String(value === undefined || value === null ? "" : value).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }

  /* WGS84 → GCJ-02, a port of grids/coords.py (used only with the AMap base map). */
  var A = 6378245.0, EE = 0.00669342162296594323;
  function outside(lon, lat) { return !(lon >= 72.004 && lon <= 137.8347 && lat >= 0.8293 && lat <= 55.8271); }
  function shiftLat(x, y) {
    var r = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * Math.sqrt(Math.abs(x));
    r += (20.0 * Math.sin(6.0 * x * Math.PI) + 20.0 * Math.sin(2.0 * x * Math.PI)) * 2.0 / 3.0;
    r += (20.0 * Math.sin(y * Math.PI) + 40.0 * Math.sin(y / 3.0 * Math.PI)) * 2.0 / 3.0;
    r += (160.0 * Math.sin(y / 12.0 * Math.PI) + 320 * Math.sin(y * Math.PI / 30.0)) * 2.0 / 3.0;
    return r;
  }
  function shiftLon(x, y) {
    var r = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * Math.sqrt(Math.abs(x));
    r += (20.0 * Math.sin(6.0 * x * Math.PI) + 20.0 * Math.sin(2.0 * x * Math.PI)) * 2.0 / 3.0;
    r += (20.0 * Math.sin(x * Math.PI) + 40.0 * Math.sin(x / 3.0 * Math.PI)) * 2.0 / 3.0;
    r += (150.0 * Math.sin(x / 12.0 * Math.PI) + 300.0 * Math.sin(x / 30.0 * Math.PI)) * 2.0 / 3.0;
    return r;
  }
  function wgs84ToGcj02(lon, lat) {
    if (outside(lon, lat)) return [lon, lat];
    var dLat = shiftLat(lon - 105.0, lat - 35.0), dLon = shiftLon(lon - 105.0, lat - 35.0);
    var radLat = lat / 180.0 * Math.PI, magic = 1 - EE * Math.sin(radLat) * Math.sin(radLat), sq = Math.sqrt(magic);
    dLat = (dLat * 180.0) / ((A * (1 - EE)) / (magic * sq) * Math.PI);
    dLon = (dLon * 180.0) / (A / sq * Math.cos(radLat) * Math.PI);
    return [lon + dLon, lat + dLat];
  }
  function gcj02ToWgs84(lon, lat) {
    if (outside(lon, lat)) return [lon, lat];
    var x = lon, y = lat;
    for (var i = 0; i < 30; i++) {
      var g = wgs84ToGcj02(x, y), dx = g[0] - lon, dy = g[1] - lat;
      x -= dx; y -= dy;
      if (Math.abs(dx) < 1e-10 && Math.abs(dy) < 1e-10) break;
    }
    return [x, y];
  }

  /* The base map: the one this browser chose last (layer control, kept in localStorage) if still offered, else
     the configured default. Its datum decides the shift for the whole page, so it is read before anything is drawn. */
  var BASEMAP_KEY = "gridmgmt.basemap", LABELS_KEY = "gridmgmt.labels", VIEW_KEY = "gridmgmt.view:" + location.pathname;
  function remembered(key) { try { return window.localStorage.getItem(key); } catch (e) { return null; } }
  function remember(key, value) { try { window.localStorage.setItem(key, value); } catch (e) { /* private mode */ } }
  var basemap = config.basemap || {};
  var choices = basemap.choices || [{ name: basemap.name || "none", label: "", gcj02: !!basemap.gcj02, layers: basemap.layers || [] }];
  var chosen = choices.filter(function (c) { return c.name === remembered(BASEMAP_KEY); })[0] || choices[0];
  var gcj = !!chosen.gcj02;
  /* Data (WGS84 lon/lat) → a Leaflet LatLng on this page's base map, and back. */
  function toMap(lon, lat) {
    if (!gcj) return L.latLng(lat, lon);
    var p = wgs84ToGcj02(lon, lat);
    return L.latLng(p[1], p[0]);
  }
  function fromMap(latlng) {
    if (!gcj) return [latlng.lng, latlng.lat];
    return gcj02ToWgs84(latlng.lng, latlng.lat);
  }
  function coordsToLatLng(coords) { return toMap(coords[0], coords[1]); }
  /* The view's bbox in WGS84, for in_bbox= parameters. */
  function bbox(map) {
    var b = map.getBounds(), sw = fromMap(b.getSouthWest()), ne = fromMap(b.getNorthEast());
    return [sw[0], sw[1], ne[0], ne[1]].map(function (v) { return v.toFixed(6); }).join(",");
  }

  /* A Leaflet map with the base map, a layer control to switch it (and the registry's name labels) and, after a
     switch to a base map of the other datum reloaded the page, the view the user had. */
  function createMap(id, options) {
    options = Object.assign({ zoomControl: true, preferCanvas: true, minZoom: 8, maxZoom: 19 }, options || {});
    var withLabels = options.labels !== false;
    delete options.labels;
    var center = config.center || [26.6, 101.56];
    var map = L.map(id, options).setView(toMap(center[1], center[0]), config.zoom || 12);
    var saved = null;
    try { saved = JSON.parse(window.sessionStorage.getItem(VIEW_KEY) || "null"); window.sessionStorage.removeItem(VIEW_KEY); } catch (e) { saved = null; }
    if (saved) { map.setView(toMap(saved[0], saved[1]), saved[2], { animate: false }); window.Grid.viewRestored = true; }
    var bases = {}, current = null;
    choices.forEach(function (c) {
      var group = L.layerGroup(c.layers.map(function (layer) { return L.tileLayer(layer.url, layer.options); }));
      group.basemap = c;
      bases[c.label || c.name] = group;
      if (c === chosen) current = group;
    });
    current.addTo(map);
    var overlays = {};
    if (withLabels && window.GridLabels) {
      var labels = window.GridLabels.attach(map, { url: config.labels_url, toMap: toMap, bbox: bbox });
      overlays[t("labels")] = labels;
      if (remembered(LABELS_KEY) !== "off") labels.addTo(map);
      map.on("overlayadd overlayremove", function (event) {
        if (event.layer === labels) remember(LABELS_KEY, event.type === "overlayadd" ? "on" : "off");
      });
    }
    L.control.layers(bases, overlays, { position: "topright" }).addTo(map);
    map.on("baselayerchange", function (event) {
      var next = event.layer.basemap;
      remember(BASEMAP_KEY, next.name);
      map.getContainer().setAttribute("data-basemap", next.name);
      map.attributionControl.setPrefix(next.name === "none" ? "" : false);
      if (!!next.gcj02 !== gcj) {
        // Every overlay on the page is placed for the other datum: keep the view and draw the page again.
        var c = fromMap(map.getCenter());
        try { window.sessionStorage.setItem(VIEW_KEY, JSON.stringify([c[0], c[1], map.getZoom()])); } catch (e) { /* ignore */ }
        window.location.reload();
      }
    });
    map.getContainer().setAttribute("data-basemap", chosen.name);
    map.attributionControl.setPrefix(chosen.name === "none" ? "" : false);
    return map;
  }

  function lightColour(light) {
    return { green: "#2e9e44", yellow: "#f0b400", red: "#d9342b" }[light] || "#9aa5b1";
  }

  /* Sequential colour ramp for shading (light → dark blue). */
  var RAMP = ["#eff3ff", "#c6dbef", "#9ecae1", "#6baed6", "#4292c6", "#2171b5", "#084594"];
  function rampColour(value, max) {
    if (value === null || value === undefined || !max) return "#f4f4f4";
    var index = Math.min(RAMP.length - 1, Math.floor((value / max) * (RAMP.length - 1) + 0.0001));
    return RAMP[Math.max(0, index)];
  }
  function legend(map, title, max, unit) {
    var control = L.control({ position: "bottomright" });
    var whole = max >= RAMP.length;
    function fmt(v) { return whole ? String(Math.round(v)) : String(Math.round(v * 100) / 100); }
    control.onAdd = function () {
      var div = L.DomUtil.create("div", "legend");
      var html = "<b>" + escapeHtml(title) + "</b><br>";
      for (var i = 0; i < RAMP.length; i++) {
        var lo = (max * i) / (RAMP.length - 1), hi = (max * (i + 1)) / (RAMP.length - 1);
        var text = i === RAMP.length - 1 ? "≥ " + fmt(lo) : fmt(lo) + " – " + fmt(hi);
        html += '<i data-ramp="' + i + '"></i>' + text + (unit || "") + "<br>";
      }
      div.innerHTML = html;
      // Colours set through the DOM, not style attributes: the Content-Security-Policy allows no inline styles.
      div.querySelectorAll("i[data-ramp]").forEach(function (swatch) { swatch.style.background = RAMP[+swatch.dataset.ramp]; });
      return div;
    };
    return control;
  }

  /* Panels that are drawers on small screens (app.css): a [data-drawer] button opens or closes the panel it names. */
  function setDrawer(id, open) {
    var panel = document.getElementById(id);
    if (!panel) return;
    panel.classList.toggle("open", open);
    document.querySelectorAll('.drawer-toggle[data-drawer="' + id + '"]').forEach(function (b) { b.setAttribute("aria-expanded", String(open)); });
  }
  document.querySelectorAll("[data-drawer]").forEach(function (button) {
    button.addEventListener("click", function () {
      var panel = document.getElementById(button.dataset.drawer);
      setDrawer(button.dataset.drawer, !button.classList.contains("drawer-close") && !(panel && panel.classList.contains("open")));
    });
  });

  window.Grid = {
    config: config, t: t, api: api, query: query, escapeHtml: escapeHtml, cookie: cookie,
    wgs84ToGcj02: wgs84ToGcj02, gcj02ToWgs84: gcj02ToWgs84, toMap: toMap, fromMap: fromMap,
    coordsToLatLng: coordsToLatLng, bbox: bbox, createMap: createMap, lightColour: lightColour,
    rampColour: rampColour, legend: legend, RAMP: RAMP, gcj: gcj, basemap: chosen, viewRestored: false, setDrawer: setDrawer,
    ready: function (name, startedAt) {
      var ms = Math.round(performance.now() - (startedAt || 0));
      window.__ready = window.__ready || {};
      if (window.__ready[name] === undefined) window.__ready[name] = ms;
      document.documentElement.setAttribute("data-ready-" + name, String(ms));
    },
  };
})();
