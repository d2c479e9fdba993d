// The city labels drawn over the markers (placed by placeLabels). They are text for the eye only:
// the markers carry the same names for assistive technology, and a click goes through to them.
import { labelAnchor, type PlacedLabel } from './labels.js';

interface LabelsProps {
  labels: readonly PlacedLabel[];
  /** Where each marker is, in map units. */
  positions: ReadonlyMap<string, { x: number; y: number }>;
  selectedKey: string | null;
  connectedKey: string | null;
}

export function Labels({ labels, positions, selectedKey, connectedKey }: LabelsProps) {
  return (
    <g className="labels" aria-hidden="true">
      {labels.map((l) => {
        const p = positions.get(l.key);
        if (!p) return null;
        const cls = l.key === connectedKey ? ' connected' : l.key === selectedKey ? ' selected' : '';
        const a = labelAnchor(l.side, l.gap);
        return (
          <g key={l.key} className={`map-label${cls}`} data-key={l.key} transform={`translate(${p.x.toFixed(2)} ${p.y.toFixed(2)})`}>
            <text className="map-label-text" x={a.x} y={a.y} dy="0.35em" textAnchor={a.anchor}>
              {l.label}
            </text>
          </g>
        );
      })}
    </g>
  );
}
