import { useState } from "preact/hooks";
import { ApiError, api, errorDetail } from "../api";
import type { Agent } from "../types";

interface Props {
  notice?: string;
  onSignedIn: (agent: Agent) => void;
}

export function SignIn({ notice, onSignedIn }: Props) {
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (event: Event) => {
    event.preventDefault();
    if (busy) return;
    if (!email.trim() || !password) {
      setError("Enter your email and password.");
      return;
    }
    setBusy(true);
    setError(null);
    try {
      const result = await api.login(email.trim(), password);
      onSignedIn(result.agent);
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) setError("Invalid email or password.");
      else if (err instanceof ApiError && err.status === 429)
        setError("Too many failed sign-ins. Please wait a minute and try again.");
      else setError(errorDetail(err));
      setBusy(false);
    }
  };

  return (
    <main class="center-page">
      <form class="card signin" onSubmit={submit} noValidate aria-labelledby="signin-title">
        <h1 id="signin-title" class="brand-title">
          Switchboard
        </h1>
        <p class="muted">Sign in to the support inbox</p>
        {notice && !error && <p class="notice">{notice}</p>}
        <div class="field">
          <label for="signin-email">Email</label>
          <input
            id="signin-email"
            name="email"
            type="text"
            inputMode="email"
            autoComplete="username"
            autoFocus
            value={email}
            onInput={(e) => setEmail(e.currentTarget.value)}
          />
        </div>
        <div class="field">
          <label for="signin-password">Password</label>
          <input
            id="signin-password"
            name="password"
            type="password"
            autoComplete="current-password"
            value={password}
            onInput={(e) => setPassword(e.currentTarget.value)}
          />
        </div>
        {error && (
          <p role="alert" class="error">
            {error}
          </p>
        )}
        <button type="submit" class="btn primary wide" disabled={busy} aria-busy={busy}>
          Sign in
        </button>
      </form>
    </main>
  );
}
