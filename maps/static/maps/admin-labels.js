/* The admin's map widgets (django-leaflet): the registry's names over whatever base map is configured, so that
   a widget is not a blank square offline. */
(function () {
  "use strict";
  window.addEventListener("map:init", function (event) {
    var map = event.detail.map;
    if (!window.GridLabels) return;
    window.GridLabels.attach(map).addTo(map);
  });
})();
