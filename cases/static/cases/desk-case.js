/* A case at the desk: its point on a small map, the timeline chart of its steps, and the actions this user may
   take now, posted to the transitions API with the version shown. A refusal (409) is shown and the page reloads. */
(function () {
  "use strict";
  var G = window.Grid, config = G.config, t = G.t;
  var FLASH = "desk-flash";

  function $(id) { return document.getElementById(id); }
  function flash(text, kind) {
    var node = $("flash");
    node.textContent = text;
    node.className = "flash " + (kind || "ok");
    node.hidden = false;
  }
  var stored = sessionStorage.getItem(FLASH);
  if (stored) {
    sessionStorage.removeItem(FLASH);
    try { var f = JSON.parse(stored); flash(f.text, f.kind); } catch (e) { /* ignore */ }
  }

  // The point on a small map (base map as configured; without one the point is still drawn).
  var point = config.point;
  if (window.L && $("case-map")) {
    var map = G.createMap("case-map", { minZoom: 10, preferCanvas: false });
    var light = (config.case && config.case.light) || "none";
    L.circleMarker(G.toMap(point[0], point[1]), {
      radius: 9, color: "#fff", weight: 2, fillColor: G.lightColour(light), fillOpacity: 1,
    }).addTo(map).bindTooltip(config.case.number);
    map.setView(G.toMap(point[0], point[1]), config.zoom || 17);
  }

  // The timeline: one floating bar per step, hours since the report, coloured by on time / late / running.
  var chartData = config.chart || { segments: [] };
  var canvas = $("timeline-chart");
  var wrap = $("timeline-wrap");
  if (wrap) wrap.style.height = (+wrap.dataset.height || 0) + "px";  // not a style attribute: the CSP forbids those
  if (window.Chart && canvas && chartData.segments.length) {
    var origin = new Date(chartData.start).getTime();
    var hours = function (iso) { return Math.round(((new Date(iso).getTime() - origin) / 36e5) * 100) / 100; };
    var segments = chartData.segments;
    var span = Math.max.apply(null, segments.map(function (s) { return hours(s.end); })) || 0;
    var minWidth = Math.max(span * 0.006, 0.001);
    var colour = function (s) {
      if (s.key === "suspended") return "#9aa5b1";
      if (s.running) return s.on_time === false ? "#d9342b" : "#f0b400";
      return s.on_time === false ? "#d9342b" : "#2e9e44";
    };
    new Chart(canvas, {
      type: "bar",
      data: {
        labels: segments.map(function (s, i) { return (i + 1) + ". " + s.label + (s.unit ? " · " + s.unit : ""); }),
        datasets: [{
          data: segments.map(function (s) {
            var a = hours(s.start), b = hours(s.end);
            return [a, Math.max(b, a + minWidth)];  // a step done at once still shows
          }),
          backgroundColor: segments.map(colour),
          borderSkipped: false,
          borderRadius: 3,
          barPercentage: 0.7,
        }],
      },
      options: {
        indexAxis: "y",
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        plugins: {
          legend: { display: false },
          tooltip: {
            callbacks: {
              label: function (item) {
                var s = segments[item.dataIndex];
                var text = [t("unit") + ": " + (s.unit || "—"), t("working_hours") + ": " + (s.hours === null ? "—" : s.hours)];
                if (s.limit_hours !== null && s.limit_hours !== undefined) text.push(t("limit") + ": " + s.limit_hours);
                text.push(s.running ? t("running") : (s.on_time === false ? t("late") : t("on_time")));
                return text;
              },
            },
          },
        },
        scales: {
          x: { beginAtZero: true, title: { display: true, text: t("hours_since_report") } },
          y: { ticks: { autoSkip: false } },
        },
      },
    });
  }

  // Actions.
  var title = $("case-title");
  var caseId = Number(title.dataset.caseId);
  var version = Number(title.dataset.version);
  var busy = false;

  function after(text, kind) {
    sessionStorage.setItem(FLASH, JSON.stringify({ text: text, kind: kind }));
    window.location.reload();
  }
  function fieldErrors(data) {
    if (!data || typeof data !== "object") return "";
    if (data.errors && typeof data.errors === "object") return fieldErrors(data.errors);
    return Object.keys(data).map(function (key) {
      var value = data[key];
      return (key === "detail" ? "" : key + ": ") + (Array.isArray(value) ? value.join(" ") : value);
    }).join("; ");
  }
  // Photos chosen in a file input, uploaded one by one to the case (kind after); resolves to their content hashes.
  function upload(input) {
    var files = input && input.files ? Array.prototype.slice.call(input.files) : [];
    var hashes = [];
    return files.reduce(function (chain, file) {
      return chain.then(function () {
        var body = new FormData();
        body.append("kind", "after");
        body.append("photo", file);
        return G.api("/api/v1/cases/" + caseId + "/photos", { method: "POST", body: body }).then(function (data) {
          hashes.push(data.sha256);
        });
      });
    }, Promise.resolve()).then(function () { return hashes; });
  }
  function send(body, label, fail, done) {
    G.api("/api/v1/cases/" + caseId + "/transitions", { method: "POST", body: body }).then(function () {
      after(t("done") + ": " + label, "ok");
    }).catch(function (error) {
      busy = false;
      done();
      if (error.status === 409) {
        after(t("refused") + ": " + error.message, "warn");
        return;
      }
      fail(t("failed") + ": " + (error.status === 400 ? fieldErrors(error.data) : error.message));
    });
  }

  // Co-handling tasks: feedback (note and photos) by the co-handling unit; accept, send back or release by the lead.
  document.querySelectorAll("button[data-task-action]").forEach(function (button) {
    button.addEventListener("click", function () {
      if (busy) return;
      var row = button.closest("tr");
      var action = button.dataset.taskAction;
      var errorNode = row.querySelector(".task-error");
      var fail = function (text) { errorNode.textContent = text; errorNode.hidden = false; };
      busy = true;
      errorNode.hidden = true;
      var photos = action === "cohandle_feedback" ? upload(row.querySelector(".task-photos")) : Promise.resolve([]);
      photos.then(function (hashes) {
        send({
          action: action, task: Number(button.dataset.task), version: version,
          note: row.querySelector(".task-note").value || "", attachments: hashes,
        }, (config.actions || {})[action] || action, fail, function () {});
      }).catch(function (error) {
        busy = false;
        fail(t("failed") + ": " + (error.status === 400 ? fieldErrors(error.data) : error.message));
      });
    });
  });

  var form = $("action-form");
  if (!form) { G.ready("desk", 0); return; }
  form.querySelectorAll("button[data-action]").forEach(function (button) {
    button.addEventListener("click", function () {
      if (busy) return;
      var action = button.dataset.action;
      var body = { action: action, version: version, note: ($("action-note") || {}).value || "" };
      if (action === "dispatch" && $("action-unit") && $("action-unit").value) body.unit = Number($("action-unit").value);
      if (action === "extend") body.hours = Number(($("action-hours") || {}).value || 8);
      if (action === "approve_extension") body.approved = button.dataset.approved === "true";
      if (action === "supervise" && $("action-due") && $("action-due").value) body.due_at = new Date($("action-due").value).toISOString();
      if (action === "evaluate") body.score = Number(($("action-score") || {}).value || 5);
      busy = true;
      form.classList.add("busy");
      $("action-error").hidden = true;
      var fail = function (text) {
        var node = $("action-error");
        node.textContent = text;
        node.hidden = false;
      };
      var done = function () { form.classList.remove("busy"); };
      var photos = action === "resolve" ? upload($("action-photos")) : Promise.resolve([]);
      photos.then(function (hashes) {
        if (hashes.length) body.attachments = hashes;
        send(body, (config.actions || {})[action] || action, fail, done);
      }).catch(function (error) {
        busy = false;
        done();
        fail(t("failed") + ": " + (error.status === 400 ? fieldErrors(error.data) : error.message));
      });
    });
  });
  G.ready("desk", 0);
})();
