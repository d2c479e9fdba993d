// The world, drawn once: Natural Earth 1:110m countries from the world-atlas package (bundled, no
// network), projected with Equal Earth into a fixed SVG coordinate space. Pan and zoom transform
// a group around these paths; nothing is re-projected.
import { geoEqualEarth, geoGraticule10, geoPath, type GeoProjection } from 'd3-geo';
import { feature, mesh } from 'topojson-client';
import type { Feature, FeatureCollection, Geometry, MultiLineString } from 'geojson';
import type { GeometryCollection, Topology } from 'topojson-specification';
import atlas from 'world-atlas/countries-110m.json' with { type: 'json' };

/** The SVG's width in user units; the height follows from the projection. */
const MAP_WIDTH = 960;
const MARGIN = 8;
const ANTARCTICA = '010';

type Countries = Topology<{ countries: GeometryCollection<{ name: string }>; land: GeometryCollection }>;

export interface WorldMap {
  width: number;
  height: number;
  projection: GeoProjection;
  /** All countries as one path (filled; strokes draw the borders). */
  countries: string;
  /** Borders between countries only, as one path. */
  borders: string;
  graticule: string;
  /** [x, y] in the SVG's user units, or null when off the map. */
  project(longitude: number, latitude: number): [number, number] | null;
}

let world: WorldMap | undefined;

/** Built on first use, then the same object (paths are long strings: compute them once). */
export function getWorld(): WorldMap {
  return (world ??= buildWorld());
}

function buildWorld(): WorldMap {
  const topo = atlas as unknown as Countries;
  const all = feature(topo, topo.objects.countries) as FeatureCollection<Geometry, { name: string }>;
  // Antarctica has no servers and would take a fifth of the height.
  const shown: FeatureCollection<Geometry, { name: string }> = { type: 'FeatureCollection', features: all.features.filter((f: Feature) => f.id !== ANTARCTICA) };

  const projection = geoEqualEarth().fitWidth(MAP_WIDTH - 2 * MARGIN, shown);
  const [[x0, y0], [x1, y1]] = geoPath(projection).bounds(shown);
  const height = Math.ceil(y1 - y0 + 2 * MARGIN);
  const [tx, ty] = projection.translate();
  projection.translate([tx + MARGIN - x0 + (MAP_WIDTH - 2 * MARGIN - (x1 - x0)) / 2, ty + MARGIN - y0]);

  const path = geoPath(projection);
  const borderMesh = mesh(topo, topo.objects.countries, (a, b) => a !== b) as MultiLineString;
  return {
    width: MAP_WIDTH,
    height,
    projection,
    countries: path(shown) ?? '',
    borders: path(borderMesh) ?? '',
    graticule: path(geoGraticule10()) ?? '',
    project(longitude, latitude) {
      const p = projection([longitude, latitude]);
      return p && Number.isFinite(p[0]) && Number.isFinite(p[1]) ? [p[0], p[1]] : null;
    },
  };
}
