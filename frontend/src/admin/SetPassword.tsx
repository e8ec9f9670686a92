// The page of a one-time set-password link (`/#set-password=<token>`): the agent chooses a
// password, then signs in as usual. The link works once.
import { useState } from "preact/hooks";
import { request } from "../api";
import { Field, FormAlert, type FormErrors, NO_ERRORS, formErrors } from "./ui";

export function linkToken(hash: string = location.hash): string | null {
  return hash.startsWith("#set-password=") ? decodeURIComponent(hash.slice("#set-password=".length)) : null;
}

export function SetPassword({ token, onDone }: { token: string; onDone: (notice: string) => void }) {
  const [password, setPassword] = useState("");
  const [errors, setErrors] = useState<FormErrors>(NO_ERRORS);
  const submit = async (event: Event) => {
    event.preventDefault();
    setErrors(NO_ERRORS);
    try {
      const result = await request<{ email: string }>("POST", "/api/v1/auth/set-password", { body: { token, password }, quiet401: true, noCsrf: true });
      history.replaceState(null, "", location.pathname + location.search);
      onDone(`Your password is set. Sign in as ${result.email}.`);
    } catch (err) {
      setErrors(formErrors(err, ["password"])); // a used or expired link is the form's alert
    }
  };
  return (
    <main class="center-page">
      <form class="card" aria-label="Choose your password" onSubmit={(e) => void submit(e)}>
        <h1 class="brand-title">Switchboard</h1>
        <p class="muted">Choose the password you will sign in with.</p>
        <Field id="link-password" label="New password" error={errors.fields.password}>
          {(d) => <input id="link-password" type="password" autocomplete="new-password" value={password} aria-describedby={d} onInput={(e) => setPassword(e.currentTarget.value)} />}
        </Field>
        <FormAlert error={errors.general} />
        <button type="submit" class="btn primary wide">
          Set password
        </button>
      </form>
    </main>
  );
}
