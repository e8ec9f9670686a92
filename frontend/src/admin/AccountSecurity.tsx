// The security part of one's account: two-factor sign-in (TOTP, with recovery codes shown once)
// and one's sessions, each of which can be signed out, or all of them at once.
import { useCallback, useEffect, useState } from "preact/hooks";
import { errorDetail, request } from "../api";

interface TwoFactorState {
  enabled: boolean;
  required: boolean;
  recovery_codes_left: number;
}
interface Session {
  id: string;
  created_at: string;
  source: string | null;
  user_agent: string | null;
  current: boolean;
}

export function AccountSecurity() {
  const [state, setState] = useState<TwoFactorState | null>(null);
  const [setup, setSetup] = useState<{ secret: string; otpauth_url: string } | null>(null);
  const [code, setCode] = useState("");
  const [password, setPassword] = useState("");
  const [recovery, setRecovery] = useState<string[] | null>(null);
  const [sessions, setSessions] = useState<Session[]>([]);
  const [error, setError] = useState<string | null>(null);

  const load = useCallback(async () => {
    setState(await request<TwoFactorState>("GET", "/api/v1/me/two-factor"));
    setSessions((await request<{ items: Session[] }>("GET", "/api/v1/me/sessions")).items);
  }, []);
  useEffect(() => {
    void load().catch((err) => setError(errorDetail(err)));
  }, [load]);

  const act = async (work: () => Promise<void>) => {
    setError(null);
    try {
      await work();
      await load();
    } catch (err) {
      setError(errorDetail(err));
    }
  };
  const start = () => act(async () => setSetup(await request("POST", "/api/v1/me/two-factor/setup")));
  const enable = (event: Event) => {
    event.preventDefault();
    return act(async () => {
      const done = await request<{ recovery_codes: string[] }>("POST", "/api/v1/me/two-factor/enable", { body: { code } });
      setRecovery(done.recovery_codes);
      setSetup(null);
      setCode("");
    });
  };
  const disable = (event: Event) => {
    event.preventDefault();
    return act(async () => {
      await request("POST", "/api/v1/me/two-factor/disable", { body: { password } });
      setPassword("");
      setRecovery(null);
    });
  };
  const endOne = (id: string) => act(async () => void (await request("DELETE", `/api/v1/me/sessions/${encodeURIComponent(id)}`)));
  const endAll = async () => {
    await request("POST", "/api/v1/me/sessions/end-all").catch(() => undefined);
    window.location.reload();
  };

  return (
    <section class="account-security" aria-label="Security">
      <h3>Two-factor sign-in</h3>
      {state && !state.enabled && !setup && (
        <>
          <p class="muted small">{state.required ? "Your role needs it: set it up to go on working." : "Off. Sign-in then also asks for a code from an authenticator app."}</p>
          <button type="button" class="btn" onClick={() => void start()}>
            Set up two-factor sign-in
          </button>
        </>
      )}
      {setup && (
        <form class="admin-form" aria-label="Two-factor setup" onSubmit={(e) => void enable(e)}>
          <p class="small">
            Add this key to your authenticator app (or <a href={setup.otpauth_url}>open it in the app</a>):
          </p>
          <p>
            <code class="totp-secret">{setup.secret}</code>
          </p>
          <label for="me-totp">Code from your app</label>
          <input id="me-totp" type="text" inputMode="numeric" autoComplete="one-time-code" value={code} onInput={(e) => setCode(e.currentTarget.value)} />
          <button type="submit" class="btn primary">
            Turn on
          </button>
        </form>
      )}
      {recovery && (
        <div role="status">
          <p>Two-factor sign-in is on. Keep these recovery codes somewhere safe; each works once:</p>
          <ul aria-label="Recovery codes" class="recovery-codes">
            {recovery.map((c) => (
              <li key={c}>
                <code>{c}</code>
              </li>
            ))}
          </ul>
        </div>
      )}
      {state?.enabled && (
        <form class="admin-form" aria-label="Turn off two-factor sign-in" onSubmit={(e) => void disable(e)}>
          <p class="muted small">On · {state.recovery_codes_left} recovery codes left.</p>
          <label for="me-2fa-password">Password to turn it off</label>
          <input id="me-2fa-password" type="password" autoComplete="current-password" value={password} onInput={(e) => setPassword(e.currentTarget.value)} />
          <button type="submit" class="btn">
            Turn off
          </button>
        </form>
      )}
      <h3>Sessions</h3>
      <ul aria-label="Sessions" class="admin-list">
        {sessions.map((s) => (
          <li key={s.id} class="admin-item">
            <span class="small">
              {new Date(s.created_at).toLocaleString()} · {s.source ?? "unknown address"} · {s.user_agent ?? "unknown browser"}
            </span>{" "}
            {s.current ? (
              <span class="muted small">this session</span>
            ) : (
              <button type="button" class="btn small" onClick={() => void endOne(s.id)}>
                Sign out
              </button>
            )}
          </li>
        ))}
      </ul>
      <button type="button" class="btn" onClick={() => void endAll()}>
        Sign out everywhere
      </button>
      {error && (
        <p role="alert" class="error">
          {error}
        </p>
      )}
    </section>
  );
}
