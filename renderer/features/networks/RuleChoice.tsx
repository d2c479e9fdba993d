// The three rules as radio buttons in a named group; `onPick` gets the one chosen.
import { useId } from 'react';
import type { NetworkRule } from '../../api.js';
import { RULES } from './network-words.js';

interface RuleChoiceProps {
  legend: string;
  rule: NetworkRule;
  busy: boolean;
  onPick(rule: NetworkRule): void;
}

export function RuleChoice({ legend, rule, busy, onPick }: RuleChoiceProps) {
  const name = useId();
  return (
    <fieldset className="rule-choice" aria-busy={busy || undefined}>
      <legend>{legend}</legend>
      {RULES.map((r) => (
        <label key={r.rule} className="rule-option">
          <input type="radio" name={name} value={r.rule} checked={rule === r.rule} disabled={busy} onChange={() => onPick(r.rule)} />
          <span>
            <strong>{r.label}</strong> — {r.what}
          </span>
        </label>
      ))}
    </fieldset>
  );
}
