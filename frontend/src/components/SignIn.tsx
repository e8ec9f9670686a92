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
  // Shown once the server says this account has two-factor sign-in on.
  const [needsCode, setNeedsCode] = useState(false);
  const [code, setCode] = useState("");
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
      const result = await api.login(email.trim(), password, needsCode ? code.trim() : undefined);
      onSignedIn(result.agent);
    } catch (err) {
      const twoFactor =
        err instanceof ApiError &&
        typeof err.body === "object" &&
        err.body !== null &&
        (err.body as { two_factor_required?: boolean }).two_factor_required === true;
      if (twoFactor) {
        setError(needsCode && code ? "That code is not right." : null);
        setNeedsCode(true);
      } else if (err instanceof ApiError && err.status === 401) setError("Invalid email or password.");
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
        {needsCode && (
          <div class="field">
            <label for="signin-code">Authentication code</label>
            <input
              id="signin-code"
              name="code"
              type="text"
              inputMode="numeric"
              autoComplete="one-time-code"
              autoFocus
              aria-describedby="signin-code-hint"
              value={code}
              onInput={(e) => setCode(e.currentTarget.value)}
            />
            <p id="signin-code-hint" class="muted small">
              The 6 digits from your authenticator app, or one of your recovery codes.
            </p>
          </div>
        )}
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
