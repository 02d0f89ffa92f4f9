/* 一窗受理 (/desk/new): category search over the active leaves, the place picked on the map or found by address or
   building (/api/v1/search), the routing preview (/api/v1/route) and saving through the intake API with one client
   UUID per form, so that a second click or a retry returns the same case. Saving opens the case's page. */
(function () {
  "use strict";
  var G = window.Grid, config = G.config, t = G.t, esc = G.escapeHtml;
  var english = config.language === "en";
  function $(id) { return document.getElementById(id); }

  function newUuid() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    var b = new Uint8Array(16);
    crypto.getRandomValues(b);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    var h = Array.prototype.map.call(b, function (x) { return (x + 256).toString(16).slice(1); }).join("");
    return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" + h.slice(16, 20) + "-" + h.slice(20);
  }
  var clientUuid = newUuid();
  var state = { category: null, point: null, saving: false };

  // --- Category search -------------------------------------------------------------------------------------
  var categories = config.categories || [];
  function nameOf(c) { return english && c.name_en ? c.name_en : c.name; }
  function groupOf(c) { return english && c.group_en ? c.group_en : c.group; }
  var search = $("in-category-search"), options = $("category-options"), active = -1, shown = [];
  function showOptions() {
    var q = search.value.trim().toLowerCase();
    shown = categories.filter(function (c) {
      if (!q) return true;
      return [c.code, c.name, c.name_en, c.group, c.group_en].some(function (v) { return v && v.toLowerCase().indexOf(q) >= 0; });
    }).slice(0, 12);
    active = shown.length ? 0 : -1;
    options.innerHTML = shown.length ? shown.map(function (c, i) {
      return '<li role="option" data-code="' + esc(c.code) + '"' + (i === active ? ' class="active"' : "") + "><b>" + esc(c.code) + "</b> " +
        esc(nameOf(c)) + " <small>" + esc(groupOf(c)) + "</small></li>";
    }).join("") : "<li class=\"none\">" + esc(t("no_match")) + "</li>";
    options.hidden = false;
    search.setAttribute("aria-expanded", "true");
  }
  function hideOptions() { options.hidden = true; search.setAttribute("aria-expanded", "false"); }
  function choose(code) {
    var c = categories.filter(function (x) { return x.code === code; })[0];
    if (!c) return;
    state.category = c;
    $("in-category").value = c.code;
    search.value = c.code + " " + nameOf(c);
    $("category-picked").textContent = groupOf(c) + " › " + nameOf(c) + " · " + t("level") + " " + c.level;
    hideOptions();
    clearError("category");
    preview();
  }
  search.addEventListener("input", function () {
    state.category = null;
    $("in-category").value = "";
    $("category-picked").textContent = "";
    showOptions();
    preview();
  });
  search.addEventListener("focus", showOptions);
  search.addEventListener("keydown", function (event) {
    if (options.hidden) return;
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      active = Math.max(0, Math.min(shown.length - 1, active + (event.key === "ArrowDown" ? 1 : -1)));
      options.querySelectorAll("li[data-code]").forEach(function (li, i) { li.classList.toggle("active", i === active); });
    } else if (event.key === "Enter") {
      event.preventDefault();
      if (active >= 0 && shown[active]) choose(shown[active].code);
    } else if (event.key === "Escape") {
      hideOptions();
    }
  });
  options.addEventListener("mousedown", function (event) {
    var li = event.target.closest("li[data-code]");
    if (li) { event.preventDefault(); choose(li.dataset.code); }
  });
  search.addEventListener("blur", function () { setTimeout(hideOptions, 150); });

  // --- Place: map pick, address or building search --------------------------------------------------------
  var map = G.createMap("intake-map", { minZoom: 10 });
  var frame = config.frame;
  if (frame) map.fitBounds([G.toMap(frame[0], frame[1]), G.toMap(frame[2], frame[3])], { animate: false });
  else map.setView([26.58, 101.72], 13);
  // Street and community outlines, so that a pick is made knowing where it falls (the base map may be off).
  ["streets", "communities"].forEach(function (key) {
    G.api("/api/v1/" + key + G.query({ page_size: 5000 })).then(function (data) {
      L.geoJSON(data.features || [], {
        coordsToLatLng: G.coordsToLatLng, interactive: false,
        style: key === "streets" ? { color: "#123d6a", weight: 2, fill: false } : { color: "#5b7fa6", weight: 1, dashArray: "4 4", fill: false },
      }).addTo(map);
    }).catch(function () { /* outlines are a help, not a need */ });
  });
  var marker = null, autoAddress = "";
  function describePlace(lon, lat) {
    // Fill the address from the building picked, else the street and community, unless the dispatcher typed one.
    G.api("/api/v1/locate" + G.query({ lon: lon.toFixed(7), lat: lat.toFixed(7) })).then(function (where) {
      var field = $("in-address");
      if (field.value && field.value !== autoAddress) return;
      var text = where.building ? (where.building.address || where.building.name) :
        [where.street, where.community, where.grid].filter(Boolean).map(function (r) { return r.name; }).join(" ");
      field.value = autoAddress = text || "";
    }).catch(function () { /* the address stays as typed */ });
  }
  function setPoint(lon, lat, address) {
    state.point = [lon, lat];
    var at = G.toMap(lon, lat);
    if (!marker) marker = L.circleMarker(at, { radius: 9, color: "#fff", weight: 2, fillColor: "#d9342b", fillOpacity: 1 }).addTo(map);
    else marker.setLatLng(at);
    $("place-picked").textContent = t("picked") + ": " + lon.toFixed(6) + ", " + lat.toFixed(6);
    $("place-picked").dataset.lon = lon.toFixed(7);
    $("place-picked").dataset.lat = lat.toFixed(7);
    if (address !== undefined && address !== null) $("in-address").value = autoAddress = address;
    else describePlace(lon, lat);
    clearError("location");
    preview();
  }
  map.on("click", function (event) {
    var ll = G.fromMap(event.latlng);
    setPoint(ll[0], ll[1]);
  });
  function findPlace() {
    var q = $("in-place-search").value.trim(), list = $("place-results");
    if (!q) return;
    list.innerHTML = "<li>" + esc(t("searching")) + "</li>";
    G.api("/api/v1/search" + G.query({ q: q })).then(function (data) {
      var places = (data.results || []).filter(function (r) { return r.kind === "building"; });
      if (!places.length) { list.innerHTML = "<li>" + esc(t("no_results")) + "</li>"; return; }
      list.innerHTML = places.map(function (r, i) {
        return '<li data-index="' + i + '"><b>' + esc(r.label) + "</b><small>" + esc(r.detail || "") + "</small></li>";
      }).join("");
      list.querySelectorAll("li[data-index]").forEach(function (item) {
        item.addEventListener("click", function () {
          var r = places[Number(item.dataset.index)];
          setPoint(r.lon, r.lat, r.detail || r.label);
          map.setView(G.toMap(r.lon, r.lat), Math.max(map.getZoom(), 17));
          list.innerHTML = "";
        });
      });
    }).catch(function (error) { list.innerHTML = "<li>" + esc(error.message) + "</li>"; });
  }
  $("in-place-find").addEventListener("click", findPlace);
  $("in-place-search").addEventListener("keydown", function (event) {
    if (event.key === "Enter") { event.preventDefault(); findPlace(); }
  });

  // --- Routing preview ------------------------------------------------------------------------------------
  var previewSeq = 0;
  function unitName(u) { return u ? u.name : ""; }
  function preview() {
    var box = $("route-preview");
    var seq = ++previewSeq;
    if (!state.category || !state.point) {
      box.innerHTML = '<p class="empty">' + esc(t("route_needs")) + "</p>";
      box.removeAttribute("data-unit");
      return;
    }
    box.innerHTML = '<p class="empty">' + esc(t("routing")) + "</p>";
    G.api("/api/v1/route" + G.query({ lon: state.point[0].toFixed(7), lat: state.point[1].toFixed(7), category: state.category.code }))
      .then(function (route) {
        if (seq !== previewSeq) return;
        var reason = route.routing_reason || {};
        box.dataset.unit = route.responsible_unit.id;
        box.innerHTML = "<table><tr><th>" + esc(t("responsible")) + '</th><td id="route-unit">' + esc(unitName(route.responsible_unit)) + "</td></tr>" +
          "<tr><th>" + esc(t("co_units")) + '</th><td id="route-co-units">' + esc((route.co_units || []).map(unitName).join("、") || t("none")) + "</td></tr>" +
          "<tr><th>" + esc(t("reason")) + '</th><td id="route-reason">' + esc(reason.text || "") + "</td></tr></table>";
      })
      .catch(function (error) {
        if (seq !== previewSeq) return;
        box.removeAttribute("data-unit");
        box.innerHTML = '<p class="error" id="route-error">' + esc(fieldText(error.data) || error.message) + "</p>";
      });
  }

  // --- Errors in place ------------------------------------------------------------------------------------
  function fieldErrors(data) {
    if (!data || typeof data !== "object") return {};
    if (data.errors && typeof data.errors === "object") return data.errors;
    var out = {};
    Object.keys(data).forEach(function (k) { if (Array.isArray(data[k])) out[k] = data[k]; });
    return out;
  }
  function fieldText(data) {
    var errors = fieldErrors(data);
    return Object.keys(errors).map(function (k) { return [].concat(errors[k]).join(" "); }).join(" ");
  }
  function clearError(name) {
    document.querySelectorAll('[data-error="' + name + '"]').forEach(function (p) { p.hidden = true; p.textContent = ""; });
  }
  function clearErrors() {
    document.querySelectorAll("[data-error]").forEach(function (p) { p.hidden = true; p.textContent = ""; });
    $("intake-error").hidden = true;
  }
  function showErrors(data, fallback) {
    var errors = fieldErrors(data), unplaced = [];
    Object.keys(errors).forEach(function (name) {
      var key = name === "lon" || name === "lat" ? "location" : name;
      var text = [].concat(errors[name]).map(function (m) { return typeof m === "string" ? m : JSON.stringify(m); }).join(" ");
      var slot = document.querySelector('[data-error="' + key + '"]');
      if (slot) { slot.textContent = text; slot.hidden = false; } else unplaced.push(name + ": " + text);
    });
    $("intake-error").textContent = t("failed") + (unplaced.length ? " — " + unplaced.join("; ") : "") +
      (!Object.keys(errors).length && fallback ? " — " + fallback : "");
    $("intake-error").hidden = false;
  }

  // --- Save -----------------------------------------------------------------------------------------------
  $("intake-form").addEventListener("submit", function (event) {
    event.preventDefault();
    if (state.saving) return;  // a second click while the first is on its way
    clearErrors();
    var body = {
      client_uuid: clientUuid,
      source: $("in-source").value,
      external_ref: $("in-external-ref").value.trim(),
      category: $("in-category").value,
      description: $("in-description").value,
      address: $("in-address").value.trim(),
      caller_name: $("in-caller-name").value.trim(),
      caller_phone: $("in-caller-phone").value.trim(),
    };
    if ($("in-level").value) body.level = Number($("in-level").value);
    if (state.point) { body.lon = Number(state.point[0].toFixed(7)); body.lat = Number(state.point[1].toFixed(7)); }
    state.saving = true;
    var button = $("intake-save");
    button.disabled = true;
    button.textContent = t("saving");
    G.api("/api/v1/cases", { method: "POST", body: body }).then(function (result) {
      window.location.assign("/desk/cases/" + result.id + "/");
    }).catch(function (error) {
      state.saving = false;
      button.disabled = false;
      button.textContent = button.dataset.label;
      if (error.status === 409 && error.data && error.data.case) {
        $("intake-error").innerHTML = esc(t("conflict")) + ' <a href="/desk/cases/' + Number(error.data.case.id) + '/">' + esc(error.data.case.number) + "</a>";
        $("intake-error").hidden = false;
        return;
      }
      showErrors(error.data, error.message);
    });
  });
  $("intake-save").dataset.label = $("intake-save").textContent;
  window.__intakeMap = map;
  G.ready("intake", 0);
})();
