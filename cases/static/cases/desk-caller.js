/* The caller's full phone on a case page: asked for with a reason, answered by the reveal API (logged in the audit
   log) and shown in place of the mask; nothing is kept after the page is left. */
(function () {
  "use strict";
  var G = window.Grid;
  function $(id) { return document.getElementById(id); }
  var button = $("caller-reveal");
  if (!button) return;
  button.addEventListener("click", function () {
    button.hidden = true;
    $("caller-reveal-form").hidden = false;
    $("caller-reveal-reason").focus();
  });
  $("caller-reveal-go").addEventListener("click", function () {
    var id = document.getElementById("case-title").dataset.caseId;
    $("caller-reveal-error").hidden = true;
    G.api("/api/v1/cases/" + id + "/caller/reveal", { method: "POST", body: { reason: $("caller-reveal-reason").value } })
      .then(function (revealed) {
        $("caller-phone").textContent = revealed.phone || "";
        $("caller-reveal-form").hidden = true;
      })
      .catch(function (error) {
        var errors = (error.data && (error.data.errors || error.data)) || {};
        $("caller-reveal-error").textContent = [].concat(errors.reason || error.message).join(" ");
        $("caller-reveal-error").hidden = false;
      });
  });
})();
