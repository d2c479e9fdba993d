// An on/off switch (role="switch") that shows what it is told, not what was clicked: `checked`
// comes from the helper (or the main process); while a change is in flight it is busy.
import { useId, type ReactNode } from 'react';
import './switch.css';

interface SwitchProps {
  label: string;
  checked: boolean;
  busy?: boolean;
  disabled?: boolean;
  description?: ReactNode;
  onChange(next: boolean): void;
}

export function Switch({ label, checked, busy = false, disabled = false, description, onChange }: SwitchProps) {
  const id = useId();
  const unavailable = busy || disabled;
  return (
    <div className={`switch-row${busy ? ' busy' : ''}`}>
      <div className="switch-text">
        <label id={`${id}-label`} htmlFor={id} className="switch-label">
          {label}
        </label>
        {description && (
          <div id={`${id}-desc`} className="switch-desc">
            {description}
          </div>
        )}
      </div>
      <button
        id={id}
        type="button"
        role="switch"
        className="switch"
        aria-checked={checked}
        aria-labelledby={`${id}-label`}
        aria-describedby={description ? `${id}-desc` : undefined}
        aria-busy={busy || undefined}
        aria-disabled={unavailable || undefined}
        onClick={() => {
          if (!unavailable) onChange(!checked);
        }}
      >
        <span className="switch-thumb" aria-hidden="true" />
      </button>
    </div>
  );
}
