import { render } from "preact";
import { useCallback, useEffect, useState } from "preact/hooks";
import { ApiError, api, errorDetail, onUnauthorized } from "./api";
import { Inbox } from "./components/Inbox";
import { SignIn } from "./components/SignIn";
import { SetPassword, linkToken } from "./admin/SetPassword";
import type { Agent } from "./types";
import "./styles.css";

type Session =
  | { phase: "checking" }
  | { phase: "signed-out"; notice?: string }
  | { phase: "offline"; error: string }
  | { phase: "signed-in"; agent: Agent };

function App() {
  const [session, setSession] = useState<Session>({ phase: "checking" });
  // A one-time set-password link (`/#set-password=…`) opens its own page while signed out.
  const [setPasswordToken, setSetPasswordToken] = useState<string | null>(() => linkToken());

  const check = useCallback(async () => {
    setSession({ phase: "checking" });
    try {
      const agent = await api.me();
      setSession({ phase: "signed-in", agent });
    } catch (err) {
      if (err instanceof ApiError && (err.status === 401 || err.status === 403)) setSession({ phase: "signed-out" });
      else setSession({ phase: "offline", error: errorDetail(err) });
    }
  }, []);

  useEffect(() => {
    void check();
    onUnauthorized(() => setSession({ phase: "signed-out", notice: "Your session ended. Please sign in again." }));
    return () => onUnauthorized(null);
  }, [check]);

  const signOut = useCallback(async () => {
    try {
      await api.logout();
    } catch {
      /* the session is dropped locally either way */
    }
    setSession({ phase: "signed-out" });
  }, []);

  switch (session.phase) {
    case "checking":
      return (
        <div class="center-page" aria-busy="true">
          <p class="muted">Loading Switchboard…</p>
        </div>
      );
    case "offline":
      return (
        <main class="center-page">
          <div class="card">
            <h1 class="brand-title">Switchboard</h1>
            <p role="alert" class="error">{session.error}</p>
            <button type="button" class="btn primary" onClick={() => void check()}>
              Try again
            </button>
          </div>
        </main>
      );
    case "signed-out":
      if (setPasswordToken)
        return <SetPassword token={setPasswordToken} onDone={(notice) => (setSetPasswordToken(null), setSession({ phase: "signed-out", notice }))} />;
      return (
        <SignIn notice={session.notice} onSignedIn={(agent) => setSession({ phase: "signed-in", agent })} />
      );
    case "signed-in":
      return (
        <Inbox
          key={String(session.agent.id)}
          agent={session.agent}
          onSignOut={signOut}
          onSessionEnded={() =>
            setSession({ phase: "signed-out", notice: "Your session ended. Please sign in again." })
          }
        />
      );
  }
}

render(<App />, document.getElementById("app")!);
