import { readTokenClaims, tokenFromUrl, type TokenClaims } from "../shared/client/session-token.ts";

// Session handling of the demo client. There is deliberately no endpoint that mints tokens: a developer
// pastes one (`npm run token -- u42`) or opens `/#token=…` (what the browser tests do). The token lives
// in sessionStorage — gone with the tab, never sent anywhere but the edge's Authorization header.

const KEY = "fyp-token";

export interface Session {
  token: string;
  claims: TokenClaims;
}

/** The session for this page load: a `#token=` in the URL wins (and is removed from the address bar). */
export function currentSession(): Session | null {
  const fromUrl = tokenFromUrl(location.href);
  if (fromUrl) {
    sessionStorage.setItem(KEY, fromUrl);
    const u = new URL(location.href);
    u.hash = "";
    u.searchParams.delete("token");
    history.replaceState(null, "", u.pathname + u.search);
  }
  const token = sessionStorage.getItem(KEY);
  const claims = readTokenClaims(token);
  if (token && !claims) sessionStorage.removeItem(KEY); // unreadable: fall back to anonymous
  return token && claims ? { token, claims } : null;
}

/** Wires the sign-in form: validates the pasted token against the user id field, then reloads. */
export function bindSignIn(session: Session | null): void {
  const form = document.getElementById("signin-form") as HTMLFormElement;
  const userInput = document.getElementById("user-id") as HTMLInputElement;
  const tokenInput = document.getElementById("token") as HTMLTextAreaElement;
  const msg = document.getElementById("signin-msg")!;
  const signOut = document.getElementById("signout") as HTMLButtonElement;

  if (session) {
    userInput.value = session.claims.userId;
    tokenInput.placeholder = "signed in — paste another token to switch user";
  }
  signOut.hidden = !session;

  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const token = tokenInput.value.trim();
    const claims = readTokenClaims(token);
    const wanted = userInput.value.trim();
    if (!claims) {
      msg.textContent = wanted
        ? `Paste a session token for ${wanted}: npm run token -- ${wanted}`
        : "That is not a session token (three base64url parts with a user id).";
      return;
    }
    if (wanted && wanted !== claims.userId) {
      msg.textContent = `The token is for ${claims.userId}, not ${wanted}.`;
      return;
    }
    sessionStorage.setItem(KEY, token);
    location.reload();
  });
  signOut.addEventListener("click", () => {
    sessionStorage.removeItem(KEY);
    location.reload();
  });
}
