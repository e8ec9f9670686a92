// Every agent's own account: their name, and their password (the current one required). After
// a password change this session goes on (the answer carries a new cookie); others end.
import { useState } from "preact/hooks";
import { request } from "../api";
import type { Agent } from "../types";
import { AccountSecurity } from "./AccountSecurity";
import { Field, FormAlert, type FormErrors, NO_ERRORS, formErrors } from "./ui";

export function AccountDialog({ agent, onClose }: { agent: Agent; onClose: () => void }) {
  const [name, setName] = useState(agent.name);
  const [nameErrors, setNameErrors] = useState<FormErrors>(NO_ERRORS);
  const [current, setCurrent] = useState("");
  const [fresh, setFresh] = useState("");
  const [errors, setErrors] = useState<FormErrors>(NO_ERRORS);
  const [notice, setNotice] = useState<string | null>(null);

  const rename = async (event: Event) => {
    event.preventDefault();
    setNameErrors(NO_ERRORS);
    setNotice(null);
    try {
      await request("PATCH", "/api/v1/me", { body: { name } });
      setNotice("Your name is saved.");
    } catch (err) {
      setNameErrors(formErrors(err, ["name"]));
    }
  };
  const change = async (event: Event) => {
    event.preventDefault();
    setErrors(NO_ERRORS);
    setNotice(null);
    try {
      await request("POST", "/api/v1/me/password", { body: { current, new: fresh } });
      setCurrent("");
      setFresh("");
      setNotice("Password changed. Your other sessions were signed out.");
    } catch (err) {
      setErrors(formErrors(err, ["current", "new"]));
    }
  };
  return (
    <div class="account-dialog" role="dialog" aria-label="Your account">
      <h2>Your account</h2>
      <form class="admin-form" aria-label="Name" onSubmit={(e) => void rename(e)}>
        <Field id="me-name" label="Your name" error={nameErrors.fields.name}>
          {(d) => <input id="me-name" type="text" value={name} aria-describedby={d} onInput={(e) => setName(e.currentTarget.value)} />}
        </Field>
        <FormAlert error={nameErrors.general} />
        <button type="submit" class="btn">
          Save name
        </button>
      </form>
      <form class="admin-form" aria-label="Password" onSubmit={(e) => void change(e)}>
        <Field id="me-current" label="Current password" error={errors.fields.current}>
          {(d) => <input id="me-current" type="password" autocomplete="current-password" value={current} aria-describedby={d} onInput={(e) => setCurrent(e.currentTarget.value)} />}
        </Field>
        <Field id="me-new" label="New password" error={errors.fields.new}>
          {(d) => <input id="me-new" type="password" autocomplete="new-password" value={fresh} aria-describedby={d} onInput={(e) => setFresh(e.currentTarget.value)} />}
        </Field>
        <FormAlert error={errors.general} />
        <button type="submit" class="btn primary">
          Change password
        </button>
      </form>
      <AccountSecurity />
      {notice && (
        <p role="status" class="notice">
          {notice}
        </p>
      )}
      <button type="button" class="btn" onClick={onClose}>
        Close
      </button>
    </div>
  );
}
