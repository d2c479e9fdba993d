// A settings form's save: the helper's answer in words once it took the value, or its refusal
// (an error note the user can dismiss). Shared by the DNS forms.
import { useState, type FormEvent, type ReactNode } from 'react';
import type { UmbraError } from '../../api.js';
import { ErrorNote } from '../../ui/ErrorNote.js';

/** Values typed one after another, split on commas and spaces. */
export const listOf = (text: string): string[] => text.split(/[\s,]+/).map((w) => w.trim()).filter(Boolean);

/** `save` sends the form's value and says what it means once taken; `outcome` shows how it went. */
export function useFormSave(title: string): {
  submit: (save: () => Promise<{ refused: UmbraError | undefined; said: string }>) => (e: FormEvent) => void;
  outcome: ReactNode;
} {
  const [saved, setSaved] = useState<string | null>(null);
  const [error, setError] = useState<UmbraError | undefined>(undefined);
  const submit = (save: () => Promise<{ refused: UmbraError | undefined; said: string }>) => (e: FormEvent) => {
    e.preventDefault();
    setSaved(null);
    void save().then(({ refused, said }) => {
      setError(refused);
      if (!refused) setSaved(said);
    });
  };
  const outcome = (
    <>
      {saved && (
        <p className="ok-note" role="status">
          {saved}
        </p>
      )}
      <ErrorNote error={error} title={title} onDismiss={() => setError(undefined)} />
    </>
  );
  return { submit, outcome };
}
