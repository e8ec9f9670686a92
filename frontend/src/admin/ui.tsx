// Small building blocks of the admin forms: a labelled field that shows the API's reason for
// it inline (linked with aria-describedby), and a form-level alert.
import type { ComponentChildren } from "preact";
import { ApiError, errorDetail } from "../api";

let counter = 0;
export function uid(prefix: string): string {
  counter += 1;
  return `${prefix}-${counter}`;
}

interface FieldProps {
  id: string;
  label: string;
  error?: string;
  hint?: string;
  children: (described: string | undefined) => ComponentChildren;
}

export function Field({ id, label, error, hint, children }: FieldProps) {
  const errorId = `${id}-error`;
  const hintId = `${id}-hint`;
  const described = [hint ? hintId : "", error ? errorId : ""].filter(Boolean).join(" ") || undefined;
  return (
    <div class={`field${error ? " invalid" : ""}`}>
      <label for={id}>{label}</label>
      {children(described)}
      {hint && (
        <p id={hintId} class="muted small">
          {hint}
        </p>
      )}
      {error && (
        <p id={errorId} class="error small field-error">
          {error}
        </p>
      )}
    </div>
  );
}

export interface FormErrors {
  fields: Record<string, string>;
  general: string | null;
}

export const NO_ERRORS: FormErrors = { fields: {}, general: null };

/** The API's refusal as form errors: named fields inline, the rest as one alert. */
export function formErrors(err: unknown, known: string[]): FormErrors {
  if (err instanceof ApiError) {
    const fields: Record<string, string> = {};
    const other: string[] = [];
    for (const [key, message] of Object.entries(err.fields)) {
      if (known.includes(key)) fields[key] = message;
      else other.push(`${key}: ${message}`);
    }
    const general = Object.keys(fields).length && !other.length ? null : other.join("; ") || err.detail;
    return { fields, general };
  }
  return { fields: {}, general: errorDetail(err) };
}

export function FormAlert({ error }: { error: string | null }) {
  return error ? (
    <p role="alert" class="error">
      {error}
    </p>
  ) : null;
}
