// A small map of one grid drawn from its offline package: boundary, buildings, open cases, a position and a
// track. No base map tiles, so it works with no network at all.
/* global L */

const STYLE = {
  boundary: { color: "#166534", weight: 3, fill: true, fillOpacity: 0.04 },
  building: { color: "#475569", weight: 1, fillColor: "#cbd5e1", fillOpacity: 0.7 },
  chosen: { color: "#b45309", weight: 2, fillColor: "#fbbf24", fillOpacity: 0.9 },
  track: { color: "#2563eb", weight: 4 },
};

export class GridMap {
  constructor(element, pkg, { onTap, onBuilding } = {}) {
    this.map = L.map(element, { attributionControl: false, zoomSnap: 0.5, tap: true });
    this.boundary = L.geoJSON(pkg.grid.boundary, { style: STYLE.boundary, interactive: false }).addTo(this.map);
    this.buildings = new Map();
    for (const building of pkg.buildings || []) {
      const layer = L.geoJSON(building.footprint, { style: STYLE.building }).addTo(this.map);
      layer.on("click", (event) => {
        L.DomEvent.stopPropagation(event);
        onBuilding?.(building);
        onTap?.([event.latlng.lng, event.latlng.lat]);
      });
      this.buildings.set(building.id, layer);
    }
    this.map.fitBounds(this.boundary.getBounds(), { padding: [8, 8] });
    if (onTap) this.map.on("click", (event) => onTap([event.latlng.lng, event.latlng.lat]));
    this.marker = null;
    this.circle = null;
    this.line = null;
  }

  showPosition([lon, lat], accuracy) {
    const at = [lat, lon];
    if (!this.marker) {
      this.marker = L.circleMarker(at, { radius: 9, color: "#fff", weight: 3, fillColor: "#dc2626", fillOpacity: 1 })
        .addTo(this.map);
    } else {
      this.marker.setLatLng(at);
    }
    if (this.circle) this.circle.remove();
    this.circle = accuracy ? L.circle(at, { radius: accuracy, color: "#dc2626", weight: 1, fillOpacity: 0.08, interactive: false }).addTo(this.map) : null;
  }

  chooseBuilding(id) {
    for (const [key, layer] of this.buildings) layer.setStyle(key === id ? STYLE.chosen : STYLE.building);
  }

  showTrack(track) {
    if (this.line) this.line.remove();
    this.line = track.length ? L.polyline(track.map(([lon, lat]) => [lat, lon]), STYLE.track).addTo(this.map) : null;
  }

  showCases(cases) {
    for (const item of cases || []) {
      const [lon, lat] = item.location.coordinates;
      L.circleMarker([lat, lon], { radius: 5, color: "#7c2d12", weight: 1, fillColor: "#f97316", fillOpacity: 0.9 })
        .bindTooltip(`${item.case_no}`)
        .addTo(this.map);
    }
  }

  remove() {
    this.map.remove();
  }
}
